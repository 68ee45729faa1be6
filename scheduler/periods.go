package scheduler

import (
	"time"

	"github.com/advisoranalytics/advisor-analytics/internal/dates"
	"github.com/advisoranalytics/advisor-analytics/store"
)

// dateLayout is the YYYY-MM-DD layout of period starts.
const dateLayout = "2006-01-02"

// span is a period of the reporting calendar: its first local day and its
// UTC bounds [from, to).
type span struct {
	period   store.Period
	startDay string
	from, to time.Time
}

// periodOf returns the period of kind p that contains the local calendar
// day (year, month, day) in loc. Its bounds are day starts
// (dates.DayStart), so a day is 23, 24 or 25 hours long across
// daylight-saving changes and starts after its midnight where a change
// skips midnight.
func periodOf(p store.Period, year int, month time.Month, day int, loc *time.Location) span {
	var from, to time.Time
	switch p {
	case store.PeriodWeekly:
		// Weeks start on Monday.
		back := (int(civilNoon(year, month, day, loc).Weekday()) + 6) % 7
		from = dates.DayStart(year, month, day-back, loc)
		to = dates.DayStart(year, month, day-back+7, loc)
	case store.PeriodMonthly:
		from = dates.DayStart(year, month, 1, loc)
		to = dates.DayStart(year, month+1, 1, loc)
	default:
		from = dates.DayStart(year, month, day, loc)
		to = dates.DayStart(year, month, day+1, loc)
	}
	return span{period: p, startDay: from.Format(dateLayout), from: from.UTC(), to: to.UTC()}
}

// yesterday returns the local calendar day before the one containing t.
func yesterday(t time.Time, loc *time.Location) (int, time.Month, int) {
	y, m, d := t.In(loc).Date()
	return civilNoon(y, m, d-1, loc).Date()
}

// civilNoon returns noon of a local day: a time that always exists and whose
// Date is the day itself, for calendar arithmetic.
func civilNoon(year int, month time.Month, day int, loc *time.Location) time.Time {
	return time.Date(year, month, day, 12, 0, 0, 0, loc)
}

// previousWeek returns the Monday–Sunday week before the one containing t.
func previousWeek(t time.Time, loc *time.Location) span {
	y, m, d := t.In(loc).Date()
	cur := periodOf(store.PeriodWeekly, y, m, d, loc)
	py, pm, pd := cur.from.In(loc).Date()
	return periodOf(store.PeriodWeekly, py, pm, pd-7, loc)
}

// previousHour returns the UTC bounds of the last complete hour before t.
func previousHour(t time.Time) (time.Time, time.Time) {
	to := t.UTC().Truncate(time.Hour)
	return to.Add(-time.Hour), to
}

// inclusiveEnd converts the exclusive end of a half-open window into the
// inclusive bound the activity filters take. Stores keep microsecond
// precision, so the last instant of [from, to) is to − 1µs.
func inclusiveEnd(to time.Time) time.Time {
	return to.Add(-time.Microsecond)
}
