// Package routelabel carries the route template of a request from the
// handler that matched it back to a middleware wrapping the whole mux,
// through a slot held by the middleware's http.ResponseWriter. Handlers in
// between may copy the request or wrap the writer (keeping Unwrap); the
// slot is found by unwrapping. Nothing is allocated per request.
package routelabel

import (
	"net/http"
	"strings"
)

// Holder is implemented by a ResponseWriter that carries a Slot.
type Holder interface {
	RouteSlot() *Slot
}

// Slot receives the route a request was served by.
type Slot struct {
	set     bool
	matched bool
	pattern string
	route   string
}

// From returns the slot of w or of a writer it wraps (through Unwrap), or
// nil.
func From(w http.ResponseWriter) *Slot {
	for i := 0; i < 16 && w != nil; i++ {
		if h, ok := w.(Holder); ok {
			return h.RouteSlot()
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return nil
		}
		w = u.Unwrap()
	}
	return nil
}

// Set records that the request reached a sub-router through the mux
// pattern (Request.Pattern, "" when none) and was served by its route
// template, relative to the sub-router's mount point; matched false means
// the sub-router had no route for it.
func (s *Slot) Set(pattern, route string, matched bool) {
	s.set, s.pattern, s.route, s.matched = true, pattern, route, matched
}

// SetPattern records the mux pattern that matched the request, unless a
// sub-router recorded its route already.
func (s *Slot) SetPattern(pattern string) {
	if !s.set {
		s.set, s.matched, s.pattern, s.route = true, true, pattern, ""
	}
}

// Label returns the route label recorded in s, and false when nothing was
// recorded. unmatched is the label of a request no route matched.
func (s *Slot) Label(unmatched string) (string, bool) {
	if s == nil || !s.set {
		return "", false
	}
	l := Join(s.pattern, s.route)
	if !s.matched || l == "" {
		return unmatched, true
	}
	return l, true
}

// Join appends a relative route template to a mux pattern:
// ("/api/v1/analytics/", "metrics") → "/api/v1/analytics/metrics". An
// empty pattern leaves the relative template, an empty route the pattern.
func Join(pattern, route string) string {
	if pattern == "" || route == "" {
		return pattern + route
	}
	if strings.HasSuffix(pattern, "/") {
		return pattern + route
	}
	return pattern + "/" + route
}
