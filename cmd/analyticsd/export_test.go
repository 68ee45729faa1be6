package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/advisoranalytics/advisor-analytics/internal/testdb"
	"github.com/advisoranalytics/advisor-analytics/internal/tokenauth"
	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/postgres"
	"github.com/advisoranalytics/advisor-analytics/store/sqlite"
)

// TestStalledExportsKeepServerReady runs the server on a database holding
// more activities of one viewer than the socket buffers take, opens 24
// exports as that viewer whose clients never read, and checks that /readyz
// and an uncached read still answer quickly, on both stores.
func TestStalledExportsKeepServerReady(t *testing.T) {
	viewerID := store.NewID()
	seed := func(t *testing.T, st store.Store) {
		t.Helper()
		defer st.Close()
		pad := strings.Repeat("x", 1000)
		acts := make([]store.Activity, 0, 1000)
		for i := range 6000 {
			acts = append(acts, store.Activity{UserID: viewerID, Username: "val", ActivityType: "view_dashboard",
				Metadata: map[string]any{"pad": pad}, CreatedAt: time.Now().Add(-time.Duration(i) * time.Second)})
			if len(acts) == cap(acts) {
				if err := st.ActivityInsertMany(context.Background(), acts); err != nil {
					t.Fatal(err)
				}
				acts = acts[:0]
			}
		}
	}
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			var database string
			switch kind {
			case "sqlite":
				database = testdb.SQLitePath(t)
				st, err := sqlite.Open(context.Background(), database, sqlite.Config{})
				if err != nil {
					t.Fatal(err)
				}
				seed(t, st)
			case "postgres":
				database = testdb.PostgresURL(t)
				st, err := postgres.Open(context.Background(), database, postgres.Config{})
				if err != nil {
					t.Fatal(err)
				}
				seed(t, st)
			}
			tokensFile := filepath.Join(t.TempDir(), "tokens.json")
			viewer, admin := tokenauth.NewToken(), tokenauth.NewToken()
			if err := tokenauth.WriteFile(tokensFile, []tokenauth.Entry{{Token: viewer, ID: viewerID, Username: "val", Role: "viewer"},
				{Token: admin, ID: store.NewID(), Username: "root", Role: "admin"}}); err != nil {
				t.Fatal(err)
			}
			base, _, _, _ := startServer(t, map[string]string{"ANALYTICS_DATABASE_URL": database, "ANALYTICS_TOKENS_FILE": tokensFile},
				"-addr", "127.0.0.1:0", "-log-level", "warn", "-export-per-user", "32", "-export-total", "32")
			addr := strings.TrimPrefix(base, "http://")
			for range 24 {
				c, err := net.DialTimeout("tcp", addr, 5*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = c.Close() })
				_ = c.(*net.TCPConn).SetReadBuffer(4096)
				fmt.Fprintf(c, "GET %suser-activity/export/ HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer %s\r\n\r\n", apiPrefix, viewer)
			}
			// The exports fill the socket buffers and stall. Wait (a bounded
			// time) until the server is idle again: /healthz, which reads
			// no database, answers quickly three times in a row.
			for quick, deadline := 0, time.Now().Add(30*time.Second); quick < 3 && time.Now().Before(deadline); {
				time.Sleep(100 * time.Millisecond)
				start := time.Now()
				if code, _ := request(t, http.MethodGet, base+"/healthz", "", nil); code == http.StatusOK && time.Since(start) < 20*time.Millisecond {
					quick++
				} else {
					quick = 0
				}
			}
			for i := range 3 {
				for _, u := range []struct{ path, token string }{
					{"/readyz", ""},
					{fmt.Sprintf("%suser-activity/?user_id=%s&limit=5&offset=%d", apiPrefix, viewerID, i), admin},
				} {
					ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
					req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+u.path, nil)
					if u.token != "" {
						req.Header.Set("Authorization", "Bearer "+u.token)
					}
					start := time.Now()
					res, err := http.DefaultClient.Do(req)
					d := time.Since(start)
					if err != nil || res.StatusCode != http.StatusOK || d > 5*time.Second {
						status := 0
						if res != nil {
							status = res.StatusCode
						}
						t.Errorf("GET %s: %d after %v: %v", u.path, status, d.Round(time.Millisecond), err)
					}
					if res != nil {
						res.Body.Close()
					}
					cancel()
				}
			}
		})
	}
}
