// Package recagg computes what a report's recommendations contribute to the
// counters both store drivers keep beside the reports (recommendations by
// category and by business impact, savings in cents), and how those
// counters move when a report's recommendations are replaced.
package recagg

import (
	"math"
	"sort"

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
