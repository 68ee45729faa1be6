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
	at     int64 // unix nanoseconds at which it was queued
	size   int64 // estimated memory, counted in Recorder.queueBytes
}

// writer is the state of one writer goroutine.
type writer struct {
	r     *Recorder
	batch []store.Activity
	// bytes is the estimated memory of the batch's events, released from
	// Recorder.queueBytes once the batch is flushed.
	bytes int64
	// spooled: the batch comes from the spool, so a batch not written by
	// Close's deadline stays there (not failed), and an earlier process
	// may already have stored it (a conflict means stored).
	spooled bool
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
	r.collect(w, r.cfg.FlushInterval, w.flush)
}

// collect takes events off the queue into w's batch and calls flush when
// the batch is full or its first event has waited interval, until Close.
func (r *Recorder) collect(w *writer, interval time.Duration, flush func()) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		// Idle: wait for the first event of a batch.
		select {
		case ev := <-r.queue:
			w.add(&ev)
		case <-r.stop:
			w.drain(flush)
			return
		}
		started := time.Now()
		for len(w.batch) > 0 {
			w.take()
			waited := time.Since(started)
			if len(w.batch) >= r.cfg.BatchSize || waited >= interval {
				flush()
				w.take() // the next batch starts with whatever queued up meanwhile
				started = time.Now()
				continue
			}
			timer.Reset(min(pollInterval, interval-waited))
			select {
			case <-timer.C:
			case <-r.stop:
				timer.Stop()
				w.drain(flush)
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

// drain flushes everything left in the queue. It runs after Close has
// made sure no more events can be sent.
func (w *writer) drain(flush func()) {
	for {
		select {
		case ev := <-w.r.queue:
			w.add(&ev)
			if len(w.batch) >= w.r.cfg.BatchSize {
				flush()
			}
		default:
			flush()
			return
		}
	}
}

// add completes ev and appends it to the batch, or counts it as failed when
// it cannot be stored.
func (w *writer) add(ev *event) {
	w.r.lastTaken.Store(ev.at)
	w.bytes += ev.size
	if err := w.prepare(ev); err != nil {
		w.r.failed.Add(1)
		w.r.log.Warn("tracking: dropping invalid activity", "activity_type", ev.act.ActivityType, "path", ev.act.Path, "error", err)
		w.r.deadLetter(&ev.act, err)
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
	defer w.release()
	w.batch = w.r.dropErased(w.batch)
	if len(w.batch) == 0 {
		return
	}
	w.write(w.batch, false)
	clear(w.batch) // drop references to metadata maps
	w.batch = w.batch[:0]
}

// write inserts batch, retrying transient errors with back-off until it is
// stored or Close's deadline passes, and reports whether the batch is
// settled (stored, or given up as invalid or poison) rather than abandoned
// at Close's deadline. A batch refused as invalid is split in halves until
// only the bad events are left, and those are dropped. A batch failing
// PoisonAttempts times in a row with the same unclassified error is split
// too, and a single event failing that way is quarantined. ambiguous
// records that an earlier attempt failed without a definite answer, so the
// batch may already be stored: a conflict on a single event then means it
// was.
func (w *writer) write(batch []store.Activity, ambiguous bool) bool {
	r := w.r
	held := int64(len(batch))
	r.held.Add(held)
	defer r.held.Add(-held)
	backoff := r.cfg.RetryMin
	same, lastText, failingSince := 0, "", int64(0)
	split := func() bool {
		mid := len(batch) / 2
		a := w.write(batch[:mid], ambiguous)
		b := w.write(batch[mid:], ambiguous)
		return a && b
	}
	for attempt := 1; ; attempt++ {
		if r.writeCtx.Err() != nil {
			w.giveUp(len(batch))
			return false
		}
		if attempt > 1 {
			// Forget may have been called for a user while this batch waited.
			if batch = r.dropErased(batch); len(batch) == 0 {
				return true
			}
		}
		err := w.insert(batch)
		if err == nil {
			r.written.Add(int64(len(batch)))
			r.lastSuccess.Store(time.Now().UnixNano())
			r.statMu.Lock()
			r.lastFlush = time.Now()
			r.statMu.Unlock()
			return true
		}
		_, invalid := errors.AsType[*store.ValidationError](err)
		conflict := errors.Is(err, store.ErrConflict)
		if invalid || conflict {
			if len(batch) > 1 {
				return split()
			}
			if conflict && ambiguous {
				// An earlier attempt (or an earlier process) did store it.
				r.written.Add(1)
				return true
			}
			r.failed.Add(1)
			r.noteError(err)
			r.log.Warn("tracking: store refused activity", "id", batch[0].ID, "activity_type", batch[0].ActivityType, "error", err)
			r.deadLetter(&batch[0], err)
			return true
		}
		if r.writeCtx.Err() != nil {
			w.giveUp(len(batch))
			return false
		}
		ambiguous = true
		r.retried.Add(1)
		r.noteError(err)
		if transient(err) {
			same, lastText = 0, ""
		} else if text := err.Error(); text == lastText {
			same++
		} else {
			same, lastText = 1, text
		}
		if same == 1 {
			failingSince = time.Now().UnixNano()
		}
		// A single event is quarantined once the store has proved it works
		// by storing something else since this event began failing, or
		// after four times as many identical failures without that proof.
		if same >= r.cfg.PoisonAttempts && (len(batch) > 1 || r.lastSuccess.Load() > failingSince ||
			same >= 4*r.cfg.PoisonAttempts) {
			if len(batch) > 1 {
				r.log.Warn("tracking: batch keeps failing with the same error; splitting it to find the poison event",
					"events", len(batch), "attempts", same, "error", err)
				return split()
			}
			r.quarantine(&batch[0], err)
			return true
		}
		wait := jitter(backoff)
		if attempt <= 3 || attempt%10 == 0 {
			r.log.Warn("tracking: writing activities failed; retrying", "events", len(batch), "attempt", attempt, "retry_in", wait, "error", err)
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-r.writeCtx.Done():
			t.Stop()
			w.giveUp(len(batch))
			return false
		}
		backoff = min(backoff*2, r.cfg.RetryMax)
	}
}

// transient reports whether err is one a retry can cure: the store is
// unreachable or busy, or a call timed out.
func transient(err error) bool {
	return errors.Is(err, store.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, context.Canceled)
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

// release gives the memory of the flushed batch back to the queue's
// byte bound.
func (w *writer) release() {
	w.r.queueBytes.Add(-w.bytes)
	w.bytes = 0
}

// giveUp accounts for n events not written by Close's deadline: failed,
// unless they stay in the spool for the next start.
func (w *writer) giveUp(n int) {
	if w.spooled {
		return
	}
	w.r.failed.Add(int64(n))
	w.r.abandoned.Add(int64(n))
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
