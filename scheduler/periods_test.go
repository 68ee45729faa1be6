package scheduler

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/advisoranalytics/advisor-analytics/store"
)

func TestPeriodOf(t *testing.T) {
	t.Parallel()
	ny := mustLoad(t, "America/New_York")
	santiago := mustLoad(t, "America/Santiago")
	for _, tc := range []struct {
		name    string
		period  store.Period
		day     string // YYYY-MM-DD
		loc     *time.Location
		want    span
		wantLen time.Duration
	}{
		{"utc day", store.PeriodDaily, "2025-01-15", time.UTC,
			span{store.PeriodDaily, "2025-01-15", utc("2025-01-15T00:00:00Z"), utc("2025-01-16T00:00:00Z")}, 24 * time.Hour},
		{"spring forward day is 23h", store.PeriodDaily, "2025-03-09", ny,
			span{store.PeriodDaily, "2025-03-09", utc("2025-03-09T05:00:00Z"), utc("2025-03-10T04:00:00Z")}, 23 * time.Hour},
		{"fall back day is 25h", store.PeriodDaily, "2025-11-02", ny,
			span{store.PeriodDaily, "2025-11-02", utc("2025-11-02T04:00:00Z"), utc("2025-11-03T05:00:00Z")}, 25 * time.Hour},
		{"week from a Sunday starts the Monday before", store.PeriodWeekly, "2025-03-09", ny,
			span{store.PeriodWeekly, "2025-03-03", utc("2025-03-03T05:00:00Z"), utc("2025-03-10T04:00:00Z")}, 7*24*time.Hour - time.Hour},
		{"week from a Monday", store.PeriodWeekly, "2025-03-10", ny,
			span{store.PeriodWeekly, "2025-03-10", utc("2025-03-10T04:00:00Z"), utc("2025-03-17T04:00:00Z")}, 7 * 24 * time.Hour},
		{"week across a year", store.PeriodWeekly, "2025-01-01", time.UTC,
			span{store.PeriodWeekly, "2024-12-30", utc("2024-12-30T00:00:00Z"), utc("2025-01-06T00:00:00Z")}, 7 * 24 * time.Hour},
		{"month of a DST change", store.PeriodMonthly, "2025-03-31", ny,
			span{store.PeriodMonthly, "2025-03-01", utc("2025-03-01T05:00:00Z"), utc("2025-04-01T04:00:00Z")}, 31*24*time.Hour - time.Hour},
		// Santiago skipped 2021-09-05 00:00–01:00: that day starts at 01:00.
		{"day whose midnight is skipped", store.PeriodDaily, "2021-09-05", santiago,
			span{store.PeriodDaily, "2021-09-05", utc("2021-09-05T04:00:00Z"), utc("2021-09-06T03:00:00Z")}, 23 * time.Hour},
		{"the day before it", store.PeriodDaily, "2021-09-04", santiago,
			span{store.PeriodDaily, "2021-09-04", utc("2021-09-04T04:00:00Z"), utc("2021-09-05T04:00:00Z")}, 24 * time.Hour},
		{"december", store.PeriodMonthly, "2024-12-15", time.UTC,
			span{store.PeriodMonthly, "2024-12-01", utc("2024-12-01T00:00:00Z"), utc("2025-01-01T00:00:00Z")}, 31 * 24 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := time.Parse(dateLayout, tc.day)
			if err != nil {
				t.Fatal(err)
			}
			got := periodOf(tc.period, d.Year(), d.Month(), d.Day(), tc.loc)
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(span{})); diff != "" {
				t.Errorf("periodOf (-want +got):\n%s", diff)
			}
			if l := got.to.Sub(got.from); l != tc.wantLen {
				t.Errorf("length = %v, want %v", l, tc.wantLen)
			}
		})
	}
}

func TestRelativePeriods(t *testing.T) {
	t.Parallel()
	ny := mustLoad(t, "America/New_York")
	for _, tc := range []struct {
		name          string
		now           time.Time
		wantYesterday string
		wantPrevWeek  string
		wantHourStart time.Time
	}{
		{"just after local midnight", time.Date(2025, 3, 10, 0, 30, 0, 0, ny), "2025-03-09", "2025-03-03", utc("2025-03-10T03:00:00Z")},
		{"after a 23h day", time.Date(2025, 3, 10, 2, 0, 0, 0, ny), "2025-03-09", "2025-03-03", utc("2025-03-10T05:00:00Z")},
		{"UTC date already tomorrow", time.Date(2025, 11, 2, 22, 0, 0, 0, ny), "2025-11-01", "2025-10-20", utc("2025-11-03T02:00:00Z")},
		{"Monday 09:00", time.Date(2025, 3, 17, 9, 0, 0, 0, ny), "2025-03-16", "2025-03-10", utc("2025-03-17T12:00:00Z")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			y, m, d := yesterday(tc.now, ny)
			if got := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Format(dateLayout); got != tc.wantYesterday {
				t.Errorf("yesterday = %s, want %s", got, tc.wantYesterday)
			}
			if got := previousWeek(tc.now, ny).startDay; got != tc.wantPrevWeek {
				t.Errorf("previous week = %s, want %s", got, tc.wantPrevWeek)
			}
			from, to := previousHour(tc.now)
			if !from.Equal(tc.wantHourStart) || to.Sub(from) != time.Hour {
				t.Errorf("previous hour = [%v, %v), want start %v", from, to, tc.wantHourStart)
			}
		})
	}
}
