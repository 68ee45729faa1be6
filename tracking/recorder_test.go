package tracking

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/google/go-cmp/cmp"
)

func TestRecorderConfigValidation(t *testing.T) {
	tests := []struct {
		name    string
		cfg     RecorderConfig
		wantErr string // substring; empty = valid
	}{
		{"zero value", RecorderConfig{}, ""},
		{"negative queue", RecorderConfig{QueueSize: -1}, "QueueSize"},
		{"negative batch", RecorderConfig{BatchSize: -1}, "BatchSize"},
		{"negative writers", RecorderConfig{Writers: -2}, "Writers"},
		{"batch above queue", RecorderConfig{QueueSize: 10, BatchSize: 20}, "BatchSize"},
		{"small queue shrinks default batch", RecorderConfig{QueueSize: 10}, ""},
		{"negative flush", RecorderConfig{FlushInterval: -time.Second}, "FlushInterval"},
		{"negative block timeout", RecorderConfig{BlockTimeout: -1}, "BlockTimeout"},
		{"retry max below min", RecorderConfig{RetryMin: time.Second, RetryMax: time.Millisecond}, "RetryMax"},
		{"unknown policy", RecorderConfig{FullPolicy: 7}, "FullPolicy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := NewRecorder(newMemWriter(), tt.cfg)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("NewRecorder: %v", err)
				}
				if rec.cfg.BatchSize > rec.cfg.QueueSize {
					t.Errorf("BatchSize %d > QueueSize %d", rec.cfg.BatchSize, rec.cfg.QueueSize)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("NewRecorder error = %v, want one naming %s", err, tt.wantErr)
			}
		})
	}
	if _, err := NewRecorder(nil, RecorderConfig{}); err == nil {
		t.Error("NewRecorder(nil) succeeded")
	}
}

func TestRecorderDefaults(t *testing.T) {
	rec, err := NewRecorder(newMemWriter(), RecorderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	got := rec.cfg
	got.Logger = nil
	want := RecorderConfig{QueueSize: 10_000, BatchSize: 2000, FlushInterval: time.Second, Writers: 1,
		BlockTimeout: BlockTimeoutDefault, RetryMin: 50 * time.Millisecond, RetryMax: 5 * time.Second,
		WriteTimeout: WriteTimeoutDefault, QueueBytes: QueueBytesDefault, SpoolWindow: SpoolWindowDefault,
		SpoolMaxBytes: SpoolMaxBytesDefault, PoisonAttempts: PoisonAttemptsDefault}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	if s := rec.Stats(); s.QueueCapacity != 10_000 {
		t.Errorf("QueueCapacity = %d, want 10000", s.QueueCapacity)
	}
}

// TestRecorderBatching checks that full batches are written at once and a
// partial batch waits for FlushInterval.
func TestRecorderBatching(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newMemWriter()
		rec := newTestRecorder(t, w, RecorderConfig{BatchSize: 10, FlushInterval: time.Second})
		for i := range 25 {
			if !rec.Enqueue(act(i)) {
				t.Fatalf("Enqueue(%d) refused", i)
			}
		}
		// Full batches are written as soon as the writer sees them (it looks
		// at the queue every pollInterval while collecting).
		time.Sleep(pollInterval)
		synctest.Wait()
		if got := w.count(); got != 20 {
			t.Fatalf("after two full batches: %d rows, want 20", got)
		}
		time.Sleep(990 * time.Millisecond)
		synctest.Wait()
		if got := w.count(); got != 20 {
			t.Fatalf("before the flush interval: %d rows, want 20", got)
		}
		time.Sleep(20 * time.Millisecond)
		synctest.Wait()
		if got := w.count(); got != 25 {
			t.Fatalf("after the flush interval: %d rows, want 25", got)
		}
		s := rec.Stats()
		if s.Enqueued != 25 || s.Written != 25 || s.QueueDepth != 0 || s.LastFlush.IsZero() {
			t.Errorf("stats = %+v", s)
		}
		if w.callCount() != 3 {
			t.Errorf("store calls = %d, want 3", w.callCount())
		}
	})
}

func TestRecorderAssignsIDAndTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newMemWriter()
		rec := newTestRecorder(t, w, RecorderConfig{})
		enqueuedAt := time.Now()
		rec.Enqueue(store.Activity{ActivityType: "login"})
		time.Sleep(5 * time.Second) // written by the flush timer, well after enqueue
		synctest.Wait()
		rows := w.all()
		if len(rows) != 1 {
			t.Fatalf("rows = %d, want 1", len(rows))
		}
		if !store.ValidUUID(rows[0].ID) {
			t.Errorf("ID = %q, want a UUID", rows[0].ID)
		}
		if !rows[0].CreatedAt.Equal(enqueuedAt.UTC().Truncate(time.Microsecond)) {
			t.Errorf("CreatedAt = %v, want the enqueue time %v", rows[0].CreatedAt, enqueuedAt)
		}
	})
}

func TestRecorderDropNewest(t *testing.T) {
	rec, err := NewRecorder(newMemWriter(), RecorderConfig{QueueSize: 5, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	var accepted int
	for i := range 8 {
		if rec.Enqueue(act(i)) {
			accepted++
		}
	}
	if accepted != 5 {
		t.Errorf("accepted %d, want 5", accepted)
	}
	s := rec.Stats()
	want := DropCounts{QueueFull: 3}
	if diff := cmp.Diff(want, s.Dropped); diff != "" {
		t.Errorf("Dropped (-want +got):\n%s", diff)
	}
	if s.QueueDepth != 5 || s.Enqueued != 5 {
		t.Errorf("QueueDepth %d, Enqueued %d; want 5, 5", s.QueueDepth, s.Enqueued)
	}
	mustClose(t, rec)
	if s := rec.Stats(); s.Written != 5 || s.Dropped.Total() != 3 {
		t.Errorf("after Close: %+v", s)
	}
}

func TestRecorderBlockPolicy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newMemWriter()
		rec, err := NewRecorder(w, RecorderConfig{QueueSize: 1, FullPolicy: Block, BlockTimeout: 200 * time.Millisecond, Logger: quietLogger()})
		if err != nil {
			t.Fatal(err)
		}
		rec.Enqueue(act(0))
		start := time.Now()
		if rec.Enqueue(act(1)) {
			t.Fatal("Enqueue on a full queue with no writer was accepted")
		}
		if waited := time.Since(start); waited != 200*time.Millisecond {
			t.Errorf("Enqueue waited %v, want the block timeout 200ms", waited)
		}
		if got := rec.Stats().Dropped; got != (DropCounts{Timeout: 1}) {
			t.Errorf("Dropped = %+v, want one timeout", got)
		}

		// A blocked sender gets in as soon as a writer makes room.
		done := make(chan bool)
		go func() { done <- rec.Enqueue(act(2)) }()
		time.Sleep(50 * time.Millisecond)
		if err := rec.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		if !<-done {
			t.Error("blocked Enqueue refused although the writer made room")
		}
		mustClose(t, rec)
		if got := w.count(); got != 2 {
			t.Errorf("rows = %d, want 2", got)
		}
	})
}

func TestRecorderBlockedSenderReleasedByClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec, err := NewRecorder(newMemWriter(), RecorderConfig{QueueSize: 1, FullPolicy: Block, BlockTimeout: time.Hour, Logger: quietLogger()})
		if err != nil {
			t.Fatal(err)
		}
		rec.Enqueue(act(0))
		done := make(chan bool)
		go func() { done <- rec.Enqueue(act(1)) }()
		synctest.Wait()
		mustClose(t, rec)
		if <-done {
			t.Error("sender blocked across Close was accepted")
		}
		s := rec.Stats()
		if s.Dropped != (DropCounts{Closed: 1}) || s.Written != 1 {
			t.Errorf("stats = %+v, want 1 written and 1 dropped as closed", s)
		}
	})
}

