package tracking

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestMiddlewareAllocations pins the request-path allocation budget: none
// on requests that are not tracked, two on a tracked request (the
// per-request state and the request copy carrying it).
func TestMiddlewareAllocations(t *testing.T) {
	rec, err := NewRecorder(newMemWriter(), RecorderConfig{QueueSize: 1000, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ident := Identity{UserID: "u-1", Username: "alice"}
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	newMW := func(stats *HTTPStats) http.Handler {
		mw, err := NewMiddleware(MiddlewareConfig{Recorder: rec, Stats: stats, Logger: quietLogger(),
			Identify: func(*http.Request) (Identity, bool) { return ident, true }})
		if err != nil {
			t.Fatal(err)
		}
		return mw(app)
	}
	get := httptest.NewRequest("GET", "/api/v1/reports/", nil)
	post := httptest.NewRequest("POST", "/api/v1/clients/", nil)
	tests := []struct {
		name  string
		h     http.Handler
		r     *http.Request
		max   float64
		pools bool // uses the pooled response writer
	}{
		{"untracked", newMW(nil), get, 0, false},
		{"untracked with stats", newMW(&HTTPStats{}), get, 0, true},
		{"tracked", newMW(nil), post, 2, true},
		{"tracked with stats", newMW(&HTTPStats{}), post, 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &discardResponse{h: http.Header{}}
			got := testing.AllocsPerRun(200, func() { tt.h.ServeHTTP(w, tt.r) })
			limit := tt.max
			if raceEnabled && tt.pools {
				limit++ // the race detector makes sync.Pool drop items
			}
			if got > limit {
				t.Errorf("%v allocations per request, want at most %v", got, tt.max)
			}
		})
	}
	if s := rec.Stats(); s.Enqueued+s.Dropped.QueueFull == 0 {
		t.Error("no tracked request reached the Recorder")
	}
}
