// Package storetest is the conformance suite every store.Store
// implementation must pass. It is the single source of truth for store
// semantics: both bundled drivers run it, and so should a host's own store.
//
// Use it from a test of the driver's package:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store {
//			s, err := mydriver.Open(t.Context(), dsnForAFreshDatabase(t))
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// Every subtest asks open for a fresh, empty and migrated store and most
// run in parallel, so open must hand out independent databases.
//
// The datasets use fixed times, and every expectation is computed from the
// contract (by hand or by a small reference model in this package), never
// from the clock.
//
// Where the method documentation of package store is silent the suite
// decides, and says so next to the case. The decisions are:
//
//   - Reads return times in UTC, with the microsecond precision of the
//     records written.
//   - Activity metadata and health-sample data read back as non-nil maps
//     whose JSON numbers are float64; nil metadata reads back as an empty
//     map.
//   - ActivityInsertMany's *ValidationError names the activity field
//     ("activity_type"), optionally prefixed with the index of the
//     activity ("activities[2].activity_type").
//   - ActivityList refuses a Limit outside 0…1000, a negative Offset and an
//     Offset given together with a Cursor with a *ValidationError on
//     "limit" or "offset".
//   - Filters match ids in either case; a malformed ClientID or ReportID
//     in a filter is a *ValidationError on "client_id" or "report_id".
//   - ActivityPage.Total counts every row matching the filter, whatever the
//     Offset or Cursor.
//   - ActivityInsertMany never loses an event over awkward text: invalid
//     UTF-8 becomes U+FFFD, a NUL byte may be kept, dropped or replaced.
//     Activities may name clients and reports that do not exist (the
//     audit trail outlives them).
//   - ActivitySummary with a zero GroupBy groups by activity type; an
//     unknown GroupBy is a *ValidationError on "group_by".
//   - ActivitySummary grouped by user leaves anonymous activity (no user
//     id) out of the rows; Total still counts it. A user's Username is
//     that of their newest activity.
//   - ActivityIterate checks its context between rows: cancelled part-way,
//     it stops and returns an error wrapping context.Canceled, even when
//     the driver has already buffered the remaining rows.
//   - Recommendations read back in the order they were given.
//   - Upserting a report as ReportGet returned it (recommendations with
//     their ids) succeeds and changes nothing; updating a client keeps its
//     reports.
//   - The processing-time averages (ReportMetrics, ClientPerformance,
//     ReportWindowStats) take reports with status completed and both
//     timestamps; ReportWindowStats places them by completion time, and
//     ReportMetrics' sample is the most recent by completion time.
//   - ReportDailyCounts is ordered by day, then report type.
//   - CostFigures: From, To and Types filter both the total and the
//     monthly trend; MonthsFrom only bounds the trend.
//   - MetricsSnapshotUpsert refuses an unknown period with a
//     *ValidationError on "period".
//   - ClientPerformance with a malformed client id is a *ValidationError
//     on "client_id".
//   - JobRunStart writes the assigned ID into the run (JobRunFinish needs
//     it). JobRunFinish of an unknown ID is ErrNotFound. JobRunList and JobRunLatest are newest first by start
//     time (JobRunLatest: one row per job, in job-name order).
//   - WeeklyReportList is newest week first.
//   - After Close, methods return an error wrapping store.ErrUnavailable
//     (the store is shut down).
//   - HealthSampleDeleteBefore and ActivityDeleteBefore delete strictly
//     before the cutoff; a negative batch size is a *ValidationError on
//     "batch_size" (and deletes nothing).
package storetest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the day-bucketing cases need America/New_York everywhere

	"github.com/google/go-cmp/cmp"

	"github.com/advisoranalytics/advisor-analytics/store"
)

// OpenFunc returns a fresh, empty and migrated store for one subtest. It
// should register a t.Cleanup that closes the store.
type OpenFunc = func(t *testing.T) store.Store

// Run runs the whole conformance suite against the stores open returns.
func Run(t *testing.T, open OpenFunc) {
	t.Run("Activity", func(t *testing.T) { runActivity(t, open) })
	t.Run("Domain", func(t *testing.T) { runDomain(t, open) })
	t.Run("Rollup", func(t *testing.T) { runRollup(t, open) })
	t.Run("Admin", func(t *testing.T) { runAdmin(t, open) })
}

// OpenZoneFunc returns a fresh, empty and migrated store whose reporting
// zone (the zone of its per-day counters, if it keeps any) is loc.
type OpenZoneFunc = func(t *testing.T, loc *time.Location) store.Store

// RunZoned checks, on stores opened in several reporting zones (UTC, one
// with daylight saving time, one with a half-hour offset), that the
// per-day report counts and the metrics' report figures follow report
// upserts that change a report's day, type, status and recommendations,
// on local-midnight bounds of the store's zone. A driver without a zone
// setting may pass a function that ignores loc.
func RunZoned(t *testing.T, open OpenZoneFunc) {
	for _, name := range []string{"UTC", "America/New_York", "Asia/Kolkata"} {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(strings.ReplaceAll(name, "/", "_"), func(t *testing.T) {
			t.Parallel()
			aggregatesFollowUpserts(t, open(t, loc), loc)
		})
	}
}

// parallel runs fn as a parallel subtest with its own fresh store.
func parallel(t *testing.T, open OpenFunc, name string, fn func(t *testing.T, s store.Store)) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		t.Parallel()
		fn(t, open(t))
	})
}

// must fails the test at once when err is not nil.
func must(t testing.TB, err error, op string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: unexpected error: %v", op, err)
	}
}

// wantValidation checks that err is a *store.ValidationError on field (or
// on a field ending in "."+field when prefixOK).
func wantValidation(t testing.TB, err error, field string, prefixOK bool) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want a *store.ValidationError on %q", field)
	}
	ve, ok := errors.AsType[*store.ValidationError](err)
	if !ok {
		t.Fatalf("got error %v (%T), want a *store.ValidationError on %q", err, err, field)
	}
	if ve.Field == field || (prefixOK && strings.HasSuffix(ve.Field, "."+field)) {
		return
	}
	t.Fatalf("got ValidationError on field %q (%v), want field %q", ve.Field, err, field)
}

// wantIs checks that err wraps target.
func wantIs(t testing.TB, err, target error, op string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want one wrapping %v", op, err, target)
	}
}

// diff fails the test with a -want +got diff when want and got differ.
func diff(t testing.TB, what string, want, got any, opts ...cmp.Option) {
	t.Helper()
	if d := cmp.Diff(want, got, opts...); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}

// wantUTC checks that every time is in UTC.
func wantUTC(t testing.TB, what string, times ...time.Time) {
	t.Helper()
	for _, tm := range times {
		if tm.Location() != time.UTC {
			t.Errorf("%s: time %v is in %v, want UTC", what, tm, tm.Location())
			return
		}
	}
}

// ctx returns the test's context.
func ctx(t *testing.T) context.Context { return t.Context() }

// ts parses an RFC 3339 time; it panics on a malformed literal.
func ts(s string) time.Time {
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return tm.UTC()
}

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }

// newYork is the zone of the day-bucketing cases: it changes to daylight
// saving time on 2025-03-09 and back on 2025-11-02.
func newYork() *time.Location {
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		panic(err)
	}
	return loc
}

// FieldOf returns the field that err names; err must be a
// *store.ValidationError.
func FieldOf(t testing.TB, err error) string {
	t.Helper()
	ve, ok := errors.AsType[*store.ValidationError](err)
	if !ok {
		t.Fatalf("error %v is not a *store.ValidationError", err)
	}
	return ve.Field
}
