package tracking

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"testing"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/storedriver"
)

// memWriter is an in-memory store.ActivityWriter that keeps every row by id
// and counts duplicates, so tests can check "written exactly once". Its
// behaviour per call is set by fail.
type memWriter struct {
	mu    sync.Mutex
	rows  map[string]store.Activity
	order []string
	calls int
	// fail, when set, is called first with the 1-based call number; a
	// non-nil error is returned without writing (commit=false) or after
	// writing (commit=true, an ambiguous failure).
	fail func(call int, batch []store.Activity) (err error, commit bool)
}

func newMemWriter() *memWriter { return &memWriter{rows: map[string]store.Activity{}} }

func (m *memWriter) ActivityInsertMany(ctx context.Context, batch []store.Activity) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	if err := ctx.Err(); err != nil {
		return err
	}
	var failErr error
	if m.fail != nil {
		err, commit := m.fail(m.calls, batch)
		if err != nil && !commit {
			return err
		}
		failErr = err
	}
	for _, a := range batch {
		if a.Description == "reject" {
			return storedriver.Invalid("description", "rejected by the test store")
		}
		if !store.ValidUUID(a.ID) {
			return storedriver.Invalid("id", "must be a UUID")
		}
	}
	for _, a := range batch {
		if _, ok := m.rows[a.ID]; ok {
			return fmt.Errorf("insert: %w", store.ErrConflict)
		}
	}
	for _, a := range batch {
		m.rows[a.ID] = a
		m.order = append(m.order, a.ID)
	}
	return failErr
}

// all returns the stored rows in insertion order.
func (m *memWriter) all() []store.Activity {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]store.Activity, 0, len(m.order))
	for _, id := range m.order {
		out = append(out, m.rows[id])
	}
	return out
}

func (m *memWriter) callCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.calls
}

func (m *memWriter) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.rows)
}

// panicWriter panics on every call.
type panicWriter struct{}

func (panicWriter) ActivityInsertMany(context.Context, []store.Activity) error {
	panic("store exploded")
}

// errWriter fails every call.
type errWriter struct{ err error }

func (w errWriter) ActivityInsertMany(context.Context, []store.Activity) error { return w.err }

var errDown = fmt.Errorf("connection refused: %w", store.ErrUnavailable)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// logSink collects log records for assertions.
type logSink struct {
	mu   sync.Mutex
	msgs []string
}

func (s *logSink) logger() *slog.Logger { return slog.New(&sinkHandler{s}) }

func (s *logSink) messages() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := append([]string(nil), s.msgs...)
	sort.Strings(out)
	return out
}

type sinkHandler struct{ s *logSink }

func (h *sinkHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *sinkHandler) Handle(_ context.Context, r slog.Record) error {
	h.s.mu.Lock()
	h.s.msgs = append(h.s.msgs, r.Message)
	h.s.mu.Unlock()
	return nil
}
func (h *sinkHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *sinkHandler) WithGroup(string) slog.Handler      { return h }

// newTestRecorder returns a started Recorder closed at the end of the test.
func newTestRecorder(t *testing.T, w store.ActivityWriter, cfg RecorderConfig) *Recorder {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	rec, err := NewRecorder(w, cfg)
	if err != nil {
		t.Fatalf("NewRecorder: %v", err)
	}
	if err := rec.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = rec.Close(context.Background()) })
	return rec
}

func mustClose(t *testing.T, rec *Recorder) {
	t.Helper()
	if err := rec.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func act(i int) store.Activity {
	return store.Activity{UserID: fmt.Sprint("u", i%7), ActivityType: "login", Description: fmt.Sprint("event ", i)}
}
