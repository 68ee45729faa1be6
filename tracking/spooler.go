package tracking

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/storedriver"
	"github.com/advisoranalytics/advisor-analytics/tracking/spool"
)

// recordActivity marks a spool record holding one JSON-encoded activity.
const recordActivity = 'A'

func encodeActivity(dst []byte, a *store.Activity) ([]byte, error) {
	dst = append(dst, recordActivity)
	b, err := json.Marshal(a)
	if err != nil {
		return nil, fmt.Errorf("tracking: encode activity: %w", err)
	}
	return append(dst, b...), nil
}

func decodeActivity(b []byte, a *store.Activity) error {
	if len(b) == 0 || b[0] != recordActivity {
		return errors.New("tracking: decode spooled activity: unknown record kind")
	}
	// Numbers stay json.Number, so metadata integers beyond 2^53 come back
	// exactly as they were.
	d := json.NewDecoder(bytes.NewReader(b[1:]))
	d.UseNumber()
	if err := d.Decode(a); err != nil {
		return fmt.Errorf("tracking: decode spooled activity: %w", err)
	}
	return nil
}

// Record stores a durably and returns once it is: appended and fsynced to
// the spool (RecorderConfig.SpoolDir), or, without a spool or when the
// spool refuses it (full, or a write error such as a full disk), inserted
// into the store and synced there (storedriver.SyncWrites). Concurrent
// calls share one fsync of the spool. An empty ID and a zero CreatedAt are
// assigned here. It returns ErrClosed once Close has begun,
// a *store.ValidationError for an activity the store would refuse, and the
// store's error when neither the spool nor the store took it.
func (r *Recorder) Record(ctx context.Context, a store.Activity) error {
	if r == nil {
		return ErrClosed
	}
	if err := storedriver.PrepareActivity(&a, time.Now()); err != nil {
		return err
	}
	r.mu.RLock()
	if r.closed.Load() {
		r.mu.RUnlock()
		r.dropClosed.Add(1)
		return ErrClosed
	}
	var spoolErr error
	if r.sp != nil {
		b, err := encodeActivity(nil, &a)
		if err != nil {
			r.mu.RUnlock()
			return err
		}
		// Queued under the read lock, so Close cannot close the spool
		// before this record is in its group commit.
		p, err := r.sp.AppendAsync(b)
		r.mu.RUnlock()
		if err == nil {
			err = p.Wait()
		}
		if err == nil {
			r.enqueued.Add(1)
			return nil
		}
		spoolErr = err
		r.overflow.Add(1)
		r.noteError(err)
		r.noteSpoolError(err)
	} else {
		r.mu.RUnlock()
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.WriteTimeout)
	defer cancel()
	err := r.w.ActivityInsertMany(ctx, []store.Activity{a})
	if err == nil {
		// Committed is not yet on disk for every store (SQLite): synced
		// before the answer, as the spool would have been.
		err = storedriver.SyncWrites(ctx, r.w)
		r.enqueued.Add(1)
		r.written.Add(1)
	}
	if err != nil {
		if spoolErr != nil {
			return fmt.Errorf("tracking: record activity: %w (spool: %w)", err, spoolErr)
		}
		return fmt.Errorf("tracking: record activity: %w", err)
	}
	return nil
}

// noteSpoolError logs a failed spool append, at most every 10 seconds.
func (r *Recorder) noteSpoolError(err error) {
	now := time.Now().UnixNano()
	last := r.lastDropLog.Load()
	if now-last < int64(10*time.Second) || !r.lastDropLog.CompareAndSwap(last, now) {
		return
	}
	r.log.Warn("tracking: spool append failed; writing to the store directly", "dir", r.sp.Dir(),
		"overflow", r.overflow.Load(), "error", err)
}

