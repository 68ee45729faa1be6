package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/advisoranalytics/advisor-analytics/internal/demo"
	"github.com/advisoranalytics/advisor-analytics/internal/tokenauth"
	"github.com/advisoranalytics/advisor-analytics/store"
)

// demoSeed selects the demo data; the demo users (and so the ids in the
// demo tokens file) are the same on every run.
const demoSeed = 1

// demoReport is what -demo prints once the server listens.
type demoReport struct {
	database    string
	loaded      *demo.Summary // nil when the database already held data
	tokensFile  string
	tokensExist bool // the tokens file was there already
	tokens      []tokenauth.Entry
	trackAPI    bool
	ipMode      string
	dashboard   bool // the dashboard is served at /
}

// prepareDemo loads the demo data into an empty database and makes sure a
// tokens file exists, writing one token per role when -tokens is not set.
func prepareDemo(ctx context.Context, st store.Store, sf *serveFlags, log *slog.Logger) (*demoReport, error) {
	rep := &demoReport{database: displayDSN(sf.database), trackAPI: sf.trackAPI, ipMode: sf.ipMode}
	empty, err := demo.Empty(ctx, st)
	if err != nil {
		return nil, fmt.Errorf("-demo: %w", err)
	}
	if empty {
		start := time.Now()
		sum, err := demo.Load(ctx, st, demo.Config{Now: time.Now(), Seed: demoSeed, Location: sf.location})
		if err != nil {
			return nil, fmt.Errorf("-demo: %w", err)
		}
		rep.loaded = &sum
		log.Info("demo data loaded", "clients", sum.Clients, "reports", sum.Reports,
			"recommendations", sum.Recommendations, "activities", sum.Activities, "took", time.Since(start).Round(time.Millisecond))
	} else {
		log.Info("the database already holds data; demo data not loaded")
	}

	path := sf.demoTokensPath()
	rep.tokensFile = path
	if _, err := os.Stat(path); err == nil {
		rep.tokensExist = true
		if rep.tokens, err = tokenauth.ReadEntries(path); err != nil {
			return nil, fmt.Errorf("-tokens: %w", err)
		}
	} else if errors.Is(err, os.ErrNotExist) {
		rep.tokens = demoTokens()
		if err := tokenauth.WriteFile(path, rep.tokens); err != nil {
			return nil, fmt.Errorf("-demo: write demo tokens: %w", err)
		}
		log.Info("demo tokens written", "file", path)
	} else {
		return nil, fmt.Errorf("-tokens: %w", err)
	}
	sf.tokens = path
	return rep, nil
}

// demoTokens returns a new token for the first demo user of each role.
func demoTokens() []tokenauth.Entry {
	var out []tokenauth.Entry
	for _, role := range tokenauth.Roles {
		for _, u := range demo.Users(demoSeed) {
			if u.Role == role && !u.Staff {
				out = append(out, tokenauth.Entry{Token: tokenauth.NewToken(), ID: u.ID, Username: u.Username,
					FullName: u.FullName, Email: u.Email, Role: u.Role})
				break
			}
		}
	}
	return out
}

func (d *demoReport) print(w io.Writer, url string) {
	fmt.Fprintf(w, "\nAdvisor Analytics demo server\n\n")
	fmt.Fprintf(w, "  URL        %s (change with -addr)\n", url)
	if d.dashboard {
		fmt.Fprintf(w, "  dashboard  %s/ (sign in with a token below)\n", url)
	}
	fmt.Fprintf(w, "  API        %s%s\n", url, apiPrefix)
	fmt.Fprintf(w, "  database   %s (change with -database; a postgres:// URL works too)\n", d.database)
	if d.loaded != nil {
		fmt.Fprintf(w, "  demo data  %d clients, %d reports, %d recommendations, %d activities of %d users\n",
			d.loaded.Clients, d.loaded.Reports, d.loaded.Recommendations, d.loaded.Activities, len(d.loaded.Users))
	} else {
		fmt.Fprintf(w, "  demo data  not loaded: the database already holds data (use a new -database file to load it)\n")
	}
	how := "written now"
	if d.tokensExist {
		how = "already there, reused"
	}
	fmt.Fprintf(w, "  tokens     %s (%s; change with -tokens)\n", d.tokensFile, how)
	if d.trackAPI {
		fmt.Fprintf(w, "  tracking   the API's own requests are recorded (-track-api); client IPs stored %s (change with -ip-mode)\n", d.ipMode)
	} else {
		fmt.Fprintf(w, "  tracking   the API's own requests are not recorded (enable with -track-api)\n")
	}

	var admin, viewer string
	fmt.Fprintf(w, "\nBearer tokens (send as 'Authorization: Bearer <token>'):\n")
	for _, e := range d.tokens {
		tok := e.Token
		if tok == "" {
			tok = "(stored as a SHA-256 digest; not shown)"
		}
		role := e.Role
		if e.Staff {
			role += "+staff"
		}
		fmt.Fprintf(w, "  %-8s %-14s %s\n", role, e.Username, tok)
		if e.Token != "" && (e.Role == "admin" || e.Staff) && admin == "" {
			admin = e.Token
		}
		if e.Token != "" && e.Role == "viewer" && !e.Staff && viewer == "" {
			viewer = e.Token
		}
	}
	if admin != "" {
		api := url + apiPrefix
		fmt.Fprintf(w, "\nTry:\n")
		fmt.Fprintf(w, "  curl -H 'Authorization: Bearer %s' %smetrics/\n", admin, api)
		fmt.Fprintf(w, "  curl -H 'Authorization: Bearer %s' %sdashboard/\n", admin, api)
		fmt.Fprintf(w, "  curl -H 'Authorization: Bearer %s' '%sclients/?search=bank'\n", admin, api)
		fmt.Fprintf(w, "  curl -H 'Authorization: Bearer %s' '%suser-activity/?limit=5'\n", admin, api)
		fmt.Fprintf(w, "  curl -H 'Authorization: Bearer %s' '%sactivity-summary/?group_by=day'\n", admin, api)
		fmt.Fprintf(w, "  curl -H 'Authorization: Bearer %s' '%smetrics/history/?period=weekly'\n", admin, api)
		fmt.Fprintf(w, "  curl -H 'Authorization: Bearer %s' %sjobs/\n", admin, api)
		fmt.Fprintf(w, "  curl -H 'Authorization: Bearer %s' -o activities.csv '%suser-activity/export/?format=csv'\n", admin, api)
		if viewer != "" {
			fmt.Fprintf(w, "  curl -H 'Authorization: Bearer %s' %ssystem-health/   # a viewer gets 403\n", viewer, api)
		}
		fmt.Fprintf(w, "  curl %sopenapi.json   # public: the OpenAPI document\n", api)
	} else {
		fmt.Fprintf(w, "\nThe tokens file holds no plain admin token; use one of yours:\n")
		fmt.Fprintf(w, "  curl -H 'Authorization: Bearer <token>' %s%smetrics/\n", url, apiPrefix)
	}
	fmt.Fprintf(w, "\nStop with Ctrl+C.\n\n")
}
