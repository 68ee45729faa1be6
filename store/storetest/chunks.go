package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/storedriver"
)

// runChunks checks writes of activities in chunks (storedriver.InsertChunks),
// through the store's own ActivityInsertChunks when it has one and through
// the fallback that hands the chunks to ActivityInsertMany as one batch.
func runChunks(t *testing.T, open OpenFunc) {
	for _, via := range []struct {
		name string
		w    func(s store.Store) store.ActivityWriter
	}{
		{"Store", func(s store.Store) store.ActivityWriter { return s }},
		{"InsertManyOnly", func(s store.Store) store.ActivityWriter { return insertManyOnly{s} }},
	} {
		t.Run(via.name, func(t *testing.T) {
			parallel(t, open, "OneMonth", func(t *testing.T, s store.Store) {
				testInsertChunks(t, s, via.w(s), time.Minute)
			})
			parallel(t, open, "OverMonths", func(t *testing.T, s store.Store) {
				// Each chunk reaches a month or more past the one before.
				testInsertChunks(t, s, via.w(s), 26*time.Hour)
			})
			parallel(t, open, "Failures", func(t *testing.T, s store.Store) { testInsertChunksFailures(t, s, via.w(s)) })
		})
	}
}

// insertManyOnly hides every method of a store but ActivityInsertMany.
type insertManyOnly struct{ w store.ActivityWriter }

func (w insertManyOnly) ActivityInsertMany(ctx context.Context, activities []store.Activity) error {
	return w.w.ActivityInsertMany(ctx, activities)
}

// chunkSizes are the sizes of the chunks the tests stream, 450 activities
// in all: single rows, sizes around the powers of two, and larger ones.
var chunkSizes = []int{1, 130, 7, 64, 1, 247}

// chunkedActivities returns activities in chunks of chunkSizes, step apart
// from the start of 2025. Users appear for the first time in every chunk;
// user u1 changes its username in the fourth.
func chunkedActivities(step time.Duration) [][]store.Activity {
	start := ts("2025-01-01T00:00:00Z")
	var chunks [][]store.Activity
	i := 0
	for c, size := range chunkSizes {
		chunk := make([]store.Activity, size)
		for j := range chunk {
			user := fmt.Sprintf("u%d", i%(5*(c+1)))
			if i%11 == 0 {
				user = ""
			}
			name := user
			if user == "u1" && c >= 3 {
				name = "u1-renamed"
			}
			chunk[j] = store.Activity{UserID: user, Username: name, FullName: "Full " + user,
				ActivityType: []string{"login", "view_report", "export"}[i%3], Description: fmt.Sprint("activity ", i),
				Metadata: map[string]any{"i": float64(i)}, CreatedAt: start.Add(time.Duration(i) * step)}
			if i%2 == 0 {
				chunk[j].ID = fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
			}
			i++
		}
		chunks = append(chunks, chunk)
	}
	return chunks
}

// nextOf returns a next function over chunks that returns the error fail
// in the place of chunk failAt (when fail is not nil).
func nextOf(chunks [][]store.Activity, failAt int, fail error) func() ([]store.Activity, error) {
	i := 0
	return func() ([]store.Activity, error) {
		if fail != nil && i == failAt {
			return nil, fail
		}
		if i == len(chunks) {
			return nil, nil
		}
		i++
		return chunks[i-1], nil
	}
}

func testInsertChunks(t *testing.T, s store.Store, w store.ActivityWriter, step time.Duration) {
	chunks := chunkedActivities(step)
	var in []store.Activity
	for _, c := range chunks {
		in = append(in, c...)
	}
	in = slices.Clone(in)
	must(t, storedriver.InsertChunks(ctx(t), w, nextOf(chunks, 0, nil)), "InsertChunks")

	// The chunks were updated in place: every activity has its id.
	var all []store.Activity
	for _, c := range chunks {
		all = append(all, c...)
	}
	want := make([]store.Activity, len(in))
	for i := range in {
		want[i] = in[i]
		must(t, storedriver.PrepareActivity(&want[i], time.Time{}), "PrepareActivity")
		if in[i].ID == "" {
			if !store.ValidUUID(all[i].ID) {
				t.Fatalf("activity %d: id %q not assigned in place", i, all[i].ID)
			}
			want[i].ID = all[i].ID
		}
	}
	slices.SortFunc(want, newestFirst)
	got := listAll(t, s, store.ActivityFilter{}, 200, want)
	diff(t, "activities", want, got, cmpopts.EquateEmpty())

	var ps []store.ActivitySummaryParams
	for _, f := range []store.ActivityFilter{{}, {UserID: "u1"}, {From: want[len(want)/2].CreatedAt}, {ActivityType: "export"}} {
		for _, g := range []store.SummaryGroup{store.GroupByUser, store.GroupByType, store.GroupByDay} {
			ps = append(ps, store.ActivitySummaryParams{ActivityFilter: f, GroupBy: g})
		}
	}
	checkSummaries(t, s, want, ps)
}

func testInsertChunksFailures(t *testing.T, s store.Store, w store.ActivityWriter) {
	must(t, storedriver.InsertChunks(ctx(t), w, nextOf(nil, 0, nil)), "InsertChunks of nothing")

	// Some activities first, which the failed writes must leave alone.
	before := chunkedActivities(time.Hour)[:2]
	must(t, storedriver.InsertChunks(ctx(t), w, nextOf(before, 0, nil)), "InsertChunks")
	kept := slices.Concat(before...)
	slices.SortFunc(kept, newestFirst)
	check := func(stage string) {
		t.Helper()
		got := listAll(t, s, store.ActivityFilter{}, 500, kept)
		diff(t, stage+": activities", kept, got, cmpopts.EquateEmpty())
		checkSummaries(t, s, kept, []store.ActivitySummaryParams{{GroupBy: store.GroupByUser}, {GroupBy: store.GroupByDay},
			{GroupBy: store.GroupByType}})
	}

	// The activities of the failing writes have ids of their own (assigned
	// by the store) and other times.
	fresh := func() [][]store.Activity {
		chunks := chunkedActivities(time.Minute * 7)
		for _, c := range chunks {
			for i := range c {
				c[i].ID = ""
				c[i].CreatedAt = c[i].CreatedAt.Add(time.Second)
			}
		}
		return chunks
	}

	// next fails after three chunks were written.
	boom := errors.New("the source failed")
	err := storedriver.InsertChunks(ctx(t), w, nextOf(fresh(), 3, boom))
	if !errors.Is(err, boom) {
		t.Fatalf("next failing: got %v, want the error of next", err)
	}
	check("after next failed")

	// An invalid activity in the fourth chunk.
	chunks := fresh()
	chunks[3][5].ActivityType = ""
	err = storedriver.InsertChunks(ctx(t), w, nextOf(chunks, 0, nil))
	wantValidation(t, err, "activity_type", false)
	check("after an invalid chunk")

	// An activity of the last chunk has the id and time of a stored one.
	chunks = fresh()
	last := chunks[len(chunks)-1]
	last[len(last)-1].ID, last[len(last)-1].CreatedAt = kept[0].ID, kept[0].CreatedAt
	err = storedriver.InsertChunks(ctx(t), w, nextOf(chunks, 0, nil))
	wantIs(t, err, store.ErrConflict, "InsertChunks with a stored activity")
	check("after a conflict")
}
