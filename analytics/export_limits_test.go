package analytics

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/advisoranalytics/advisor-analytics/internal/syncbuf"
	"github.com/advisoranalytics/advisor-analytics/internal/testdb"
	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/postgres"
)

// seedLargeExport writes n activities of bob of about 1.2 KB each, so an
// export of them is far larger than the socket buffers of a loopback
// connection.
func seedLargeExport(t *testing.T, st store.Store, n int) {
	t.Helper()
	pad := strings.Repeat("x", 1000)
	acts := make([]store.Activity, 0, 1000)
	base := fixedNow.Add(-time.Hour)
	for i := 0; i < n; i++ {
		acts = append(acts, store.Activity{UserID: bob.ID, Username: "bob", ActivityType: "view_dashboard",
			Description: "Viewed dashboard", Method: "GET", Path: "/api/v1/analytics/dashboard/", StatusCode: 200,
			Metadata: map[string]any{"pad": pad, "i": i}, CreatedAt: base.Add(time.Duration(i) * time.Millisecond)})
		if len(acts) == cap(acts) || i == n-1 {
			if err := st.ActivityInsertMany(context.Background(), acts); err != nil {
				t.Fatalf("seed activities: %v", err)
			}
			acts = acts[:0]
		}
	}
}

// stalledExport opens an export as token on a raw connection with a tiny
// receive buffer, reads the status line and then stops reading. It
// returns the status and, for an answer that is not a 200, its body.
func stalledExport(t *testing.T, e *testEnv, token string) (status int, body string) {
	t.Helper()
	c := sendExport(t, e, token)
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReaderSize(c, 16)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("export as %s: %v", token, err)
	}
	_ = c.SetDeadline(time.Time{})
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	return res.StatusCode, ""
}

// sendExport sends an export request as token on a raw connection with a
// tiny receive buffer and reads nothing.
func sendExport(t *testing.T, e *testEnv, token string) net.Conn {
	t.Helper()
	addr := strings.TrimPrefix(e.srv.URL, "http://")
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.(*net.TCPConn).SetReadBuffer(4096)
	fmt.Fprintf(c, "GET %s/user-activity/export/?format=csv HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer %s\r\n\r\n", basePath, token)
	return c
}

// quickly runs fn and fails when it takes longer than limit or fails.
func quickly(t *testing.T, what string, limit time.Duration, fn func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit+time.Second)
	defer cancel()
	start := time.Now()
	err := fn(ctx)
	if d := time.Since(start); err != nil || d > limit {
		t.Errorf("%s took %v (limit %v): %v", what, d.Round(time.Millisecond), limit, err)
	}
}

// uncachedRead lists a page of bob's activities as dave with a fresh
// offset, so no cache answers it.
func uncachedRead(e *testEnv, i int) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet,
			fmt.Sprintf("%s%s/user-activity/?user_id=%s&limit=5&offset=%d", e.srv.URL, basePath, bob.ID, i), nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer dave")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		_, _ = io.Copy(io.Discard, res.Body)
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", res.StatusCode)
		}
		return nil
	}
}

// exportStores are the stores of the export tests: the PostgreSQL pool is
// as small as SQLite's reader pool, so a handful of exports would take it.
var exportStores = []storeKind{
	{"sqlite", openSQLite},
	{"postgres", func(t *testing.T) store.Store {
		st, err := postgres.Open(context.Background(), testdb.PostgresURL(t), postgres.Config{MaxOpenConns: 4})
		if err != nil {
			t.Fatalf("open postgres: %v", err)
		}
		t.Cleanup(func() { _ = st.Close() })
		return st
	}},
}

// eachExportStore runs fn on each of exportStores holding 6,000 large
// activities of one viewer.
func eachExportStore(t *testing.T, fn func(t *testing.T, st store.Store)) {
	for _, k := range exportStores {
		t.Run(k.name, func(t *testing.T) {
			st := k.open(t)
			seedLargeExport(t, st, 6000)
			fn(t, st)
		})
	}
}

