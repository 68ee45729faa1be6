package tracking

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime/debug"
	"time"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/storedriver"
)

// event is one queued activity. Events captured by the middleware carry the
// raw request facts; the writer goroutine turns them into the final
// activity (description, ids, metadata, stored IP), keeping that work off
// the request path.
type event struct {
	act    store.Activity
	mw     *middleware // nil for events given to Recorder.Enqueue
	rule   *compiledRule
	id     string // the {id} segment matched by rule
	format string // the {format} segment matched by rule
	addr   netip.Addr
	bytes  int64
}

// writer is the state of one writer goroutine.
type writer struct {
	r     *Recorder
	batch []store.Activity
}

// pollInterval is how often a collecting writer looks at the queue. While
// a batch is being collected the writer sleeps on a timer instead of waiting
// on the queue, so Enqueue never has to wake a goroutine up: a send into a
// buffered channel without a waiting receiver is much cheaper than a
// hand-off.
const pollInterval = 2 * time.Millisecond

func (r *Recorder) runWriter() {
	defer r.writers.Done()
	w := &writer{r: r, batch: make([]store.Activity, 0, r.cfg.BatchSize)}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		// Idle: wait for the first event of a batch.
		select {
		case ev := <-r.queue:
			w.add(&ev)
		case <-r.stop:
			w.drain()
			return
		}
		started := time.Now()
		for len(w.batch) > 0 {
			w.take()
			waited := time.Since(started)
			if len(w.batch) >= r.cfg.BatchSize || waited >= r.cfg.FlushInterval {
				w.flush()
				w.take() // the next batch starts with whatever queued up meanwhile
				started = time.Now()
				continue
			}
			timer.Reset(min(pollInterval, r.cfg.FlushInterval-waited))
			select {
			case <-timer.C:
			case <-r.stop:
				timer.Stop()
				w.drain()
				return
			}
		}
	}
}

// take moves queued events into the batch, without waiting, until the
// batch is full or the queue empty.
func (w *writer) take() {
	for len(w.batch) < w.r.cfg.BatchSize {
		select {
		case ev := <-w.r.queue:
			w.add(&ev)
		default:
			return
		}
	}
}

// drain writes everything left in the queue. It runs after Close has made
// sure no more events can be sent.
func (w *writer) drain() {
	for {
		select {
		case ev := <-w.r.queue:
			w.add(&ev)
			if len(w.batch) >= w.r.cfg.BatchSize {
				w.flush()
			}
		default:
			w.flush()
			return
		}
	}
}

// add completes ev and appends it to the batch, or counts it as failed when
// it cannot be stored.
func (w *writer) add(ev *event) {
	if err := w.prepare(ev); err != nil {
		w.r.failed.Add(1)
		w.r.log.Warn("tracking: dropping invalid activity", "activity_type", ev.act.ActivityType, "path", ev.act.Path, "error", err)
		return
	}
	w.batch = append(w.batch, ev.act)
}

func (w *writer) prepare(ev *event) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("tracking: prepare activity: panic: %v", p)
		}
	}()
	if ev.mw != nil {
		ev.mw.complete(ev)
	}
	return storedriver.PrepareActivity(&ev.act, time.Now())
}

// flush writes the batch and empties it.
func (w *writer) flush() {
	if len(w.batch) == 0 {
		return
	}
	w.write(w.batch, false)
	clear(w.batch) // drop references to metadata maps
	w.batch = w.batch[:0]
}

// write inserts batch, retrying transient errors with back-off until it is
// stored or Close's deadline passes. A batch refused as invalid is split in
// halves until only the bad events are left, and those are dropped.
// ambiguous records that an earlier attempt failed without a definite
// answer, so the batch may already be stored: a conflict on a single event
// then means it was.
func (w *writer) write(batch []store.Activity, ambiguous bool) {
	r := w.r
	backoff := r.cfg.RetryMin
	for attempt := 1; ; attempt++ {
		if r.writeCtx.Err() != nil {
			r.giveUp(len(batch))
			return
		}
		err := w.insert(batch)
		if err == nil {
			r.written.Add(int64(len(batch)))
			r.statMu.Lock()
			r.lastFlush = time.Now()
			r.statMu.Unlock()
			return
		}
		_, invalid := errors.AsType[*store.ValidationError](err)
		conflict := errors.Is(err, store.ErrConflict)
		if invalid || conflict {
			if len(batch) > 1 {
				mid := len(batch) / 2
				w.write(batch[:mid], ambiguous)
				w.write(batch[mid:], ambiguous)
				return
			}
			if conflict && ambiguous {
				// An earlier attempt did store it.
				r.written.Add(1)
				return
			}
			r.failed.Add(1)
			r.noteError(err)
			r.log.Warn("tracking: store refused activity", "id", batch[0].ID, "activity_type", batch[0].ActivityType, "error", err)
			return
		}
		if r.writeCtx.Err() != nil {
			r.giveUp(len(batch))
			return
		}
		ambiguous = true
		r.retried.Add(1)
		r.noteError(err)
		wait := jitter(backoff)
		r.log.Warn("tracking: writing activities failed; retrying", "events", len(batch), "attempt", attempt, "retry_in", wait, "error", err)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-r.writeCtx.Done():
			t.Stop()
			r.giveUp(len(batch))
			return
		}
		backoff = min(backoff*2, r.cfg.RetryMax)
	}
}

// insert makes one store call, turning a panic into an error.
func (w *writer) insert(batch []store.Activity) (err error) {
	ctx, cancel := context.WithTimeout(w.r.writeCtx, w.r.cfg.WriteTimeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			w.r.log.Error("tracking: activity store panicked", "panic", p, "stack", string(debug.Stack()))
			err = fmt.Errorf("tracking: insert %d activities: store panicked: %v", len(batch), p)
		}
	}()
	if err := w.r.w.ActivityInsertMany(ctx, batch); err != nil {
		return fmt.Errorf("tracking: insert %d activities: %w", len(batch), err)
	}
	return nil
}

func (r *Recorder) giveUp(n int) {
	r.failed.Add(int64(n))
	r.abandoned.Add(int64(n))
}

func (r *Recorder) noteError(err error) {
	r.statMu.Lock()
	r.lastErr = err.Error()
	r.lastErrTime = time.Now()
	r.statMu.Unlock()
}

// jitter returns a duration in [d/2, d].
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}