func TestRecorderCloseSemantics(t *testing.T) {
	w := newMemWriter()
	rec, err := NewRecorder(w, RecorderConfig{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		rec.Enqueue(act(i))
	}
	// Close without Start still drains what was accepted.
	mustClose(t, rec)
	if got := w.count(); got != 10 {
		t.Fatalf("rows after Close = %d, want 10", got)
	}
	if rec.Enqueue(act(99)) {
		t.Error("Enqueue after Close accepted")
	}
	if err := rec.Start(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Start after Close = %v, want ErrClosed", err)
	}
	if err := rec.Close(context.Background()); err != nil {
		t.Errorf("second Close = %v", err)
	}
	want := RecorderStats{Enqueued: 10, Written: 10, Dropped: DropCounts{Closed: 1}, QueueCapacity: QueueSizeDefault,
		QueueBytesCapacity: QueueBytesDefault}
	got := rec.Stats()
	got.LastFlush = time.Time{}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
}

func TestRecorderStartIdempotent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newMemWriter()
		rec := newTestRecorder(t, w, RecorderConfig{BatchSize: 1})
		for range 3 {
			if err := rec.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		rec.Enqueue(act(1))
		synctest.Wait()
		if w.callCount() != 1 {
			t.Errorf("store calls = %d, want 1", w.callCount())
		}
		mustClose(t, rec)
	})
}

// TestRecorderRetriesWithBackoff checks the back-off schedule and that a
// recovered store gets every event exactly once.
func TestRecorderRetriesWithBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls []time.Time
		w := newMemWriter()
		w.fail = func(call int, _ []store.Activity) (error, bool) {
			calls = append(calls, time.Now())
			if call <= 4 {
				return errDown, false
			}
			return nil, false
		}
		rec := newTestRecorder(t, w, RecorderConfig{BatchSize: 5, RetryMin: 100 * time.Millisecond, RetryMax: 300 * time.Millisecond})
		for i := range 5 {
			rec.Enqueue(act(i))
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		w.mu.Lock()
		defer w.mu.Unlock()
		if len(calls) != 5 {
			t.Fatalf("store calls = %d, want 5", len(calls))
		}
		// Back-off doubles from RetryMin up to RetryMax, each wait in [d/2, d].
		for i, max := range []time.Duration{100, 200, 300, 300} {
			max *= time.Millisecond
			gap := calls[i+1].Sub(calls[i])
			if gap < max/2 || gap > max {
				t.Errorf("wait before retry %d = %v, want within [%v, %v]", i+1, gap, max/2, max)
			}
		}
		s := rec.Stats()
		if s.Written != 5 || s.Retried != 4 || s.Failed != 0 || !strings.Contains(s.LastError, "unavailable") {
			t.Errorf("stats = %+v", s)
		}
		if len(w.rows) != 5 {
			t.Errorf("rows %d, want 5", len(w.rows))
		}
	})
}

// TestRecorderAmbiguousFailure: the store commits a batch but reports an
// error (a connection lost at commit). The retry must not store the events
// a second time, and they count as written once.
func TestRecorderAmbiguousFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newMemWriter()
		w.fail = func(call int, _ []store.Activity) (error, bool) {
			if call == 1 {
				return errDown, true
			}
			return nil, false
		}
		rec := newTestRecorder(t, w, RecorderConfig{BatchSize: 4})
		for i := range 4 {
			rec.Enqueue(act(i))
		}
		mustClose(t, rec)
		s := rec.Stats()
		if s.Written != 4 || s.Failed != 0 || s.Retried != 1 {
			t.Errorf("stats = %+v, want 4 written, 0 failed, 1 retry", s)
		}
		if w.count() != 4 {
			t.Errorf("rows = %d, want 4", w.count())
		}
	})
}

// TestRecorderValidationBisect: a batch refused as invalid is split so only
// the bad events are dropped.
func TestRecorderValidationBisect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sink := &logSink{}
		w := newMemWriter()
		rec := newTestRecorder(t, w, RecorderConfig{BatchSize: 16, Logger: sink.logger()})
		bad := map[int]bool{3: true, 11: true, 12: true}
		for i := range 16 {
			a := act(i)
			if bad[i] {
				a.Description = "reject"
			}
			rec.Enqueue(a)
		}
		// An event the Recorder itself can tell is invalid never reaches the store.
		rec.Enqueue(store.Activity{ActivityType: ""})
		mustClose(t, rec)
		s := rec.Stats()
		if s.Written != 13 || s.Failed != 4 || s.Retried != 0 {
			t.Errorf("stats = %+v, want 13 written, 4 failed, no retries", s)
		}
		for _, a := range w.all() {
			if a.Description == "reject" {
				t.Errorf("a rejected event was stored: %+v", a)
			}
		}
		var refused int
		for _, m := range sink.messages() {
			if strings.Contains(m, "refused") || strings.Contains(m, "invalid") {
				refused++
			}
		}
		if refused != 4 {
			t.Errorf("logged %d refusals, want 4: %q", refused, sink.messages())
		}
	})
}

