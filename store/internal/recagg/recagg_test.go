package recagg_test

import (
	"testing"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/internal/recagg"
	"github.com/google/go-cmp/cmp"
)

func TestOf(t *testing.T) {
	got := recagg.Of([]store.Recommendation{
		{Category: store.CategoryCost, BusinessImpact: store.ImpactHigh, PotentialSavings: 0.1},
		{Category: store.CategoryCost, BusinessImpact: "", PotentialSavings: 0.2},
		{Category: store.CategorySecurity, BusinessImpact: store.ImpactHigh, PotentialSavings: 1e9 + 0.01},
	})
	want := recagg.Aggregate{
		Categories: map[string]int64{"cost": 2, "security": 1},
		Impacts:    map[string]int64{"high": 2, "": 1},
		Cents:      100_000_000_031,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Of (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(recagg.New(), recagg.Of(nil)); diff != "" {
		t.Errorf("Of(nil) (-want +got):\n%s", diff)
	}
}

func TestDeltaAndSortedKeys(t *testing.T) {
	old := map[string]int64{"cost": 3, "security": 1, "reliability": 2}
	cur := map[string]int64{"cost": 1, "security": 1, "performance": 4}
	got := recagg.Delta(old, cur)
	want := map[string]int64{"cost": -2, "reliability": -2, "performance": 4}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Delta (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"cost", "performance", "reliability"}, recagg.SortedKeys(got)); diff != "" {
		t.Errorf("SortedKeys (-want +got):\n%s", diff)
	}
}
