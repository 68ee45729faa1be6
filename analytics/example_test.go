package analytics_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/advisoranalytics/advisor-analytics/analytics"
	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/sqlite"
)

// identify is the host application's authentication: here a fixed token.
func identify(r *http.Request) (analytics.Principal, error) {
	if r.Header.Get("Authorization") != "Bearer secret" {
		return analytics.Principal{}, analytics.ErrUnauthenticated
	}
	return analytics.Principal{ID: "8d5e7c1a-4f7b-4c1e-9a43-0b1f0c2d3e4f", Username: "ada", Role: analytics.RoleAdmin}, nil
}

// openStore opens a SQLite store in a new temporary directory; the
// returned function closes it and removes the directory.
func openStore(ctx context.Context) (*sqlite.Store, func()) {
	dir, err := os.MkdirTemp("", "analytics-example")
	if err != nil {
		log.Fatal(err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(dir, "analytics.db"), sqlite.Config{})
	if err != nil {
		log.Fatal(err)
	}
	return st, func() {
		_ = st.Close()
		_ = os.RemoveAll(dir)
	}
}

// Mount the JSON API under /api/v1/analytics/ and record the activity of
// the whole application.
func Example() {
	ctx := context.Background()
	st, closeStore := openStore(ctx)
	defer closeStore()

	svc, err := analytics.New(st, analytics.Config{IdentifyFunc: identify})
	if err != nil {
		log.Fatal(err)
	}
	if err := svc.Start(ctx); err != nil {
		log.Fatal(err)
	}
	defer func() {
		shutdown, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_ = svc.Close(shutdown) // writes every accepted activity
	}()

	mux := http.NewServeMux()
	mux.Handle("/api/v1/analytics/", http.StripPrefix("/api/v1/analytics", svc.Handler()))
	srv := httptest.NewServer(svc.Middleware()(mux))
	defer srv.Close()

	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/analytics/categories/", nil)
	req.Header.Set("Authorization", "Bearer secret")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	fmt.Println(res.StatusCode, res.Header.Get("Content-Type"))
	fmt.Println(strings.TrimSpace(string(body)))
	// Output:
	// 200 application/json
	// {"categories":[],"total":0}
}

// Record an activity from a host handler; the Recorder writes it in the
// background and Close waits for it.
func ExampleService_Record() {
	ctx := context.Background()
	st, closeStore := openStore(ctx)
	defer closeStore()
	svc, err := analytics.New(st, analytics.Config{})
	if err != nil {
		log.Fatal(err)
	}
	if err := svc.Start(ctx); err != nil {
		log.Fatal(err)
	}
	err = svc.Record(ctx, store.Activity{UserID: "8d5e7c1a-4f7b-4c1e-9a43-0b1f0c2d3e4f", Username: "ada",
		ActivityType: "download_report", Description: "Downloaded the quarterly report"})
	if err != nil {
		log.Fatal(err)
	}
	if err := svc.Close(ctx); err != nil {
		log.Fatal(err)
	}
	page, err := st.ActivityList(ctx, store.ActivityListParams{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(page.Total, page.Activities[0].ActivityType)
	// Output: 1 download_report
}