// runSpooler moves events from the memory queue to the spool in batches,
// each batch within SpoolWindow of its first event.
func (r *Recorder) runSpooler() {
	defer close(r.spoolerDone)
	w := &writer{r: r, batch: make([]store.Activity, 0, r.cfg.BatchSize)}
	var buf []byte
	var recs [][]byte
	flush := func() {
		defer w.release()
		w.batch = r.dropErased(w.batch)
		if len(w.batch) == 0 {
			return
		}
		buf, recs = buf[:0], recs[:0]
		var err error
		for i := range w.batch {
			start := len(buf)
			if buf, err = encodeActivity(buf, &w.batch[i]); err != nil {
				break
			}
			recs = append(recs, buf[start:len(buf):len(buf)])
		}
		if err == nil {
			err = r.sp.Append(recs...)
		}
		if err != nil {
			// Past the byte cap or a failed write: straight to the store.
			r.overflow.Add(int64(len(w.batch)))
			r.noteError(err)
			r.noteSpoolError(err)
			w.write(w.batch, false)
		}
		clear(w.batch)
		w.batch = w.batch[:0]
	}
	r.collect(w, r.cfg.SpoolWindow, flush)
}

// runDrainer writes the spool's records to the store in order: up to
// Writers batches at a time, acknowledged once all of them are settled.
func (r *Recorder) runDrainer() {
	defer r.writers.Done()
	n := r.cfg.Writers
	ws := make([]*writer, n)
	for i := range ws {
		ws[i] = &writer{r: r, batch: make([]store.Activity, 0, r.cfg.BatchSize), spooled: true}
	}
	idle := time.NewTimer(time.Hour)
	idle.Stop()
	backoff := r.cfg.RetryMin
	for {
		finished := isDone(r.spoolerDone)
		got, pos, readErr := r.fillBatches(ws, finished)
		if readErr != nil {
			r.noteError(readErr)
			r.log.Error("tracking: reading the spool failed", "error", readErr)
		}
		if got == 0 {
			if finished || r.writeCtx.Err() != nil {
				return
			}
			wait := time.Second
			if readErr != nil {
				wait = jitter(backoff)
				backoff = min(backoff*2, r.cfg.RetryMax)
			}
			idle.Reset(wait)
			select {
			case <-r.sp.Ready():
			case <-r.spoolerDone:
			case <-r.writeCtx.Done():
			case <-idle.C:
			}
			idle.Stop()
			continue
		}
		backoff = r.cfg.RetryMin
		settled := true
		if got == 1 {
			settled = ws[0].writeSpooled()
		} else {
			var wg sync.WaitGroup
			ok := make([]bool, got)
			for i := range got {
				wg.Go(func() { ok[i] = ws[i].writeSpooled() })
			}
			wg.Wait()
			for _, o := range ok {
				settled = settled && o
			}
		}
		if !settled {
			return // Close's deadline: the rest stays in the spool
		}
		if err := r.sp.Ack(pos); err != nil {
			r.noteError(err)
			r.log.Warn("tracking: acknowledging spooled events failed; they may be written again (idempotent)", "error", err)
		}
	}
}

// fillBatches reads the spool into up to len(ws) writers' batches and
// returns how many it filled and the position after the last record read.
// Once finished (the spooler has stopped), a partial batch is not held
// back for more appends.
func (r *Recorder) fillBatches(ws []*writer, finished bool) (got int, pos spool.Pos, readErr error) {
	n := len(ws)
	for got < n && readErr == nil {
		w := ws[got]
		consumed, lingered := 0, false
		for consumed < r.cfg.BatchSize {
			recs, p, err := r.sp.Read(r.cfg.BatchSize - consumed)
			if err != nil {
				readErr = err
				break
			}
			if len(recs) == 0 {
				if consumed > 0 && !lingered && !finished {
					// A partial batch: give concurrent appends a moment to
					// join it, so the store sees fewer, larger batches.
					lingered = true
					time.Sleep(pollInterval)
					continue
				}
				break
			}
			pos = p
			consumed += len(recs)
			for _, rec := range recs {
				var a store.Activity
				if err := decodeActivity(rec.Data, &a); err != nil {
					r.failed.Add(1)
					r.noteError(err)
					r.log.Error("tracking: undecodable spool record", "bytes", len(rec.Data), "error", err)
					continue
				}
				w.batch = append(w.batch, a)
			}
		}
		if consumed == 0 {
			break
		}
		w.batch = r.dropErased(w.batch)
		got++
		if consumed < r.cfg.BatchSize {
			break // the spool is empty for now
		}
	}
	return got, pos, readErr
}

