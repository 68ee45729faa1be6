package analytics

import (
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
