// Package dates parses the date parameters of the analytics API and of
// the command line the same way, and turns local calendar days into
// instants.
//
// Local wall-clock times go through Local rather than time.Date: a time
// that a daylight-saving change skips (02:30 on a spring-forward night in
// New York, or midnight itself where the change happens at midnight, as in
// Santiago) is read with the offset in effect before the change, as
// Python's zoneinfo, PostgreSQL and java.time read it. time.Date leaves the
// choice open and, for a skipped midnight, may return 23:00 of the day
// before, which would put a day's start in the previous day.
package dates

import (
	"errors"
	"time"
)

// dateLayouts are the forms of a date parameter with a time; those from
// firstLocalLayout on have no offset.
var dateLayouts = []string{
	"2006-01-02T15:04:05Z07:00",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04",
}

const firstLocalLayout = 2

// Parse parses a date parameter: YYYY-MM-DD, or
// YYYY-MM-DDTHH:MM[:SS[.fraction]] (a space may replace the T), each with
// an optional Z or ±HH:MM offset. Values without an offset are in loc.
// dateOnly reports the YYYY-MM-DD forms: the time is midnight of that day
// in loc, or at the offset given, in a time.Location that DayEnd can use
// to find the end of the same day.
func Parse(s string, loc *time.Location) (t time.Time, dateOnly bool, err error) {
	if loc == nil {
		loc = time.UTC
	}
	if len(s) == 11 && s[10] == 'Z' || len(s) == 16 && (s[10] == '+' || s[10] == '-') {
		// A date with an offset, a form Python's fromisoformat accepts
		// too: that day at the offset.
		if t, err = time.Parse("2006-01-02Z07:00", s); err != nil {
			return time.Time{}, false, err
		}
		if t.Year() < 1 {
			return time.Time{}, false, errors.New("invalid date")
		}
		return t, true, nil
	}
	if len(s) == 10 {
		if t, err = time.Parse(time.DateOnly, s); err != nil {
			return time.Time{}, false, err
		}
		if t.Year() < 1 {
			return time.Time{}, false, errors.New("invalid date")
		}
		return DayStart(t.Year(), t.Month(), t.Day(), loc), true, nil
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
	for i, layout := range dateLayouts {
		// Parsed in UTC: with an offset, the offset holds; without one,
		// the wall time is read in loc by Local.
		if t, err = time.Parse(layout, s); err == nil {
			if t.Year() < 1 || t.Year() > 9999 {
				return time.Time{}, false, errors.New("invalid date")
			}
			if i >= firstLocalLayout {
				t = Local(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), loc)
			}
			return t, false, nil
		}
	}
	return time.Time{}, false, errors.New("invalid date")
}

// Local returns the instant of the wall-clock time in loc, with values out
// of range normalised as time.Date does (day 32 is the next month's first).
// A wall time that a daylight-saving change skips is read with the offset
// in effect before the change, so it falls as long after the change as it
// is after the last wall time before it (02:30 on the night New York skips
// from 02:00 to 03:00 is 03:30); a wall time that a change repeats is its
// first occurrence.
func Local(year int, month time.Month, day, hour, min, sec, nsec int, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	t := time.Date(year, month, day, hour, min, sec, nsec, loc)
	wall := time.Date(year, month, day, hour, min, sec, nsec, time.UTC)
	_, off := t.Zone()
	shown := t.Add(time.Duration(off) * time.Second).UTC()
	if shown.Equal(wall) {
		// A repeated wall time: the zone before t's may show it too,
		// earlier.
		if start, _ := t.ZoneBounds(); !start.IsZero() {
			_, prev := start.Add(-time.Nanosecond).Zone()
			if first := wall.Add(-time.Duration(prev) * time.Second); first.Before(start) && first.Before(t) {
				return first.In(loc)
			}
		}
		return t
	}
	// Skipped. time.Date read the wall time with the offset before the
	// change (and showed an earlier wall time) or with the offset after it
	// (and showed a later one): read it with the one before.
	if shown.After(wall) {
		start, _ := t.ZoneBounds()
		_, off = start.Add(-time.Nanosecond).Zone()
	}
	return wall.Add(-time.Duration(off) * time.Second).In(loc)
}

// DayStart returns the first instant of the local calendar day in loc
// (normalised as time.Date does, so day+1 is the next day): its midnight,
// or the moment a daylight-saving change that skips midnight ends the day
// before.
func DayStart(year int, month time.Month, day int, loc *time.Location) time.Time {
	return Local(year, month, day, 0, 0, 0, 0, loc)
}

// DayEnd returns the last microsecond of the local calendar day of t in
// loc: what a date-only end of a range covers.
func DayEnd(t time.Time, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	y, m, d := t.In(loc).Date()
	return DayStart(y, m, d+1, loc).Add(-time.Microsecond)
}
