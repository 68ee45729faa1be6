// Package recagg computes what a report's recommendations contribute to the
// counters both store drivers keep beside the reports (recommendations by
// category and by business impact, savings in cents), and how those
// counters move when a report's recommendations are replaced.
package recagg

import (
	"math"
	"slices"
	"sort"
	"time"

	"github.com/advisoranalytics/advisor-analytics/internal/dates"
	"github.com/advisoranalytics/advisor-analytics/store"
)

// Aggregate is what one report's recommendations add to the counters.
type Aggregate struct {
	Categories map[string]int64 // by category
	Impacts    map[string]int64 // by business impact ("" for none)
	Cents      int64            // potential savings, in cents
}

// New returns an empty Aggregate, ready to Add to.
func New() Aggregate {
	return Aggregate{Categories: map[string]int64{}, Impacts: map[string]int64{}}
}

// Of returns the Aggregate of recs.
func Of(recs []store.Recommendation) Aggregate {
	a := New()
	for i := range recs {
		a.Add(string(recs[i].Category), string(recs[i].BusinessImpact), 1)
		a.Cents += Cents(recs[i].PotentialSavings)
	}
	return a
}

// Add counts n recommendations of one category and impact.
func (a Aggregate) Add(category, impact string, n int64) {
	a.Categories[category] += n
	a.Impacts[impact] += n
}

// Cents converts an amount to whole cents, rounding half away from zero.
func Cents(amount float64) int64 { return int64(math.Round(amount * 100)) }

// Delta returns cur − old for every key whose count changes.
func Delta(old, cur map[string]int64) map[string]int64 {
	d := map[string]int64{}
	for k, n := range cur {
		d[k] += n
	}
	for k, n := range old {
		d[k] -= n
	}
	for k, n := range d {
		if n == 0 {
			delete(d, k)
		}
	}
	return d
}

