package dates

import (
	"testing"
	"time"
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