// writeSpooled writes and empties the batch; ambiguous because an earlier
// process may have stored it already.
func (w *writer) writeSpooled() bool {
	ok := true
	if len(w.batch) > 0 {
		ok = w.write(w.batch, true)
	}
	clear(w.batch)
	w.batch = w.batch[:0]
	return ok
}

func isDone(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// quarantine sets a poison event aside: counted, logged and written to the
// dead-letter file; it is never retried again.
func (r *Recorder) quarantine(a *store.Activity, err error) {
	r.quarantined.Add(1)
	r.log.Error("tracking: quarantined an activity the store keeps refusing",
		"id", a.ID, "activity_type", a.ActivityType, "dead_letter_file", r.cfg.DeadLetterFile, "error", err)
	r.deadLetter(a, err)
}

// deadLetter appends a to the dead-letter file, or logs it in full when
// there is none (or it cannot be written).
func (r *Recorder) deadLetter(a *store.Activity, cause error) {
	line, err := json.Marshal(struct {
		Time     time.Time       `json:"time"`
		Error    string          `json:"error"`
		Activity *store.Activity `json:"activity"`
	}{time.Now().UTC(), cause.Error(), a})
	if err != nil {
		r.log.Error("tracking: dead letter", "id", a.ID, "error", err)
		return
	}
	if r.cfg.DeadLetterFile != "" {
		r.dlMu.Lock()
		err = appendSync(r.cfg.DeadLetterFile, append(line, '\n'))
		r.dlMu.Unlock()
		if err == nil {
			return
		}
		err = fmt.Errorf("tracking: write dead letter: %w", err)
	}
	r.log.Error("tracking: dead letter", "activity", string(line), "write_error", err)
}

func appendSync(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// eraseKeep is how long a Forget call keeps filtering queued events.
const eraseKeep = 24 * time.Hour

// Forget drops the events of userID created up to now that are still
// queued in memory or in the spool (they will not be written), so that an
// erasure of the user's stored activities is not undone by events written
// after it. Call it before erasing the stored activities. The filter lives
// in memory for a day; it does not survive a restart.
func (r *Recorder) Forget(userID string) {
	if r == nil || userID == "" {
		return
	}
	now := time.Now()
	r.eraseMu.Lock()
	defer r.eraseMu.Unlock()
	if r.erasing == nil {
		r.erasing = make(map[string]time.Time)
	}
	for u, t := range r.erasing {
		if now.Sub(t) > eraseKeep {
			delete(r.erasing, u)
		}
	}
	r.erasing[userID] = now
	r.eraseN.Store(int32(len(r.erasing)))
}

// dropErased removes from batch the events of users being forgotten.
func (r *Recorder) dropErased(batch []store.Activity) []store.Activity {
	if r.eraseN.Load() == 0 || len(batch) == 0 {
		return batch
	}
	r.eraseMu.Lock()
	defer r.eraseMu.Unlock()
	out := batch[:0]
	for _, a := range batch {
		if t, ok := r.erasing[a.UserID]; ok && a.UserID != "" && !a.CreatedAt.After(t) {
			r.erasedN.Add(1)
			continue
		}
		out = append(out, a)
	}
	clear(batch[len(out):])
	return out
}

// eventSize estimates the memory an event holds.
func eventSize(ev *event) int64 {
	a := &ev.act
	n := 256 + len(a.ID) + len(a.UserID) + len(a.Username) + len(a.FullName) + len(a.ActivityType) +
		len(a.Description) + len(a.ClientID) + len(a.ReportID) + len(a.IPAddress) + len(a.UserAgent) +
		len(a.Method) + len(a.Path) + len(ev.id) + len(ev.format)
	return int64(n) + valueSize(a.Metadata)
}

// valueSize estimates the memory of a metadata value.
func valueSize(v any) int64 {
	switch v := v.(type) {
	case nil:
		return 0
	case string:
		return 16 + int64(len(v))
	case []byte:
		return 24 + int64(len(v))
	case map[string]any:
		n := int64(48)
		for k, x := range v {
			n += 16 + int64(len(k)) + valueSize(x)
		}
		return n
	case []any:
		n := int64(24)
		for _, x := range v {
			n += valueSize(x)
		}
		return n
	case []string:
		n := int64(24)
		for _, x := range v {
			n += 16 + int64(len(x))
		}
		return n
	}
	return 16
}
