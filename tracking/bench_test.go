package tracking

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/advisoranalytics/advisor-analytics/store"
)

// discardResponse is a ResponseWriter that allocates nothing per request.
type discardResponse struct{ h http.Header }

func (d *discardResponse) Header() http.Header         { return d.h }
func (d *discardResponse) WriteHeader(int)             {}
func (d *discardResponse) Write(b []byte) (int, error) { return len(b), nil }

// discardWriter is a store that accepts everything at once.
type discardWriter struct{}

func (discardWriter) ActivityInsertMany(context.Context, []store.Activity) error { return nil }

// BenchmarkMiddleware measures the middleware's overhead over the bare
// handler: on a request it does not track (GET with no rule) and on a
// tracked POST (enqueue only; a Recorder over a store that discards drains
// the queue).
func BenchmarkMiddleware(b *testing.B) {
	body := []byte("ok")
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(body) })
	ident := Identity{UserID: "u-1", Username: "alice", FullName: "Alice"}
	newMW := func(rec *Recorder, stats *HTTPStats) http.Handler {
		mw, err := NewMiddleware(MiddlewareConfig{
			Recorder: rec,
			Identify: func(*http.Request) (Identity, bool) { return ident, true },
			Stats:    stats,
			Logger:   quietLogger(),
		})
		if err != nil {
			b.Fatal(err)
		}
		return mw(app)
	}

	// drained: a Recorder whose queue is emptied by a bare loop polling
	// like the writers do, so the figures are the request path's alone.
	drained, err := NewRecorder(discardWriter{}, RecorderConfig{Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		t := time.NewTicker(pollInterval)
		defer t.Stop()
		for {
			for len(drained.queue) > 0 {
				<-drained.queue
			}
			select {
			case <-t.C:
			case <-stop:
				return
			}
		}
	}()
	// full: a started Recorder whose writer builds and "writes" every
	// event on the other core(s), as in production.
	full, err := NewRecorder(discardWriter{}, RecorderConfig{Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	if err := full.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = full.Close(context.Background()) }()

	get := httptest.NewRequest("GET", "/api/v1/reports/?page=2", nil)
	post := httptest.NewRequest("POST", "/api/v1/clients/", nil)
	post.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) benchmark")
	for _, r := range []*http.Request{get, post} {
		r.RemoteAddr = "203.0.113.9:4567"
	}
	run := func(h http.Handler, r *http.Request, rec *Recorder) func(*testing.B) {
		return func(b *testing.B) {
			w := &discardResponse{h: http.Header{}}
			before := rec.Stats()
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(w, r)
			}
			after := rec.Stats()
			if n := after.Enqueued - before.Enqueued + after.Dropped.Total() - before.Dropped.Total(); n > 0 {
				b.ReportMetric(float64(after.Dropped.Total()-before.Dropped.Total())/float64(n), "dropped/op")
			}
		}
	}
	b.Run("bare", run(app, post, drained))
	b.Run("untracked", run(newMW(drained, nil), get, drained))
	b.Run("untracked-stats", run(newMW(drained, &HTTPStats{}), get, drained))
	b.Run("tracked", run(newMW(drained, nil), post, drained))
	b.Run("tracked-stats", run(newMW(drained, &HTTPStats{}), post, drained))
	b.Run("tracked-full-writer", run(newMW(full, nil), post, full))
}

func benchActivity() store.Activity {
	return store.Activity{
		UserID: "u-1", Username: "alice", FullName: "Alice Doe",
		ActivityType: TypeDownloadReport, Description: "Downloaded report " + reportID,
		ReportID: reportID, IPAddress: "203.0.113.9", UserAgent: "Mozilla/5.0 (X11; Linux x86_64)",
		Method: "GET", Path: "/api/v1/reports/" + reportID + "/download/", StatusCode: 200,
		Duration: 3 * time.Millisecond,
		Metadata: map[string]any{"path": "/api/v1/reports/" + reportID + "/download/", "method": "GET", "status": 200, "duration_ms": 3.0},
	}
}

// BenchmarkRecorder measures sustained Recorder throughput into real stores
// (events/s, from the first Enqueue until Close has written everything),
// beside the one-INSERT-per-event approach it replaces.
func BenchmarkRecorder(b *testing.B) {
	b.Run("discard", func(b *testing.B) {
		// The Recorder's own ceiling: a store that accepts everything at once.
		benchRecorder(b, discardWriter{}, 1)
	})
	for _, d := range drivers {
		b.Run(d.name, func(b *testing.B) {
			s := d.open(b)
			if d.name == "postgres" {
				for _, n := range []int{2, 4} {
					b.Run(fmt.Sprintf("recorder-writers=%d", n), func(b *testing.B) { benchRecorder(b, s, n) })
				}
			} else {
				b.Run("recorder", func(b *testing.B) { benchRecorder(b, s, d.writers) })
			}
			b.Run("store-batches", func(b *testing.B) {
				// The store's own ceiling: batches of BatchSizeDefault
				// inserted back to back by one goroutine, no Recorder.
				a := benchActivity()
				batch := make([]store.Activity, 0, BatchSizeDefault)
				ctx := context.Background()
				b.ResetTimer()
				for i := range b.N {
					one := a
					one.ID = store.NewID()
					batch = append(batch, one)
					if len(batch) == BatchSizeDefault || i == b.N-1 {
						if err := s.ActivityInsertMany(ctx, batch); err != nil {
							b.Fatal(err)
						}
						batch = batch[:0]
					}
				}
				b.StopTimer()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			})
			b.Run("sync-insert", func(b *testing.B) {
				a := benchActivity()
				ctx := context.Background()
				b.ResetTimer()
				for range b.N {
					one := a
					if err := s.ActivityInsertMany(ctx, []store.Activity{one}); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			})
		})
	}
}

// benchRecorder enqueues b.N activities and closes the Recorder, reporting
// the events written per second.
func benchRecorder(b *testing.B, w store.ActivityWriter, writers int) {
	rec, err := NewRecorder(w, RecorderConfig{Writers: writers, FullPolicy: Block, BlockTimeout: time.Minute, Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	if err := rec.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	a := benchActivity()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if !rec.Enqueue(a) {
			b.Fatal("Enqueue refused")
		}
	}
	closeWritten(b, rec)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// closeWritten closes rec, stops b's timer and fails b unless rec wrote
// all b.N events.
func closeWritten(b *testing.B, rec *Recorder) {
	b.Helper()
	if err := rec.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if st := rec.Stats(); st.Written != int64(b.N) {
		b.Fatalf("written %d of %d", st.Written, b.N)
	}
}
