package sqlite

import (
	"testing"
	"time"
	_ "time/tzdata"

	"github.com/google/go-cmp/cmp"

	"github.com/advisoranalytics/advisor-analytics/store/internal/sqlexec"
)

func TestZoneIntervals(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	us := func(s string) int64 {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v.UnixMicro()
	}
	const hour = int64(time.Hour / time.Microsecond)
	cases := []struct {
		name     string
		loc      *time.Location
		from, to string
		want     []zoneInterval
	}{
		{"utc", time.UTC, "2025-01-01T00:00:00Z", "2025-12-31T00:00:00Z", []zoneInterval{{last: true}}},
		{"winter only", ny, "2025-01-01T00:00:00Z", "2025-02-01T00:00:00Z", []zoneInterval{{offset: -5 * hour, last: true}}},
		{"spring forward", ny, "2025-03-01T00:00:00Z", "2025-04-01T00:00:00Z", []zoneInterval{
			{end: us("2025-03-09T07:00:00Z"), offset: -5 * hour}, {offset: -4 * hour, last: true}}},
		{"whole year", ny, "2025-01-01T00:00:00Z", "2025-12-31T00:00:00Z", []zoneInterval{
			{end: us("2025-03-09T07:00:00Z"), offset: -5 * hour},
			{end: us("2025-11-02T06:00:00Z"), offset: -4 * hour},
			{offset: -5 * hour, last: true}}},
		{"to on the transition", ny, "2025-03-01T00:00:00Z", "2025-03-09T07:00:00Z", []zoneInterval{
			{end: us("2025-03-09T07:00:00Z"), offset: -5 * hour}, {offset: -4 * hour, last: true}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := zoneIntervals(c.loc, us(c.from), us(c.to))
			if diff := cmp.Diff(c.want, got, cmp.AllowUnexported(zoneInterval{})); diff != "" {
				t.Errorf("zoneIntervals (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFloorDivAndDays(t *testing.T) {
	cases := []struct{ a, b, want int64 }{{7, 2, 3}, {-7, 2, -4}, {-8, 2, -4}, {0, 5, 0}, {-1, usPerDay, -1}}
	for _, c := range cases {
		if got := floorDiv(c.a, c.b); got != c.want {
			t.Errorf("floorDiv(%d, %d) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
	if got := sqlexec.DayString(dayOf(time.Date(2025, 3, 9, 23, 59, 59, 0, time.UTC).UnixMicro())); got != "2025-03-09" {
		t.Errorf("DayString(dayOf(2025-03-09T23:59:59Z)) = %s", got)
	}
	if got := sqlexec.DayString(dayOf(time.Date(1969, 12, 31, 23, 0, 0, 0, time.UTC).UnixMicro())); got != "1969-12-31" {
		t.Errorf("DayString(dayOf(1969-12-31T23:00Z)) = %s", got)
	}
}

func TestChunks(t *testing.T) {
	for _, n := range []int{0, 1, 5, 127, 128, 129, 500, 1000} {
		total := 0
		for _, c := range chunks(n) {
			if c > maxChunk || c&(c-1) != 0 {
				t.Errorf("chunks(%d) has size %d", n, c)
			}
			total += c
		}
		if total != n {
			t.Errorf("chunks(%d) sums to %d", n, total)
		}
	}
}
