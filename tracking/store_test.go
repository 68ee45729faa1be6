package tracking

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/advisoranalytics/advisor-analytics/internal/testdb/teststore"
	"github.com/advisoranalytics/advisor-analytics/store"
)

// activityStore is what these tests need of a real store.
type activityStore interface {
	store.ActivityWriter
	store.ActivityReader
	Close() error
}

type driver struct {
	name    string
	writers int
	open    func(testing.TB) activityStore
}

var drivers = []driver{
	{"sqlite", 1, func(tb testing.TB) activityStore { return teststore.SQLite(tb) }},
	{"postgres", 3, func(tb testing.TB) activityStore { return teststore.Postgres(tb) }},
}

func countRows(t *testing.T, s store.ActivityReader) int64 {
	t.Helper()
	page, err := s.ActivityList(context.Background(), store.ActivityListParams{Limit: 1})
	if err != nil {
		t.Fatalf("ActivityList: %v", err)
	}
	return page.Total
}

// TestRecorderStoresEveryEvent: 100,000 events from 32 goroutines, then
// Close: exactly 100,000 rows.
func TestRecorderStoresEveryEvent(t *testing.T) {
	for _, d := range drivers {
		t.Run(d.name, func(t *testing.T) {
			s := d.open(t)
			rec := newTestRecorder(t, s, RecorderConfig{Writers: d.writers, FullPolicy: Block, BlockTimeout: time.Minute})
			const goroutines, total = 32, 100_000
			var wg sync.WaitGroup
			var refused atomic.Int64
			for g := range goroutines {
				wg.Go(func() {
					for i := g; i < total; i += goroutines {
						a := act(i)
						a.Metadata = map[string]any{"i": i}
						if !rec.Enqueue(a) {
							refused.Add(1)
						}
					}
				})
			}
			wg.Wait()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if err := rec.Close(ctx); err != nil {
				t.Fatalf("Close: %v", err)
			}
			st := rec.Stats()
			if refused.Load() != 0 || st.Enqueued != total || st.Written != total || st.Failed != 0 || st.Dropped.Total() != 0 {
				t.Errorf("refused %d, stats %+v", refused.Load(), st)
			}
			if got := countRows(t, s); got != total {
				t.Errorf("rows = %d, want %d", got, total)
			}
		})
	}
}

// flakyWriter fails with store.ErrUnavailable while down is set and
// signals its first failure.
type flakyWriter struct {
	store.ActivityWriter
	down      atomic.Bool
	failed    chan struct{}
	closeOnce sync.Once
}

func (f *flakyWriter) ActivityInsertMany(ctx context.Context, batch []store.Activity) error {
	if f.down.Load() {
		f.closeOnce.Do(func() { close(f.failed) })
		return errDown
	}
	return f.ActivityWriter.ActivityInsertMany(ctx, batch)
}

// TestStoreOutage: while the store is down, requests keep being served,
// events are held up to the queue's capacity (the rest are counted as
// dropped), and once it recovers every accepted event is written exactly
// once.
func TestStoreOutage(t *testing.T) {
	for _, d := range drivers {
		t.Run(d.name, func(t *testing.T) {
			s := d.open(t)
			fw := &flakyWriter{ActivityWriter: s, failed: make(chan struct{})}
			fw.down.Store(true)
			const capacity = 40
			rec := newTestRecorder(t, fw, RecorderConfig{QueueSize: capacity, BatchSize: 1, RetryMin: time.Millisecond, RetryMax: 10 * time.Millisecond})
			mw, err := NewMiddleware(MiddlewareConfig{Recorder: rec, Identify: identifyHeader, Logger: quietLogger()})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(mw(statusHandler))
			defer srv.Close()
			post := func() {
				req, _ := http.NewRequest("POST", srv.URL+"/api/v1/clients/", nil)
				req.Header.Set("X-User", "alice")
				resp, err := srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || string(body) != "hello" {
					t.Fatalf("response during the outage: %d %q", resp.StatusCode, body)
				}
			}
			post()
			<-fw.failed // the writer now holds that event and retries it
			const extra = 15
			for range capacity + extra {
				post()
			}
			st := rec.Stats()
			if st.Enqueued != capacity+1 || st.Dropped != (DropCounts{QueueFull: extra}) || st.Written != 0 {
				t.Errorf("stats during the outage = %+v", st)
			}
			fw.down.Store(false)
			mustClose(t, rec)
			st = rec.Stats()
			if st.Written != capacity+1 || st.Failed != 0 || st.Retried == 0 {
				t.Errorf("stats after recovery = %+v", st)
			}
			if got := countRows(t, s); got != capacity+1 {
				t.Errorf("rows = %d, want %d", got, capacity+1)
			}
		})
	}
}

// TestMiddlewareRealStore checks one tracked request end to end.
func TestMiddlewareRealStore(t *testing.T) {
	for _, d := range drivers {
		t.Run(d.name, func(t *testing.T) {
			s := d.open(t)
			rec := newTestRecorder(t, s, RecorderConfig{})
			mw, err := NewMiddleware(MiddlewareConfig{Recorder: rec, Identify: identifyHeader, IPStorage: IPHash,
				IPHashKey: []byte("a secret key of 32 bytes........"), Logger: quietLogger()})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(mw(statusHandler))
			defer srv.Close()
			req, _ := http.NewRequest("GET", srv.URL+"/api/v1/reports/"+reportID+"/download/pdf/?sig=abc", nil)
			req.Header.Set("X-User", "bob")
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			mustClose(t, rec)
			page, err := s.ActivityList(context.Background(), store.ActivityListParams{ActivityFilter: store.ActivityFilter{ReportID: reportID}})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Activities) != 1 {
				t.Fatalf("%d activities, want 1", len(page.Activities))
			}
			a := page.Activities[0]
			if a.ActivityType != "download_report" || a.UserID != "id-bob" || a.Path != "/api/v1/reports/"+reportID+"/download/pdf/" ||
				len(a.IPAddress) != 64 || a.Metadata["format"] != "pdf" || a.Metadata["method"] != "GET" {
				t.Errorf("stored activity = %+v", a)
			}
		})
	}
}
