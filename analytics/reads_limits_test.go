package analytics

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/advisoranalytics/advisor-analytics/store"
)

// gatedStore is a real store whose activity reads wait at a gate: it
// counts the reads inside the store per user filter and lets them finish
// only when the test opens the gate.
type gatedStore struct {
	store.Store
	gate   chan struct{}
	mu     sync.Mutex
	inside map[string]int // reads in the store by the filter's user
	most   map[string]int // the most at once
	enter  chan string    // the user of each read entering the store
}

func newGatedStore(st store.Store) *gatedStore {
	return &gatedStore{Store: st, gate: make(chan struct{}), inside: map[string]int{}, most: map[string]int{},
		enter: make(chan string, 64)}
}

func (g *gatedStore) hold(ctx context.Context, user string) func() {
	g.mu.Lock()
	g.inside[user]++
	g.most[user] = max(g.most[user], g.inside[user])
	g.mu.Unlock()
	g.enter <- user
	select {
	case <-g.gate:
	case <-ctx.Done():
	}
	return func() {
		g.mu.Lock()
		g.inside[user]--
		g.mu.Unlock()
	}
}

func (g *gatedStore) ActivitySummary(ctx context.Context, p store.ActivitySummaryParams) (*store.ActivitySummary, error) {
	defer g.hold(ctx, p.UserID)()
	return g.Store.ActivitySummary(ctx, p)
}

func (g *gatedStore) ActivityList(ctx context.Context, p store.ActivityListParams) (*store.ActivityPage, error) {
	defer g.hold(ctx, p.UserID)()
	return g.Store.ActivityList(ctx, p)
}

// TestReadsPerPrincipal checks that one principal's uncached activity
// reads beyond Config.ReadsPerPrincipal wait their turn without reaching
// the store, that another principal's read gets in meanwhile, that the
// waiting reads all complete once the running ones end, and that a waiting
// read whose request ends gives up with the context's error.
func TestReadsPerPrincipal(t *testing.T) {
	g := newGatedStore(openSQLite(t))
	svc, err := New(g, Config{Logger: discardLogger(), ReadsPerPrincipal: 2})
	if err != nil {
		t.Fatal(err)
	}
	// Analysts read their own activity only: the store sees their id as the
	// filter's user.
	heavy := Principal{ID: "heavy", Role: RoleAnalyst}
	other := Principal{ID: "other", Role: RoleAnalyst}
	ctx := context.Background()

	var wg sync.WaitGroup
	var failed atomic.Int32
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if i%2 == 0 {
				_, err = svc.ActivitySummary(ctx, heavy, "user", DateRange{})
			} else {
				_, err = svc.UserActivity(ctx, heavy, UserActivityQuery{Offset: 50})
			}
			if err != nil {
				failed.Add(1)
				t.Errorf("read %d of heavy: %v", i, err)
			}
		}()
	}
	waitEnter := func(want string) {
		t.Helper()
		select {
		case who := <-g.enter:
			if who != want {
				t.Fatalf("a read of %q entered the store, want %q", who, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no read of %q entered the store", want)
		}
	}
	waitEnter("heavy")
	waitEnter("heavy")
	// heavy's other four wait; other's read gets in.
	otherDone := make(chan error, 1)
	go func() {
		_, err := svc.UserActivity(ctx, other, UserActivityQuery{})
		otherDone <- err
	}()
	waitEnter("other")
	select {
	case who := <-g.enter:
		t.Fatalf("a third read of %q entered the store while two ran", who)
	case <-time.After(200 * time.Millisecond):
	}

	// A waiting read whose context ends gives up.
	wctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	_, err = svc.ActivitySummary(wctx, heavy, "", DateRange{})
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a waiting read with an ended context: err = %v, want context.DeadlineExceeded", err)
	}
	if status, _ := StatusOf(err, "x"); status != http.StatusServiceUnavailable {
		t.Fatalf("its status = %d, want 503", status)
	}

	close(g.gate)
	wg.Wait()
	if err := <-otherDone; err != nil {
		t.Fatalf("read of other: %v", err)
	}
	if failed.Load() > 0 {
		t.FailNow()
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.most["heavy"] != 2 {
		t.Fatalf("heavy had at most %d reads in the store at once, want 2", g.most["heavy"])
	}
	if n := len(svc.reads.byKey); n != 0 {
		t.Fatalf("%d principals still hold turns after every read ended", n)
	}
}

// TestReadsPerPrincipalUnbounded checks that a negative ReadsPerPrincipal
// bounds nothing.
func TestReadsPerPrincipalUnbounded(t *testing.T) {
	g := newGatedStore(openSQLite(t))
	svc, err := New(g, Config{Logger: discardLogger(), ReadsPerPrincipal: -1})
	if err != nil {
		t.Fatal(err)
	}
	heavy := Principal{ID: "heavy", Role: RoleAnalyst}
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := svc.ActivitySummary(context.Background(), heavy, "", DateRange{}); err != nil {
				t.Error(err)
			}
		}()
	}
	for i := range 5 {
		select {
		case <-g.enter:
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of 5 reads entered the store with no bound", i)
		}
	}
	close(g.gate)
	wg.Wait()
}
