package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/advisoranalytics/advisor-analytics/internal/testdb"
	"github.com/advisoranalytics/advisor-analytics/internal/teststandby"
)

// TestServeWithReplica runs the server on a PostgreSQL primary with a real
// streaming standby (-database-replica) whose replay is paused: an admin's
// ingest is visible to that admin's next read at once (read-your-writes
// sends it to the primary, the standby has not replayed it), and reads go
// on when the standby is stopped.
func TestServeWithReplica(t *testing.T) {
	url := testdb.PostgresURL(t)
	sb := teststandby.Start(t, url)
	tokens, token := writeTokens(t)
	base, _, stderr, stop := startServer(t, map[string]string{"ANALYTICS_DATABASE_URL": url, "ANALYTICS_TOKENS_FILE": tokens,
		"ANALYTICS_RATE_LIMIT": "0"}, "-addr", "127.0.0.1:0", "-log-level", "warn", "-database-replica", sb.URL,
		"-database-replica-max-lag", "30s")
	defer stop()
	total := func() int64 {
		t.Helper()
		code, body := request(t, "GET", base+apiPrefix+"user-activity/?activity_type=login", token, nil)
		if code != 200 {
			t.Fatalf("user-activity: %d %s", code, body)
		}
		var page struct {
			TotalCount int64 `json:"total_count"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatal(err)
		}
		return page.TotalCount
	}
	// The standby is checked every second: after three it serves reads
	// (system-health is cached, so it cannot tell).
	time.Sleep(3 * time.Second)
	if n := total(); n != 0 {
		t.Fatalf("total before the ingest: %d", n)
	}
	if _, err := sb.Exec(t.Context(), "SELECT pg_wal_replay_pause()"); err != nil {
		t.Fatal(err)
	}
	var acts []string
	for i := range 25 {
		acts = append(acts, fmt.Sprintf(`{"user":{"id":"u%d"},"activity_type":"login","created_at":"%s"}`, i,
			time.Now().Add(-time.Duration(i)*time.Minute).UTC().Format(time.RFC3339)))
	}
	code, body := request(t, "POST", base+apiPrefix+"ingest/activities/", token, strings.NewReader(`{"activities":[`+strings.Join(acts, ",")+`]}`))
	if code != 201 {
		t.Fatalf("ingest: %d %s", code, body)
	}
	if n := total(); n != 25 {
		t.Fatalf("the writer's read right after its ingest: total %d, want 25 (stderr: %s)", n, stderr)
	}
	sb.Stop(t)
	if n := total(); n != 25 {
		t.Fatalf("read with the standby down: total %d, want 25", n)
	}
}
