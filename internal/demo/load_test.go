package demo

import (
	"context"
	"errors"
	"testing"

	"github.com/advisoranalytics/advisor-analytics/internal/testdb"
	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/sqlite"
)

func TestLoadSQLite(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, testdb.SQLitePath(t), sqlite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	empty, err := Empty(ctx, st)
	if err != nil || !empty {
		t.Fatalf("Empty on a new database = %v, %v; want true", empty, err)
	}
	sum, err := Load(ctx, st, Config{Now: testNow, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	d := Generate(Config{Now: testNow, Seed: 3})
	recs := 0
	for _, r := range d.Reports {
		recs += len(r.Recommendations)
	}
	if sum.Clients != len(d.Clients) || sum.Reports != len(d.Reports) || sum.Activities != len(d.Activities) || sum.Recommendations != recs {
		t.Errorf("summary %+v does not match the generated data (%d clients, %d reports, %d recommendations, %d activities)",
			sum, len(d.Clients), len(d.Reports), recs, len(d.Activities))
	}

	page, err := st.ActivityList(ctx, store.ActivityListParams{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != int64(len(d.Activities)) {
		t.Errorf("store holds %d activities, want %d", page.Total, len(d.Activities))
	}
	perf, err := st.ClientPerformance(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if perf.TotalReports != int64(len(d.Reports)) || perf.TotalRecommendations != int64(recs) {
		t.Errorf("store holds %d reports and %d recommendations, want %d and %d", perf.TotalReports, perf.TotalRecommendations, len(d.Reports), recs)
	}
	if len(perf.Categories) != len(store.Categories) {
		t.Errorf("store has %d categories, want all %d", len(perf.Categories), len(store.Categories))
	}
	got, err := st.ReportGet(ctx, d.Reports[len(d.Reports)/2].ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Recommendations) != len(d.Reports[len(d.Reports)/2].Recommendations) {
		t.Errorf("report has %d recommendations, want %d", len(got.Recommendations), len(d.Reports[len(d.Reports)/2].Recommendations))
	}

	if _, err := Load(ctx, st, Config{Now: testNow, Seed: 3}); !errors.Is(err, ErrNotEmpty) {
		t.Errorf("second Load: err = %v, want ErrNotEmpty", err)
	}
}
