package recagg_test

import (
	"testing"
	"time"
	_ "time/tzdata" // the zone cases need America/New_York everywhere

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

func TestDayDeltas(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 3, 1, 3, 30, 0, 0, time.UTC) // the evening of 2025-02-28 in New York
	utcDay := recagg.DayOf(recagg.Facts{Created: at, ReportType: "cost", Status: "completed", Recommendations: 4, Cents: 250}, nil)
	nyDay := recagg.DayOf(recagg.Facts{Created: at, ReportType: "cost", Status: "failed", Recommendations: 4, Cents: 250}, ny)
	if utcDay.Key.Day != "2025-03-01" || nyDay.Key.Day != "2025-02-28" {
		t.Errorf("days %q (UTC) and %q (New York), want 2025-03-01 and 2025-02-28", utcDay.Key.Day, nyDay.Key.Day)
	}
	if utcDay.Counts != (recagg.DayCounts{Reports: 1, Completed: 1, Recommendations: 4, Cents: 250}) ||
		nyDay.Counts != (recagg.DayCounts{Reports: 1, Failed: 1, Recommendations: 4, Cents: 250}) {
		t.Errorf("counts %+v / %+v", utcDay.Counts, nyDay.Counts)
	}
	// Only completed reports with both processing times are timed.
	start := at.Add(-90 * time.Second)
	for _, c := range []struct {
		f    recagg.Facts
		want recagg.DayCounts
	}{
		{recagg.Facts{Created: at, Status: "completed", Started: start, Completed: at},
			recagg.DayCounts{Reports: 1, Completed: 1, Timed: 1, ProcessingMicros: 90_000_000}},
		{recagg.Facts{Created: at, Status: "completed", Started: start}, recagg.DayCounts{Reports: 1, Completed: 1}},
		{recagg.Facts{Created: at, Status: "completed", Completed: at}, recagg.DayCounts{Reports: 1, Completed: 1}},
		{recagg.Facts{Created: at, Status: "failed", Started: start, Completed: at}, recagg.DayCounts{Reports: 1, Failed: 1}},
		{recagg.Facts{Created: at, Status: "processing", Started: start}, recagg.DayCounts{Reports: 1}},
	} {
		if got := recagg.DayOf(c.f, nil).Counts; got != c.want {
			t.Errorf("DayOf(%+v) counts %+v, want %+v", c.f, got, c.want)
		}
	}
	d := recagg.DayDeltas{}
	d.Add(utcDay, -1)
	d.Add(recagg.DayOf(recagg.Facts{Created: at, ReportType: "security", Status: "completed", Recommendations: 1}, nil), 1)
	d.Add(recagg.DayOf(recagg.Facts{Created: at.AddDate(0, 0, -1), ReportType: "cost", Status: "completed", Recommendations: 2, Cents: 5}, nil), 1)
	d.Add(recagg.DayOf(recagg.Facts{Created: at.Add(time.Hour), ReportType: "cost", Status: "completed", Recommendations: 4, Cents: 250}, nil), 1) // cancels the removal
	want := []recagg.ReportDay{
		{Key: recagg.DayKey{Day: "2025-02-28", ReportType: "cost"}, Counts: recagg.DayCounts{Reports: 1, Completed: 1, Recommendations: 2, Cents: 5}},
		{Key: recagg.DayKey{Day: "2025-03-01", ReportType: "security"}, Counts: recagg.DayCounts{Reports: 1, Completed: 1, Recommendations: 1}},
	}
	if diff := cmp.Diff(want, d.Sorted()); diff != "" {
		t.Errorf("Sorted (-want +got):\n%s", diff)
	}
}

func TestZones(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	// 2025-03-09 is 23 hours long in New York.
	for _, c := range []struct {
		t    time.Time
		loc  *time.Location
		day  string
		midn bool
	}{
		{time.Date(2025, 3, 9, 0, 0, 0, 0, ny), ny, "2025-03-09", true},
		{time.Date(2025, 3, 10, 0, 0, 0, 0, ny), ny, "2025-03-10", true},
		{time.Date(2025, 3, 9, 0, 0, 0, 0, ny).Add(23 * time.Hour), ny, "2025-03-10", true},
		{time.Date(2025, 3, 9, 0, 0, 0, 0, ny).Add(24 * time.Hour), ny, "2025-03-10", false},
		{time.Date(2025, 3, 9, 0, 0, 0, 0, time.UTC), nil, "2025-03-09", true},
		{time.Date(2025, 3, 9, 0, 0, 0, 1000, time.UTC), nil, "2025-03-09", false},
	} {
		day, midn := recagg.LocalMidnightDay(c.t, c.loc)
		if day != c.day || midn != c.midn {
			t.Errorf("LocalMidnightDay(%v, %v) = %q, %v, want %q, %v", c.t, c.loc, day, midn, c.day, c.midn)
		}
	}
	at := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	if !recagg.SameZone(nil, time.UTC, at) || !recagg.SameZone(ny, ny, at) || recagg.SameZone(ny, nil, at) {
		t.Error("SameZone: UTC or New York misjudged")
	}
	if recagg.SameZone(time.FixedZone("America/New_York", 3600), ny, at) {
		t.Error("SameZone: a fixed zone that borrowed a name passes")
	}
	if recagg.ZoneName(nil) != "UTC" || recagg.ZoneName(ny) != "America/New_York" {
		t.Error("ZoneName")
	}
	if diff := cmp.Diff([]string{"a", "b"}, recagg.Authors("b", "", "a", "b")); diff != "" {
		t.Errorf("Authors (-want +got):\n%s", diff)
	}
}