// TestStalledExportsDoNotStarveReads opens more stalled exports than the
// store has connections, all by one viewer, and checks that uncached reads
// and the store's ping stay fast.
func TestStalledExportsDoNotStarveReads(t *testing.T) {
	eachExportStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, func(c *Config) {
			c.ExportsPerPrincipal, c.ExportsTotal = 16, 16
			c.ExportStallTimeout = time.Minute
		})
		for i := 0; i < 10; i++ {
			sendExport(t, e, "bob")
		}
		// Let the exports fill the socket buffers and stall: wait (a
		// bounded time) until no connection has been in use for a while.
		// Exports that pin their connection never get there.
		idle := 0
		for deadline := time.Now().Add(15 * time.Second); idle < 5 && time.Now().Before(deadline); {
			time.Sleep(100 * time.Millisecond)
			if st.Stats().InUse == 0 {
				idle++
			} else {
				idle = 0
			}
		}
		for i := 0; i < 3; i++ {
			quickly(t, "uncached read", 5*time.Second, uncachedRead(e, i))
			quickly(t, "ping", 5*time.Second, st.Ping)
		}
	})
}

// TestExportLimits checks the per-principal and total bounds of
// concurrent exports (429 in the API's error shape) and that the stall
// deadline ends an export whose client stopped reading, freeing its slot.
func TestExportLimits(t *testing.T) {
	eachExportStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, func(c *Config) {
			c.ExportsPerPrincipal, c.ExportsTotal = 2, 3
			// Long enough for the bounds to be checked while the first
			// exports stall, even on a busy machine.
			c.ExportStallTimeout = 4 * time.Second
		})
		for i := 0; i < 2; i++ {
			if status, body := stalledExport(t, e, "bob"); status != http.StatusOK {
				t.Fatalf("export %d of bob: %d %s", i, status, body)
			}
		}
		checkTooMany := func(who string, status int, body string) {
			t.Helper()
			var eb ErrorBody
			if status != http.StatusTooManyRequests || json.Unmarshal([]byte(body), &eb) != nil || eb.Error == "" || eb.Message == "" {
				t.Errorf("%s: got %d %s, want a 429 error body", who, status, body)
			}
		}
		status, body := stalledExport(t, e, "bob")
		checkTooMany("third export of bob", status, body)
		if status, body := stalledExport(t, e, "dave"); status != http.StatusOK {
			t.Fatalf("export of dave: %d %s", status, body)
		}
		status, body = stalledExport(t, e, "carol")
		checkTooMany("fourth export in total", status, body)

		// The stall deadline ends the stalled exports and frees their slots.
		deadline := time.Now().Add(20 * time.Second)
		for {
			status, body = stalledExport(t, e, "bob")
			if status == http.StatusOK {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("stalled exports still hold their slots: %d %s", status, body)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}

// TestExportNeutralisesEveryTextColumn ingests activities whose text
// fields start like spreadsheet formulas and checks that no cell of the
// CSV export does.
func TestExportNeutralisesEveryTextColumn(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, untracked)
		body := `{"activities":[{"user":{"id":"=HYPERLINK(\"http://x\")","username":"+bob","full_name":"-Bob"},
			"activity_type":"@login","description":"=1+1","method":"+GET","path":"=/x","user_agent":"-ua",
			"created_at":"2025-06-15T10:00:00Z"}]}`
		if r := e.postJSON(t, "ingest/activities/", "dave", body); r.status != http.StatusCreated {
			t.Fatalf("ingest: %d %s", r.status, r.body)
		}
		// Only the ingested activity, not the admin_action entry of the ingest.
		r := e.get(t, "user-activity/export/?format=csv&activity_type=%40login", "dave")
		rows, err := csv.NewReader(bytes.NewReader(r.body)).ReadAll()
		if r.status != http.StatusOK || err != nil || len(rows) != 2 {
			t.Fatalf("export: %d %v %q", r.status, err, r.body)
		}
		for i, cell := range rows[1] {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("column %s starts a formula: %q", exportColumns[i], cell)
			}
		}
	})
}

// TestExportClientDisconnectIsNotAnError reads the start of an export and
// hangs up: the server logs no error.
func TestExportClientDisconnectIsNotAnError(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		seedLargeExport(t, st, 6000)
		var logs syncbuf.Buffer
		e := newEnv(t, st, func(c *Config) { c.Logger = textLogger(&logs) })
		for range 2 {
			c := sendExport(t, e, "bob")
			var b [64 << 10]byte
			if _, err := io.ReadAtLeast(c, b[:], len(b)); err != nil {
				t.Fatal(err)
			}
			_ = c.(*net.TCPConn).SetLinger(0) // hang up with a reset
			_ = c.Close()
		}
		// The exports notice the hang-up on their next write.
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(logs.String(), "export ended early") && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(100 * time.Millisecond)
		if out := logs.String(); strings.Contains(out, "level=ERROR") || !strings.Contains(out, "export ended early") {
			t.Errorf("log after clients hung up:\n%s", out)
		}
	})
}
