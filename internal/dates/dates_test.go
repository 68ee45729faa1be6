package dates

import (
	"testing"
	"time"
	_ "time/tzdata" // the zone cases need their zones everywhere
)

func TestParse(t *testing.T) {
	paris := time.FixedZone("CEST", 2*3600)
	cases := []struct {
		in       string
		want     time.Time
		dateOnly bool
		bad      bool
	}{
		{in: "2025-01-15", want: time.Date(2025, 1, 15, 0, 0, 0, 0, paris), dateOnly: true},
		{in: "2025-01-15T10:30", want: time.Date(2025, 1, 15, 10, 30, 0, 0, paris)},
		{in: "2025-01-15 10:30:15", want: time.Date(2025, 1, 15, 10, 30, 15, 0, paris)},
		{in: "2025-01-15T10:30:15.123456", want: time.Date(2025, 1, 15, 10, 30, 15, 123456000, paris)},
		{in: "2025-01-15T10:30:15Z", want: time.Date(2025, 1, 15, 10, 30, 15, 0, time.UTC)},
		{in: "2025-01-15T10:30+05:30", want: time.Date(2025, 1, 15, 5, 0, 0, 0, time.UTC)},
		{in: "2025-01-15T10:30:15.5-01:00", want: time.Date(2025, 1, 15, 11, 30, 15, 500000000, time.UTC)},
		{in: "2025-01-15Z", want: time.Date(2025, 1, 15, 0, 0, 0, 0, time.UTC), dateOnly: true},
		{in: "2025-01-15+05:30", want: time.Date(2025, 1, 14, 18, 30, 0, 0, time.UTC), dateOnly: true},
		{in: "2025-01-15-03:00", want: time.Date(2025, 1, 15, 3, 0, 0, 0, time.UTC), dateOnly: true},
		{in: "2025-01-15+0530", bad: true}, {in: "2025-01-15+05:3x", bad: true}, {in: "2025-02-30Z", bad: true}, {in: "2025-01-15z", bad: true},
		{in: "2025-1-15", bad: true}, {in: "15/01/2025", bad: true}, {in: "2025-02-30", bad: true},
		{in: "2025-01-15X10:30", bad: true}, {in: "yesterday", bad: true}, {in: "2025-01-15T25:00", bad: true},
		{in: "", bad: true}, {in: "2025-01-15T10:30:15+0100", bad: true}, {in: "0000-01-01", bad: true}, {in: "0000-01-01T00:00", bad: true},
	}
	for _, c := range cases {
		got, dateOnly, err := Parse(c.in, paris)
		if c.bad {
			if err == nil {
				t.Errorf("Parse(%q) = %v, want an error", c.in, got)
			}
			continue
		}
		if err != nil || !got.Equal(c.want) || dateOnly != c.dateOnly {
			t.Errorf("Parse(%q) = %v, %v, %v; want %v, %v", c.in, got, dateOnly, err, c.want, c.dateOnly)
		}
	}
}

func zone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestLocalAcrossChanges checks wall times that daylight-saving changes
// skip or repeat, against what Python's zoneinfo (fold=0) and PostgreSQL
// give for them.
func TestLocalAcrossChanges(t *testing.T) {
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	ny, santiago, beirut := zone(t, "America/New_York"), zone(t, "America/Santiago"), zone(t, "Asia/Beirut")
	for _, c := range []struct {
		what string
		got  time.Time
		want string
	}{
		{"an ordinary time", Local(2021, 3, 14, 1, 59, 0, 0, ny), "2021-03-14T06:59:00Z"},
		{"skipped 02:30 in New York", Local(2021, 3, 14, 2, 30, 0, 0, ny), "2021-03-14T07:30:00Z"},
		{"03:00 after the skip", Local(2021, 3, 14, 3, 0, 0, 0, ny), "2021-03-14T07:00:00Z"},
		{"repeated 01:30 in New York: the first", Local(2021, 11, 7, 1, 30, 0, 0, ny), "2021-11-07T05:30:00Z"},
		{"02:00 after the repeat", Local(2021, 11, 7, 2, 0, 0, 0, ny), "2021-11-07T07:00:00Z"},
		{"skipped midnight in Santiago", DayStart(2021, 9, 5, santiago), "2021-09-05T04:00:00Z"},
		{"the day before it", DayStart(2021, 9, 4, santiago), "2021-09-04T04:00:00Z"},
		{"its end", DayEnd(utc("2021-09-04T12:00:00Z"), santiago), "2021-09-05T03:59:59.999999Z"},
		{"repeated hour before midnight in Santiago", DayStart(2022, 4, 3, santiago), "2022-04-03T04:00:00Z"},
		{"the next day after the repeat", DayStart(2022, 4, 4, santiago), "2022-04-04T04:00:00Z"},
		{"skipped midnight in Beirut", DayStart(2021, 3, 28, beirut), "2021-03-27T22:00:00Z"},
		{"normalised day", DayStart(2021, 1, 32, ny), "2021-02-01T05:00:00Z"},
		{"nil zone", DayStart(2021, 1, 1, nil), "2021-01-01T00:00:00Z"},
	} {
		if want := utc(c.want); !c.got.Equal(want) {
			t.Errorf("%s: %v (%v), want %v", c.what, c.got, c.got.UTC(), want)
		}
	}
	// Parse reads date parameters the same way.
	for _, c := range []struct{ in, want string }{
		{"2021-09-05", "2021-09-05T04:00:00Z"},
		{"2021-09-05T00:30", "2021-09-05T04:30:00Z"},
		{"2021-09-05T00:30-04:00", "2021-09-05T04:30:00Z"},
		{"2021-09-05T01:00:00.5", "2021-09-05T04:00:00.5Z"},
	} {
		got, _, err := Parse(c.in, santiago)
		if err != nil || !got.Equal(utc(c.want)) {
			t.Errorf("Parse(%q) in Santiago = %v, %v; want %s", c.in, got.UTC(), err, c.want)
		}
	}
}
