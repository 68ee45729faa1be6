package tracking_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/tracking"
)

// printStore is a store.ActivityWriter that prints what it is given; a real
// application passes its sqlite or postgres Store.
type printStore struct{ mu sync.Mutex }

func (p *printStore) ActivityInsertMany(_ context.Context, acts []store.Activity) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, a := range acts {
		fmt.Printf("%s by %s: %q status=%d report=%s metadata.format=%v\n",
			a.ActivityType, a.Username, a.Description, a.StatusCode, a.ReportID, a.Metadata["format"])
	}
	return nil
}

func ExampleNewMiddleware() {
	rec, err := tracking.NewRecorder(&printStore{}, tracking.RecorderConfig{})
	if err != nil {
		panic(err)
	}
	if err := rec.Start(context.Background()); err != nil {
		panic(err)
	}

	track, err := tracking.NewMiddleware(tracking.MiddlewareConfig{
		Recorder: rec,
		// Identify the user the way the application does (a session, a
		// verified token); here a header stands in for it.
		Identify: func(r *http.Request) (tracking.Identity, bool) {
			if u := r.Header.Get("X-User"); u != "" {
				return tracking.Identity{UserID: "42", Username: u}, true
			}
			return tracking.Identity{}, false
		},
	})
	if err != nil {
		panic(err)
	}
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tracking.AddMetadata(r, "source", "example")
		fmt.Fprintln(w, "report bytes")
	})
	srv := httptest.NewServer(track(app))
	defer srv.Close()

	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/reports/3f2a8c1e-5b7d-4e9f-a1c2-d3e4f5a6b7c8/download/pdf/?token=x", nil)
	req.Header.Set("X-User", "alice")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()

	// On shutdown: stop the HTTP server first, then drain the Recorder.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rec.Close(ctx); err != nil {
		fmt.Println(err)
	}
	// Output:
	// download_report by alice: "Downloaded report 3f2a8c1e-5b7d-4e9f-a1c2-d3e4f5a6b7c8 as pdf" status=200 report=3f2a8c1e-5b7d-4e9f-a1c2-d3e4f5a6b7c8 metadata.format=pdf
}

func ExampleRecorder() {
	rec, err := tracking.NewRecorder(&printStore{}, tracking.RecorderConfig{QueueSize: 2})
	if err != nil {
		panic(err)
	}
	// Enqueue never blocks: with the queue full, the event is dropped
	// and counted.
	for _, user := range []string{"alice", "bob", "carol"} {
		ok := rec.Enqueue(store.Activity{UserID: user, Username: user, ActivityType: tracking.TypeLogin, Description: "Logged in"})
		fmt.Println(user, "accepted:", ok)
	}
	// Close writes everything accepted (Start was not even needed).
	if err := rec.Close(context.Background()); err != nil {
		fmt.Println(err)
	}
	s := rec.Stats()
	fmt.Printf("enqueued=%d written=%d dropped(queue_full)=%d\n", s.Enqueued, s.Written, s.Dropped.QueueFull)
	// Output:
	// alice accepted: true
	// bob accepted: true
	// carol accepted: false
	// login by alice: "Logged in" status=0 report= metadata.format=<nil>
	// login by bob: "Logged in" status=0 report= metadata.format=<nil>
	// enqueued=2 written=2 dropped(queue_full)=1
}

func ExampleIPResolver_ClientIP() {
	ips, err := tracking.NewIPResolver(tracking.IPConfig{TrustedProxies: []string{"10.0.0.0/8"}})
	if err != nil {
		panic(err)
	}
	// Through the load balancer: the rightmost untrusted address counts,
	// not the one the client wrote itself.
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.0.0.5:41000"
	r.Header.Set("X-Forwarded-For", "6.6.6.6, 198.51.100.7, 10.0.0.9")
	fmt.Println(ips.ClientIP(r))

	// Straight from the internet: forwarding headers are ignored.
	r.RemoteAddr = "203.0.113.50:5000"
	fmt.Println(ips.ClientIP(r))
	// Output:
	// 198.51.100.7
	// 203.0.113.50
}

func ExampleHTTPStats() {
	var stats tracking.HTTPStats
	now := time.Date(2025, 1, 15, 10, 0, 0, 0, time.UTC)
	stats.Observe(now.Add(-2*time.Hour), 200, 20*time.Millisecond)
	stats.Observe(now.Add(-time.Hour), 500, 40*time.Millisecond)
	stats.Observe(now.Add(-30*time.Hour), 200, time.Second) // older than a day
	f := stats.Snapshot(now)
	fmt.Printf("requests=%d errors=%.1f%% avg=%.1fms\n", f.Requests, f.ErrorRatePercent, f.AvgLatencyMS)
	// Output:
	// requests=2 errors=50.0% avg=30.0ms
}

func ExampleIPStore() {
	// A handler recording an activity itself stores the client address the
	// way the middleware does.
	resolver, err := tracking.NewIPResolver(tracking.IPConfig{})
	if err != nil {
		panic(err)
	}
	ips, err := tracking.NewIPStore(tracking.IPTruncate, nil)
	if err != nil {
		panic(err)
	}
	req := httptest.NewRequest("POST", "/api/v1/notes/", nil)
	req.RemoteAddr = "203.0.113.77:51234"
	fmt.Println(ips.Apply(resolver.ClientIP(req)))
	// Output: 203.0.113.0
}
