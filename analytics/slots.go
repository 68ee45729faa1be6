package analytics

import (
	"context"
	"sync"
)

// slots bounds concurrent operations in total and per key (a principal).
type slots struct {
	mu     sync.Mutex
	total  int // most running at once
	perKey int // most running at once per key; 0 means total only
	n      int
	byKey  map[string]int
}

func newSlots(total, perKey int) *slots {
	return &slots{total: total, perKey: perKey, byKey: map[string]int{}}
}

// acquire takes a slot for key, or reports false when none is free.
func (s *slots) acquire(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n >= s.total || (s.perKey > 0 && s.byKey[key] >= s.perKey) {
		return false
	}
	s.n++
	if s.perKey > 0 {
		s.byKey[key]++
	}
	return true
}

// release gives back a slot taken by acquire(key).
func (s *slots) release(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n--
	if s.perKey > 0 {
		if s.byKey[key]--; s.byKey[key] <= 0 {
			delete(s.byKey, key)
		}
	}
}

// turns bounds how many operations of one key (a principal) run at once;
// the others wait for a turn, in arrival order, so that one caller's slow
// operations occupy at most n of what they share with everyone (the
// store's connections). A nil *turns bounds nothing.
type turns struct {
	n     int
	mu    sync.Mutex
	byKey map[string]*turnQueue
}

// turnQueue holds the turns of one key.
type turnQueue struct {
	running chan struct{} // a token per running operation
	refs    int           // running and waiting operations
}

// newTurns returns turns of n per key; n < 1 means no bound (nil).
func newTurns(n int) *turns {
	if n < 1 {
		return nil
	}
	return &turns{n: n, byKey: map[string]*turnQueue{}}
}

// wait takes a turn for key, waiting while n operations of key run. It
// returns ctx's error if ctx ends first; otherwise the caller must call
// done when its operation ends.
func (t *turns) wait(ctx context.Context, key string) (done func(), err error) {
	if t == nil {
		return func() {}, nil
	}
	t.mu.Lock()
	q := t.byKey[key]
	if q == nil {
		q = &turnQueue{running: make(chan struct{}, t.n)}
		t.byKey[key] = q
	}
	q.refs++
	t.mu.Unlock()
	select {
	case q.running <- struct{}{}:
		return func() {
			<-q.running
			t.leave(key, q)
		}, nil
	case <-ctx.Done():
		t.leave(key, q)
		return nil, ctx.Err()
	}
}

func (t *turns) leave(key string, q *turnQueue) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if q.refs--; q.refs == 0 {
		delete(t.byKey, key)
	}
}
