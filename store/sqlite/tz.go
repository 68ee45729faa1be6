package sqlite

import (
	"strings"
	"time"
)

// maxZoneIntervals bounds the CASE built for a range; zones change at most
// a few times a year, so this covers centuries.
const maxZoneIntervals = 2000

// zoneInterval is a span of time with one UTC offset, ending (exclusive) at
// end unix microseconds; the last interval has last set.
type zoneInterval struct {
	end    int64
	offset int64 // microseconds east of UTC
	last   bool
}

// zoneIntervals splits [from, to] (unix microseconds) into the intervals
// where loc has one UTC offset, using the zone transitions of loc.
func zoneIntervals(loc *time.Location, from, to int64) []zoneInterval {
	if loc == nil {
		loc = time.UTC
	}
	var out []zoneInterval
	t := time.UnixMicro(from).In(loc)
	for {
		_, off := t.Zone()
		_, end := t.ZoneBounds()
		if end.IsZero() || end.UnixMicro() > to || !end.After(t) || len(out) >= maxZoneIntervals {
			out = append(out, zoneInterval{offset: int64(off) * 1e6, last: true})
			return out
		}
		out = append(out, zoneInterval{end: end.UnixMicro(), offset: int64(off) * 1e6})
		t = end.In(loc)
	}
}

// localExpr is the SQL that shifts the UTC microsecond column col to local
// wall-clock microseconds in loc, exact for values in [from, to]: a CASE on
// the offset intervals of the range.
func localExpr(col string, loc *time.Location, from, to int64) string {
	ivs := zoneIntervals(loc, from, to)
	if len(ivs) == 1 {
		return col + " + " + itoa(ivs[0].offset)
	}
	var b strings.Builder
	b.WriteString("CASE")
	for _, iv := range ivs {
		if iv.last {
			b.WriteString(" ELSE " + col + " + " + itoa(iv.offset))
			break
		}
		b.WriteString(" WHEN " + col + " < " + itoa(iv.end) + " THEN " + col + " + " + itoa(iv.offset))
	}
	b.WriteString(" END")
	return b.String()
}

// localDayOf is the local day number of us (unix microseconds) in the zone
// intervals ivs: localDayExpr computed in Go.
func localDayOf(us int64, ivs []zoneInterval) int64 {
	for _, iv := range ivs {
		if iv.last || us < iv.end {
			return floorDiv(us+iv.offset, usPerDay)
		}
	}
	return floorDiv(us, usPerDay)
}

// localDayExpr is the SQL for the local day number of col in loc.
func localDayExpr(col string, loc *time.Location, from, to int64) string {
	return dayExpr(localExpr(col, loc, from, to))
}

// isUTC reports whether loc has offset 0 over the whole of [from, to].
func isUTC(loc *time.Location, from, to int64) bool {
	if loc == nil || loc == time.UTC {
		return true
	}
	ivs := zoneIntervals(loc, from, to)
	for _, iv := range ivs {
		if iv.offset != 0 {
			return false
		}
	}
	return true
}