// SortedKeys returns the keys of m in byte order, the order in which the
// drivers update shared counter rows (so concurrent writers cannot
// deadlock).
func SortedKeys(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// DayKey names one row of the per-day report counters: a local day
// (YYYY-MM-DD in the store's reporting zone) and a report type.
type DayKey struct {
	Day        string
	ReportType string
}

// DayCounts is what reports add to one per-day counter row.
type DayCounts struct {
	Reports          int64
	Completed        int64 // reports with status completed
	Failed           int64 // reports with status failed
	Timed            int64 // completed reports with both processing times
	ProcessingMicros int64 // the processing times of those, summed
	Recommendations  int64
	Cents            int64 // potential savings
}

// ReportDay is the per-day counter row a report counts in, and what it
// adds to it.
type ReportDay struct {
	Key    DayKey
	Counts DayCounts
}

// Facts is what the per-day counters need of a report.
type Facts struct {
	Created                time.Time
	ReportType, Status     string
	Started, Completed     time.Time // processing; zero when not recorded
	Recommendations, Cents int64
}

// FactsOf returns the facts of report r as written, created at created (the
// stored creation time, which an update may keep) with savings of cents.
func FactsOf(r *store.Report, created time.Time, cents int64) Facts {
	return Facts{Created: created, ReportType: string(r.ReportType), Status: string(r.Status),
		Started: timeOrZero(r.ProcessingStartedAt), Completed: timeOrZero(r.ProcessingCompletedAt),
		Recommendations: int64(len(r.Recommendations)), Cents: cents}
}

// DayOf returns the counter row of the report f, on its local day in loc.
func DayOf(f Facts, loc *time.Location) ReportDay {
	if loc == nil {
		loc = time.UTC
	}
	c := DayCounts{Reports: 1, Recommendations: f.Recommendations, Cents: f.Cents}
	switch f.Status {
	case string(store.StatusCompleted):
		c.Completed = 1
		if !f.Started.IsZero() && !f.Completed.IsZero() {
			c.Timed, c.ProcessingMicros = 1, f.Completed.UnixMicro()-f.Started.UnixMicro()
		}
	case string(store.StatusFailed):
		c.Failed = 1
	}
	return ReportDay{Key: DayKey{Day: f.Created.In(loc).Format(time.DateOnly), ReportType: f.ReportType}, Counts: c}
}

// timeOrZero returns *t, or the zero time for nil.
func timeOrZero(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

// DayDeltas accumulates the changes of the per-day counters over one
// transaction (one report upsert or a batch of them).
type DayDeltas map[DayKey]DayCounts

// Add adds (sign 1) or removes (sign −1) a report's contribution.
func (d DayDeltas) Add(r ReportDay, sign int64) {
	c, o := d[r.Key], r.Counts
	c.Reports += sign * o.Reports
	c.Completed += sign * o.Completed
	c.Failed += sign * o.Failed
	c.Timed += sign * o.Timed
	c.ProcessingMicros += sign * o.ProcessingMicros
	c.Recommendations += sign * o.Recommendations
	c.Cents += sign * o.Cents
	d[r.Key] = c
}

// Sorted returns the rows that change, in (day, type) order, the order in
// which the drivers update shared counter rows.
func (d DayDeltas) Sorted() []ReportDay {
	out := make([]ReportDay, 0, len(d))
	for k, c := range d {
		if c != (DayCounts{}) {
			out = append(out, ReportDay{Key: k, Counts: c})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Key, out[j].Key
		return a.Day < b.Day || (a.Day == b.Day && a.ReportType < b.ReportType)
	})
	return out
}

// ZoneName is the name under which the drivers record the zone their
// per-day counters are kept in (nil is UTC).
func ZoneName(loc *time.Location) string {
	if loc == nil {
		return time.UTC.String()
	}
	return loc.String()
}

// LocalMidnightDay returns t's day in loc (YYYY-MM-DD) and whether t is the
// start of that day, that is whether a range bounded by t can be answered
// from whole-day counters.
func LocalMidnightDay(t time.Time, loc *time.Location) (string, bool) {
	if loc == nil {
		loc = time.UTC
	}
	l := t.In(loc)
	start := dates.DayStart(l.Year(), l.Month(), l.Day(), loc)
	return l.Format(time.DateOnly), start.Equal(t)
}

// SameZone reports whether loc (nil is UTC) is the zone the counters were
// kept in: the same name and the same offsets at the given instants (so a
// fixed zone that borrowed a name does not pass).
func SameZone(loc, counters *time.Location, at ...time.Time) bool {
	if loc == nil {
		loc = time.UTC
	}
	if counters == nil {
		counters = time.UTC
	}
	if loc.String() != counters.String() {
		return false
	}
	for _, t := range at {
		_, a := t.In(loc).Zone()
		_, b := t.In(counters).Zone()
		if a != b {
			return false
		}
	}
	return true
}

// Authors returns the distinct non-empty authors in byte order, the order
// in which the drivers update their report_authors rows.
func Authors(authors ...string) []string {
	out := make([]string, 0, len(authors))
	for _, a := range authors {
		if a != "" && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	slices.Sort(out)
	return out
}

// Batch gathers what the report upserts of one transaction change in the
// shared counters (recommendations by category and by impact, the per-day
// report counters and the report authors), so a driver writes each shared
// row once per transaction however many reports it holds.
type Batch struct {
	Categories map[string]int64 // change of recommendation_category_counts
	Impacts    map[string]int64 // change of recommendation_impact_counts
	Days       DayDeltas
	authors    []string
}

// NewBatch returns an empty Batch.
func NewBatch() *Batch {
	return &Batch{Categories: map[string]int64{}, Impacts: map[string]int64{}, Days: DayDeltas{}}
}

// Move records that some reports' recommendations went from old to cur.
func (b *Batch) Move(old, cur Aggregate) {
	for k, n := range Delta(old.Categories, cur.Categories) {
		b.Categories[k] += n
	}
	for k, n := range Delta(old.Impacts, cur.Impacts) {
		b.Impacts[k] += n
	}
}

// Report records that a report left oldDay (when existed) for newDay, and
// the authors whose first report may have moved (the old and the new one).
func (b *Batch) Report(oldDay ReportDay, existed bool, newDay ReportDay, authors ...string) {
	if existed {
		b.Days.Add(oldDay, -1)
	}
	b.Days.Add(newDay, 1)
	b.authors = append(b.authors, authors...)
}

// Authors returns the distinct non-empty authors added, in byte order.
func (b *Batch) Authors() []string { return Authors(b.authors...) }

// Changed returns the entries of m that are not zero.
func Changed(m map[string]int64) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, n := range m {
		if n != 0 {
			out[k] = n
		}
	}
	return out
}

// CostDays tells whether the per-day counters kept in zone counters answer
// a CostFigures query exactly, and on which local days: the first day
// counted ("" when unbounded), the first day of the monthly trend ("" when
// unbounded) and the last day of the trend (today in counters, at now). A
// query with an upper bound, or with bounds that are not local midnights
// of the counters' zone, is not answered from them.
func CostDays(p store.CostParams, counters *time.Location, now time.Time) (fromDay, monthsDay, lastDay string, ok bool) {
	if counters == nil {
		counters = time.UTC
	}
	if !p.To.IsZero() || !SameZone(p.Location, counters, now) {
		return "", "", "", false
	}
	for _, b := range []struct {
		t   time.Time
		day *string
	}{{p.From, &fromDay}, {p.MonthsFrom, &monthsDay}} {
		if b.t.IsZero() {
			continue
		}
		day, midnight := LocalMidnightDay(b.t, counters)
		if !midnight || !SameZone(p.Location, counters, b.t) {
			return "", "", "", false
		}
		*b.day = day
	}
	return fromDay, monthsDay, now.In(counters).Format(time.DateOnly), true
}
