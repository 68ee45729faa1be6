package main

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/advisoranalytics/advisor-analytics/internal/testdb"
	"github.com/advisoranalytics/advisor-analytics/store"
)

func TestReplicasShareCacheInvalidationAndJobs(t *testing.T) {
	url := testdb.PostgresURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out bytes.Buffer
	res, err := run(ctx, url, 3, &out, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if res.ReportsBefore != 0 || res.ReportsAfter != 1 {
		t.Errorf("replica-a saw %d then %d reports, want 0 then 1", res.ReportsBefore, res.ReportsAfter)
	}
	if len(res.Runs) < 3 {
		t.Fatalf("%d runs recorded, want at least 3:\n%s", len(res.Runs), out.String())
	}
	ticks := map[time.Time]string{}
	for _, r := range res.Runs {
		if prev, dup := ticks[r.ScheduledAt]; dup {
			t.Errorf("tick %s ran twice: on %s and %s", r.ScheduledAt, prev, r.Instance)
		}
		ticks[r.ScheduledAt] = r.Instance
		if r.Instance != "replica-a" && r.Instance != "replica-b" {
			t.Errorf("run by unknown instance %q", r.Instance)
		}
		if r.Outcome != store.JobSucceeded {
			t.Errorf("tick %s: outcome %s (%s)", r.ScheduledAt, r.Outcome, r.Error)
		}
	}
}
