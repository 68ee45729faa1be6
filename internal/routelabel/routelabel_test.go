package routelabel

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

type holder struct {
	http.ResponseWriter
	slot Slot
}

func (h *holder) RouteSlot() *Slot { return &h.slot }

type wrapper struct{ http.ResponseWriter }

func (w wrapper) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func TestFromUnwrapsToTheHolder(t *testing.T) {
	h := &holder{ResponseWriter: httptest.NewRecorder()}
	if From(wrapper{wrapper{h}}) != &h.slot {
		t.Error("slot not found through two wrappers")
	}
	if From(httptest.NewRecorder()) != nil || From(wrapper{httptest.NewRecorder()}) != nil {
		t.Error("a slot found where there is none")
	}
}

func TestLabel(t *testing.T) {
	var empty *Slot
	if _, ok := empty.Label("unmatched"); ok {
		t.Error("nil slot has a label")
	}
	for _, c := range []struct {
		name string
		set  func(s *Slot)
		want string
	}{
		{"sub-router route", func(s *Slot) { s.Set("/api/v1/analytics/", "users/{id}/activities", true) }, "/api/v1/analytics/users/{id}/activities"},
		{"pattern without slash", func(s *Slot) { s.Set("GET /x", "y", true) }, "GET /x/y"},
		{"no mux pattern", func(s *Slot) { s.Set("", "metrics", true) }, "metrics"},
		{"sub-router miss", func(s *Slot) { s.Set("/api/v1/analytics/", "", false) }, "unmatched"},
		{"mux pattern", func(s *Slot) { s.SetPattern("GET /users/{id}") }, "GET /users/{id}"},
		{"no pattern matched", func(s *Slot) { s.SetPattern("") }, "unmatched"},
		{"sub-router wins over the mux", func(s *Slot) { s.Set("/a/", "b", true); s.SetPattern("/a/") }, "/a/b"},
	} {
		var s Slot
		c.set(&s)
		if got, ok := s.Label("unmatched"); !ok || got != c.want {
			t.Errorf("%s: label %q %v, want %q", c.name, got, ok, c.want)
		}
	}
}
