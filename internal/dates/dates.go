// Package dates parses the date parameters of the analytics API and of
// the command line the same way.
package dates

import (
	"errors"
	"time"
)

var dateLayouts = []string{
	"2006-01-02T15:04:05Z07:00",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04",
}

// Parse parses a date parameter: YYYY-MM-DD, or
// YYYY-MM-DDTHH:MM[:SS[.fraction]] (a space may replace the T) with an
// optional Z or ±HH:MM offset. Values without an offset are in loc.
// dateOnly reports the YYYY-MM-DD form (its time is local midnight).
func Parse(s string, loc *time.Location) (t time.Time, dateOnly bool, err error) {
	if loc == nil {
		loc = time.UTC
	}
	if len(s) == 10 {
		if t, err = time.ParseInLocation(time.DateOnly, s, loc); err != nil {
			return time.Time{}, false, err
		}
		if t.Year() < 1 {
			return time.Time{}, false, errors.New("invalid date")
		}
		return t, true, nil
	}
	if len(s) < 16 || len(s) > 64 {
		return time.Time{}, false, errors.New("invalid date")
	}
	if s[10] == ' ' {
		s = s[:10] + "T" + s[11:]
	}
	if s[10] != 'T' {
		return time.Time{}, false, errors.New("invalid date")
	}
	for _, layout := range dateLayouts {
		if t, err = time.ParseInLocation(layout, s, loc); err == nil {
			if t.Year() < 1 || t.Year() > 9999 {
				return time.Time{}, false, errors.New("invalid date")
			}
			return t, false, nil
		}
	}
	return time.Time{}, false, errors.New("invalid date")
}
