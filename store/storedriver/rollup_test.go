package storedriver_test

import (
	"testing"
	"time"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/storedriver"
	"github.com/advisoranalytics/advisor-analytics/store/storetest"
)

func TestPrepareUsageStatsTruncatesToTheHour(t *testing.T) {
	u := store.UsageStats{HourStart: time.Date(2025, 3, 3, 6, 42, 17, 5, time.FixedZone("X", -5*3600))}
	if err := storedriver.PrepareUsageStats(&u, now); err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2025, 3, 3, 11, 0, 0, 0, time.UTC); !u.HourStart.Equal(want) || u.HourStart.Location() != time.UTC {
		t.Errorf("HourStart = %v, want %v", u.HourStart, want)
	}
	if !u.ComputedAt.Equal(now.Truncate(time.Microsecond)) {
		t.Errorf("ComputedAt = %v, want now", u.ComputedAt)
	}
	if got := storetest.FieldOf(t, storedriver.PrepareUsageStats(&store.UsageStats{}, now)); got != "hour_start" {
		t.Errorf("zero HourStart: field %q", got)
	}
}

func TestPrepareJobRunFinishOutcome(t *testing.T) {
	r := store.JobRun{ID: "3B241101-E2BB-4255-8CAF-4136C566A962", Error: "boom"}
	if err := storedriver.PrepareJobRunFinish(&r, now); err != nil {
		t.Fatal(err)
	}
	if r.ID != "3b241101-e2bb-4255-8caf-4136c566a962" || r.Outcome != store.JobFailed || r.FinishedAt == nil ||
		!r.FinishedAt.Equal(now.Truncate(time.Microsecond)) {
		t.Errorf("prepared %+v", r)
	}
}

func TestListLimitAndDeleteBatch(t *testing.T) {
	if n, err := storedriver.ListLimit(0, store.RecentListDefault); err != nil || n != store.RecentListDefault {
		t.Errorf("ListLimit(0) = %d, %v", n, err)
	}
	if n, err := storedriver.ListLimit(7, store.RollupListDefault); err != nil || n != 7 {
		t.Errorf("ListLimit(7) = %d, %v", n, err)
	}
	if _, err := storedriver.ListLimit(-1, 10); storetest.FieldOf(t, err) != "limit" {
		t.Errorf("ListLimit(-1) = %v", err)
	}
	if n, err := storedriver.DeleteBatch(0); err != nil || n != store.DeleteBatchDefault {
		t.Errorf("DeleteBatch(0) = %d, %v", n, err)
	}
	if _, err := storedriver.DeleteBatch(-1); storetest.FieldOf(t, err) != "batch_size" {
		t.Errorf("DeleteBatch(-1) = %v", err)
	}
}

func TestFinishPage(t *testing.T) {
	at := time.Date(2025, 3, 3, 10, 0, 0, 0, time.UTC)
	acts := []store.Activity{{ID: "3b241101-e2bb-4255-8caf-4136c566a961", CreatedAt: at}, {ID: "3b241101-e2bb-4255-8caf-4136c566a962", CreatedAt: at}}
	page := &store.ActivityPage{Activities: acts[:1]}
	storedriver.FinishPage(page, 1)
	if page.HasNext || page.NextCursor != "" {
		t.Errorf("a page without an extra row: %+v", page)
	}
	page = &store.ActivityPage{Activities: acts}
	storedriver.FinishPage(page, 1)
	if !page.HasNext || len(page.Activities) != 1 || page.NextCursor != storedriver.EncodeCursor(at, acts[0].ID) {
		t.Errorf("a page with an extra row: %+v", page)
	}
}