func TestRecorderStorePanics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sink := &logSink{}
		w := newMemWriter()
		w.fail = func(call int, _ []store.Activity) (error, bool) {
			if call == 1 {
				panic("boom")
			}
			return nil, false
		}
		rec := newTestRecorder(t, w, RecorderConfig{BatchSize: 2, Logger: sink.logger()})
		rec.Enqueue(act(1))
		rec.Enqueue(act(2))
		mustClose(t, rec)
		if s := rec.Stats(); s.Written != 2 || s.Retried != 1 || !strings.Contains(s.LastError, "panicked") {
			t.Errorf("stats = %+v", s)
		}
		if !cmp.Equal(sink.messages()[:1], []string{"tracking: activity store panicked"}) {
			t.Errorf("log = %q", sink.messages())
		}
	})
}

// TestRecorderCloseDeadline: a store that never recovers loses events only
// when Close's deadline passes, and they are counted as failed.
func TestRecorderCloseDeadline(t *testing.T) {
	for _, tt := range []struct {
		name string
		w    store.ActivityWriter
	}{
		{"unavailable", errWriter{errDown}},
		{"panicking", panicWriter{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				// PoisonAttempts out of reach: this is about the deadline, not
				// about quarantining events a store keeps failing on.
				rec := newTestRecorder(t, tt.w, RecorderConfig{BatchSize: 10, PoisonAttempts: 1000})
				for i := range 25 {
					rec.Enqueue(act(i))
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				start := time.Now()
				err := rec.Close(ctx)
				if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "25 events not written") {
					t.Errorf("Close = %v, want 25 events not written and DeadlineExceeded", err)
				}
				if took := time.Since(start); took != 10*time.Second {
					t.Errorf("Close took %v, want the 10s deadline", took)
				}
				s := rec.Stats()
				if s.Enqueued != 25 || s.Failed != 25 || s.Written != 0 || s.QueueDepth != 0 {
					t.Errorf("stats = %+v", s)
				}
				// A later Close returns the same result at once.
				if err2 := rec.Close(context.Background()); err2 != err {
					t.Errorf("second Close = %v, want %v", err2, err)
				}
			})
		})
	}
}

// TestRecorderCloseUsesUncancelledContext: cancelling Start's context (a
// signal, say) must not make the drain fail.
func TestRecorderCloseUsesUncancelledContext(t *testing.T) {
	w := newMemWriter()
	rec, err := NewRecorder(w, RecorderConfig{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := rec.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		rec.Enqueue(act(i))
	}
	cancel()
	mustClose(t, rec)
	if got := w.count(); got != 100 {
		t.Errorf("rows = %d, want 100", got)
	}
}

func TestRecorderConcurrentEnqueueAndClose(t *testing.T) {
	w := newMemWriter()
	rec := newTestRecorder(t, w, RecorderConfig{QueueSize: 100_000, BatchSize: 100, Writers: 3})
	var wg sync.WaitGroup
	const goroutines, per = 16, 1000
	for g := range goroutines {
		wg.Go(func() {
			for i := range per {
				if !rec.Enqueue(act(g*per + i)) {
					t.Errorf("Enqueue refused")
					return
				}
			}
		})
	}
	// Close races with the last enqueues of a second group: each event is
	// either accepted and written or dropped as closed.
	var late sync.WaitGroup
	for range 4 {
		late.Go(func() {
			for i := range per {
				rec.Enqueue(act(i))
			}
		})
	}
	wg.Wait()
	mustClose(t, rec)
	late.Wait()
	s := rec.Stats()
	if s.Enqueued != s.Written || s.Enqueued+s.Dropped.Closed != (goroutines+4)*per || s.Failed != 0 {
		t.Errorf("stats = %+v", s)
	}
	if int64(w.count()) != s.Written {
		t.Errorf("rows %d, want %d", w.count(), s.Written)
	}
}
