package analytics

import (
	"context"
	"sync"
	"time"

	"github.com/advisoranalytics/advisor-analytics/store"
)

// Read-your-writes over a store that reads from replicas (a
// store.ReadRouter): a caller's reads in the minute after one of its
// writes through the API see that write, and a cached value computed after
// an invalidation sees the writes that caused it.

const (
	// writeMemory is how long a caller's reads follow its last write.
	writeMemory = time.Minute
	// writeMemoryMax bounds the callers remembered at once.
	writeMemoryMax = 10_000
)

// writePositions remembers the store position of each caller's last write
// and of the last cache invalidation.
type writePositions struct {
	rr store.ReadRouter // nil: the store reads where it writes

	mu          sync.Mutex
	callers     map[string]callerWrite
	invalidated string // the position at the last invalidation
}

type callerWrite struct {
	pos   string
	until time.Time
}

func newWritePositions(st store.Store) *writePositions {
	rr, _ := st.(store.ReadRouter)
	return &writePositions{rr: rr, callers: map[string]callerWrite{}}
}

// position reads the store's current write position ("" on failure, and
// the reads go where they would).
func (w *writePositions) position(ctx context.Context) string {
	pos, err := w.rr.WritePosition(ctx)
	if err != nil {
		return ""
	}
	return pos
}

// wrote notes that caller has just written.
func (w *writePositions) wrote(ctx context.Context, caller string, now time.Time) {
	if w.rr == nil || caller == "" {
		return
	}
	pos := w.position(ctx)
	if pos == "" {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.callers) >= writeMemoryMax {
		for id, c := range w.callers {
			if now.After(c.until) || len(w.callers) >= writeMemoryMax {
				delete(w.callers, id)
			}
		}
	}
	w.callers[caller] = callerWrite{pos: pos, until: now.Add(writeMemory)}
}

// forCaller returns ctx reading after the caller's last write, if recent.
func (w *writePositions) forCaller(ctx context.Context, caller string, now time.Time) context.Context {
	if w.rr == nil {
		return ctx
	}
	w.mu.Lock()
	c, ok := w.callers[caller]
	if ok && now.After(c.until) {
		delete(w.callers, caller)
		ok = false
	}
	w.mu.Unlock()
	if !ok {
		return ctx
	}
	return w.rr.ReadAfter(ctx, c.pos)
}

// invalidation notes the position of a cache invalidation: cached values
// computed from now on read at least up to it.
func (w *writePositions) invalidation(ctx context.Context) {
	if w.rr == nil {
		return
	}
	pos := w.position(ctx)
	w.mu.Lock()
	w.invalidated = pos
	w.mu.Unlock()
}

// forCache returns ctx reading after the last invalidation.
func (w *writePositions) forCache(ctx context.Context) context.Context {
	if w.rr == nil {
		return ctx
	}
	w.mu.Lock()
	pos := w.invalidated
	w.mu.Unlock()
	if pos == "" {
		return ctx
	}
	return w.rr.ReadAfter(ctx, pos)
}
