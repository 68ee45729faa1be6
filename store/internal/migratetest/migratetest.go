// Package migratetest holds what the drivers' migration tests share: the
// data they write on an earlier schema version, in each driver's SQL, and
// the checks of what the store reads back once migrated.
package migratetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/advisoranalytics/advisor-analytics/store"
)

// Client is the client the migration tests write on an earlier schema
// version.
const Client = "c0000000-0000-4000-8000-000000000001"

// CheckReportAggregates checks the recommendation figures of the report
// aggregates migration test: three reports of Client, the first with
// recommendations of categories cost, cost and security, impacts high,
// none and low, and savings of 0.10, 0.20 and 1,000,000,000.01; the second
// with one security recommendation of high impact saving 19.99.
func CheckReportAggregates(t *testing.T, s store.Store) {
	t.Helper()
	ctx := t.Context()
	cats, err := s.RecommendationCategoryCounts(ctx)
	must(t, err)
	imps, err := s.RecommendationImpactCounts(ctx)
	must(t, err)
	perf, err := s.ClientPerformance(ctx, Client)
	must(t, err)
	type figures struct {
		Categories, Impacts, ClientCategories []store.CountByKey
		Recommendations                       int64
		Savings                               float64
	}
	want := figures{
		Categories:       []store.CountByKey{{Key: "cost", Count: 2}, {Key: "security", Count: 2}},
		Impacts:          []store.CountByKey{{Key: "high", Count: 2}, {Key: "", Count: 1}, {Key: "low", Count: 1}},
		ClientCategories: []store.CountByKey{{Key: "cost", Count: 2}, {Key: "security", Count: 2}},
		Recommendations:  4, Savings: 1000000020.30,
	}
	got := figures{cats, imps, perf.Categories, perf.TotalRecommendations, perf.TotalSavings}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("aggregates after migrating (-want +got):\n%s", d)
	}
}

// Day is noon UTC on the day of May 2024: the times of UserActivities.
func Day(day int) time.Time { return time.Date(2024, 5, day, 12, 0, 0, 0, time.UTC) }

// ActivityID is the id of the i-th activity of the activity users tests.
func ActivityID(i int) string { return fmt.Sprintf("a%07d-0000-4000-8000-000000000000", i) }

// UserActivities returns the activities the activity users migration
// tests write as the schema kept them before activity_users: the user's
// id and names on every row, names that change over time, empty names,
// and rows without a user.
func UserActivities() []store.Activity {
	acts := []store.Activity{
		{UserID: "u1", Username: "alice", FullName: "Alice A", CreatedAt: Day(1)},
		{UserID: "u1", Username: "alicia", FullName: "Alice A", CreatedAt: Day(2)},
		{UserID: "u1", CreatedAt: Day(3)},
		{UserID: "u1", Username: "alice", FullName: "Alice A", CreatedAt: Day(4)},
		{UserID: "u2", FullName: "Bob", CreatedAt: Day(2)},
		{UserID: "u2", Username: "bob", FullName: "Bob", CreatedAt: Day(5)},
		{Username: "anonymous", FullName: "No One", CreatedAt: Day(3)},
		{CreatedAt: Day(6)},
	}
	for i := range acts {
		acts[i].ID, acts[i].ActivityType, acts[i].Metadata = ActivityID(i), "login", map[string]any{}
	}
	return acts
}

// AddUserActivities inserts activities after the migration, a known user
// under another name and a new user, and returns want with them appended.
func AddUserActivities(t *testing.T, s store.Store, want []store.Activity) []store.Activity {
	t.Helper()
	more := []store.Activity{
		{ID: ActivityID(8), UserID: "u1", Username: "al", FullName: "Alice A", ActivityType: "login", CreatedAt: Day(7)},
		{ID: ActivityID(9), UserID: "u3", Username: "carol", FullName: "Carol", ActivityType: "login", CreatedAt: Day(7)},
	}
	must(t, s.ActivityInsertMany(t.Context(), slices.Clone(more)))
	return append(want, more...)
}

// CheckActivities checks that s holds exactly the activities want, in any
// order; when is what the error message says of the moment.
func CheckActivities(t *testing.T, s store.Store, want []store.Activity, when string) {
	t.Helper()
	if d := cmp.Diff(want, ReadActivities(t, s), cmpopts.EquateEmpty()); d != "" {
		t.Errorf("activities %s (-want +got):\n%s", when, d)
	}
}

// ReadActivities returns every activity of s, by id.
func ReadActivities(t *testing.T, s store.Store) []store.Activity {
	t.Helper()
	var out []store.Activity
	must(t, s.ActivityIterate(t.Context(), store.ActivityFilter{}, func(a *store.Activity) error {
		out = append(out, *a)
		return nil
	}))
	slices.SortFunc(out, func(a, b store.Activity) int { return strings.Compare(a.ID, b.ID) })
	return out
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
