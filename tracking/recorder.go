package tracking

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/storedriver"
	"github.com/advisoranalytics/advisor-analytics/tracking/spool"
)

// syncWritesTimeout bounds the store's sync before the spool forgets what
// was written; past it the spool keeps the events on disk and tries again
// at the next acknowledgement.
const syncWritesTimeout = 10 * time.Second

// Recorder defaults.
const (
	// QueueSizeDefault is the default capacity of the Recorder queue.
	QueueSizeDefault = 10_000
	// BatchSizeDefault is the default number of activities written per
	// store call.
	BatchSizeDefault = 2000
	// FlushIntervalDefault is the default longest time an accepted event
	// waits in a partly filled batch.
	FlushIntervalDefault = time.Second
	// WritersDefault is the default number of writer goroutines. SQLite
	// has a single writer connection, so more would only queue up there;
	// PostgreSQL benefits from 2–4.
	WritersDefault = 1
	// BlockTimeoutDefault is the default longest time Enqueue waits for
	// room under the Block policy.
	BlockTimeoutDefault = 100 * time.Millisecond
	// RetryMinDefault is the default first back-off after a failed write.
	RetryMinDefault = 50 * time.Millisecond
	// RetryMaxDefault is the default longest back-off between retries.
	RetryMaxDefault = 5 * time.Second
	// WriteTimeoutDefault is the default limit of one store call.
	WriteTimeoutDefault = 30 * time.Second
	// QueueBytesDefault is the default bound on the estimated memory held
	// by queued events: 64 MiB.
	QueueBytesDefault = 64 << 20
	// SpoolWindowDefault is the default longest time an event given to
	// Enqueue (or captured by the middleware) waits in memory before its
	// append to the spool begins.
	SpoolWindowDefault = 50 * time.Millisecond
	// SpoolMaxBytesDefault is the default cap on the spool's segment
	// data: 1 GiB.
	SpoolMaxBytesDefault = spool.MaxBytesDefault
	// PoisonAttemptsDefault is the default number of identical,
	// unclassified store failures after which a batch is split and a
	// single event quarantined.
	PoisonAttemptsDefault = 5
)

// Drop reasons, as reported by RecorderStats.Dropped.
const (
	// DropQueueFull counts events refused because the queue was full
	// (DropNewest policy).
	DropQueueFull = "queue_full"
	// DropClosed counts events offered after Close began.
	DropClosed = "closed"
	// DropTimeout counts events refused because the queue stayed full for
	// BlockTimeout (Block policy).
	DropTimeout = "timeout"
)

// ErrClosed is returned by Recorder.Start once Close has been called.
var ErrClosed = errors.New("tracking: recorder closed")

// FullPolicy says what Enqueue does when the queue is full.
type FullPolicy int

const (
	// DropNewest refuses the new event at once and counts it as dropped
	// with reason DropQueueFull. It is the default: a request never waits.
	DropNewest FullPolicy = iota
	// Block waits up to RecorderConfig.BlockTimeout for room, then drops
	// the event with reason DropTimeout.
	Block
)

// String returns the policy name.
func (p FullPolicy) String() string {
	switch p {
	case DropNewest:
		return "drop_newest"
	case Block:
		return "block"
	}
	return fmt.Sprintf("FullPolicy(%d)", int(p))
}

// RecorderConfig configures a Recorder. The zero value is valid and means
// every default.
type RecorderConfig struct {
	// QueueSize is the capacity of the in-memory queue, the bound on
	// memory and on events held during a store outage. Defaults to
	// QueueSizeDefault.
	QueueSize int
	// BatchSize is the largest number of activities written in one store
	// call. Defaults to BatchSizeDefault; at most QueueSize.
	BatchSize int
	// FlushInterval is the longest time an accepted event waits for its
	// batch to fill before the batch is written anyway. Defaults to
	// FlushIntervalDefault.
	FlushInterval time.Duration
	// Writers is the number of writer goroutines. Defaults to
	// WritersDefault (1, right for SQLite); use 2–4 for PostgreSQL.
	Writers int
	// FullPolicy says what Enqueue does when the queue is full. Defaults
	// to DropNewest.
	FullPolicy FullPolicy
	// BlockTimeout is how long Enqueue waits for room under the Block
	// policy. Defaults to BlockTimeoutDefault.
	BlockTimeout time.Duration
	// RetryMin is the first back-off after a failed write; it doubles
	// (with jitter) up to RetryMax. Defaults to RetryMinDefault.
	RetryMin time.Duration
	// RetryMax is the longest back-off. Defaults to RetryMaxDefault.
	RetryMax time.Duration
	// WriteTimeout limits one store call. Defaults to WriteTimeoutDefault.
	WriteTimeout time.Duration
	// QueueBytes bounds the estimated memory held by queued events
	// (in the queue or in a batch being written) as well: an event that
	// would take it past QueueBytes is refused like one offered to a full
	// queue. Defaults to QueueBytesDefault.
	QueueBytes int64
	// SpoolDir, when set, makes the Recorder durable: accepted events are
	// appended (and fsynced) to a spool of segment files in this
	// directory before they are written to the store, Record answers once
	// its event is on disk, a store outage is absorbed on disk up to
	// SpoolMaxBytes, and what a previous process left there is written on
	// Start. See package tracking/spool for the file format.
	//
	// Several processes may share one SpoolDir (replicas started in the
	// same working directory): each holds a numbered slot of it ("0",
	// "1", …) under a lock that dies with the process. A restarted process
	// takes a free slot and also adopts the events of every slot no live
	// process holds, so nothing a killed process spooled waits for that
	// same process to come back.
	SpoolDir string
	// SpoolMaxBytes caps the spool's segment data. Past it, new events are
	// not spooled but written straight to the store (held in the bounded
	// memory queue while it is unreachable, then dropped and counted as
	// queue_full); RecorderStats.SpoolOverflow counts them. Defaults to
	// SpoolMaxBytesDefault.
	SpoolMaxBytes int64
	// SpoolWindow is the longest time an event given to Enqueue (or
	// captured by the middleware) waits in memory before its append to
	// the spool begins: with the fsync, the only time in which a SIGKILL
	// loses it. Defaults to SpoolWindowDefault.
	SpoolWindow time.Duration
	// PoisonAttempts is the number of identical failures of a batch with
	// an error the store does not classify (neither unavailable, invalid
	// nor a conflict) after which the batch is split in halves; a single
	// event failing that way is quarantined: written to DeadLetterFile,
	// counted and logged, never retried again. Defaults to
	// PoisonAttemptsDefault.
	PoisonAttempts int
	// DeadLetterFile receives quarantined and invalid events, one JSON
	// object per line (time, error, activity). Defaults to
	// "dead-letter.jsonl" in SpoolDir when spooling, else none: the events
	// are then only logged in full.
	DeadLetterFile string
	// Logger receives write failures and dropped invalid events.
	// Defaults to slog.Default().
	Logger *slog.Logger
}

func (c *RecorderConfig) setDefaults() error {
	if err := cmp.Or(
		defaultNonNegative("QueueSize", &c.QueueSize, QueueSizeDefault),
		defaultNonNegative("BatchSize", &c.BatchSize, BatchSizeDefault),
		defaultNonNegative("Writers", &c.Writers, WritersDefault),
	); err != nil {
		return err
	}
	if c.BatchSize > c.QueueSize {
		if c.BatchSize == BatchSizeDefault {
			c.BatchSize = c.QueueSize
		} else {
			return fmt.Errorf("tracking: RecorderConfig.BatchSize (%d) must not exceed QueueSize (%d)", c.BatchSize, c.QueueSize)
		}
	}
	if err := cmp.Or(
		defaultNonNegative("FlushInterval", &c.FlushInterval, FlushIntervalDefault),
		defaultNonNegative("BlockTimeout", &c.BlockTimeout, BlockTimeoutDefault),
		defaultNonNegative("RetryMin", &c.RetryMin, RetryMinDefault),
		defaultNonNegative("RetryMax", &c.RetryMax, RetryMaxDefault),
		defaultNonNegative("WriteTimeout", &c.WriteTimeout, WriteTimeoutDefault),
		defaultNonNegative("SpoolWindow", &c.SpoolWindow, SpoolWindowDefault),
		defaultNonNegative("QueueBytes", &c.QueueBytes, QueueBytesDefault),
		defaultNonNegative("SpoolMaxBytes", &c.SpoolMaxBytes, SpoolMaxBytesDefault),
		defaultNonNegative("PoisonAttempts", &c.PoisonAttempts, PoisonAttemptsDefault),
	); err != nil {
		return err
	}
	if c.RetryMax < c.RetryMin {
		return fmt.Errorf("tracking: RecorderConfig.RetryMax (%s) must not be below RetryMin (%s)", c.RetryMax, c.RetryMin)
	}
	if c.FullPolicy != DropNewest && c.FullPolicy != Block {
		return fmt.Errorf("tracking: RecorderConfig.FullPolicy: unknown policy %d", int(c.FullPolicy))
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.DeadLetterFile == "" && c.SpoolDir != "" {
		c.DeadLetterFile = filepath.Join(c.SpoolDir, "dead-letter.jsonl")
	}
	return nil
}

// defaultNonNegative sets the RecorderConfig field name (*v) to def when it
// is zero, and refuses a negative value.
func defaultNonNegative[T int | int64 | time.Duration](name string, v *T, def T) error {
	if *v < 0 {
		return fmt.Errorf("tracking: RecorderConfig.%s must not be negative, got %v", name, *v)
	}
	if *v == 0 {
		*v = def
	}
	return nil
}

// DropCounts counts refused events by reason.
type DropCounts struct {
	// QueueFull counts events refused because the queue was full
	// (FullPolicy DropNewest).
	QueueFull int64 `json:"queue_full"`
	// Closed counts events offered after Close.
	Closed int64 `json:"closed"`
	// Timeout counts events that waited BlockTimeout for room in vain
	// (FullPolicy Block).
	Timeout int64 `json:"timeout"`
}

// Total returns the number of dropped events over every reason.
func (d DropCounts) Total() int64 { return d.QueueFull + d.Closed + d.Timeout }

// RecorderStats is a snapshot of a Recorder's counters. Once Close has
// returned, Enqueued == Written + Failed.
type RecorderStats struct {
	// Enqueued counts accepted events.
	Enqueued int64 `json:"enqueued"`
	// Written counts events stored.
	Written int64 `json:"written"`
	// Dropped counts events refused by Enqueue, by reason.
	Dropped DropCounts `json:"dropped"`
	// Failed counts accepted events given up: refused by the store as
	// invalid, or still unwritten when Close's deadline passed.
	Failed int64 `json:"failed"`
	// Retried counts store calls retried after an error.
	Retried int64 `json:"retried"`
	// QueueDepth is the number of events waiting in the queue.
	QueueDepth int `json:"queue_depth"`
	// QueueCapacity is the queue's fixed capacity.
	QueueCapacity int `json:"queue_capacity"`
	// LastFlush is when a batch was last written (zero if never).
	LastFlush time.Time `json:"last_flush"`
	// LastError is the text of the last store error (empty if none).
	LastError string `json:"last_error,omitempty"`
	// LastErrorAt is when LastError happened.
	LastErrorAt time.Time `json:"last_error_at"`
	// QueueBytes is the estimated memory held by queued events (in the
	// queue or in a batch being written), QueueBytesCapacity its bound.
	QueueBytes         int64 `json:"queue_bytes"`
	QueueBytesCapacity int64 `json:"queue_bytes_capacity"`
	// OldestQueuedAge bounds the age of the oldest event in the memory
	// queue from above (zero when the queue is empty).
	OldestQueuedAge time.Duration `json:"oldest_queued_age_ns"`
	// Held is the number of events in batches a writer is currently
	// writing or retrying.
	Held int64 `json:"held"`
	// Quarantined counts poison events set aside (see
	// RecorderConfig.PoisonAttempts).
	Quarantined int64 `json:"quarantined"`
	// Erased counts queued or spooled events dropped because Forget was
	// called for their user.
	Erased int64 `json:"erased"`
	// Replayed counts events found in the spool on start, left by an
	// earlier process; Written includes them once stored.
	Replayed int64 `json:"replayed"`
	// SpoolOverflow counts events written past the spool (see
	// RecorderConfig.SpoolMaxBytes) or after a failed spool append.
	SpoolOverflow int64 `json:"spool_overflow"`
	// Spool holds the spool's figures; nil without a spool.
	Spool *spool.Stats `json:"spool,omitempty"`
}

// Recorder writes activities to a store in the background: Enqueue puts an
// event on a bounded queue and returns at once; writer goroutines take
// batches off the queue and insert them with one store call each.
//
// Guarantees:
//   - Enqueue never blocks longer than the FullPolicy allows and never
//     panics; a refused event is counted in Stats().Dropped.
//   - Every accepted event is written exactly once or counted as failed:
//     a failing store is retried with exponential back-off while the
//     writer holds its batch (the queue keeps accepting up to its
//     capacity); events are given up only when the store refuses them as
//     invalid (the batch is split so only the bad events are dropped) or
//     when Close's deadline passes.
//   - Activity ids are assigned before the first attempt, so a retried
//     batch can never produce a second copy of an event.
//   - A panic in the store is recovered, logged and treated as an error.
//
// A Recorder is safe for concurrent use.
type Recorder struct {
	w   store.ActivityWriter
	cfg RecorderConfig
	log *slog.Logger

	queue chan event

	mu      sync.RWMutex // held shared by Enqueue, exclusively by Close
	closed  atomic.Bool
	closing chan struct{} // closed when Close begins: wakes blocked senders
	stop    chan struct{} // closed once no more sends can happen: writers drain and exit

	startOnce sync.Once
	closeOnce sync.Once
	writeCtx  context.Context
	cancel    context.CancelFunc
	writers   sync.WaitGroup
	done      chan struct{} // closed when every writer has exited
	closeDone chan struct{} // closed when the first Close returns
	closeErr  error
	abandoned atomic.Int64 // events given up because Close's ctx ended

	enqueued, written, failed, retried atomic.Int64
	dropFull, dropClosed, dropTimeout  atomic.Int64
	quarantined, erasedN, overflow     atomic.Int64
	queueBytes, held                   atomic.Int64
	lastTaken                          atomic.Int64 // unix nanoseconds at which the last event taken had been queued
	lastDropLog                        atomic.Int64 // unix nanoseconds of the last drop warning
	lastSuccess                        atomic.Int64 // unix nanoseconds of the last stored batch

	sp          *spool.Spool // nil without SpoolDir
	replayed    int64
	spoolerDone chan struct{}

	eraseMu sync.Mutex
	erasing map[string]time.Time // user id -> events created up to then are dropped
	eraseN  atomic.Int32         // len(erasing), read without the lock

	dlMu sync.Mutex // serialises dead-letter appends

	statMu      sync.Mutex
	lastFlush   time.Time
	lastErr     string
	lastErrTime time.Time
}

// NewRecorder returns a Recorder writing to w. It validates cfg and starts
// nothing: call Start to run the writers and Close to drain them.
func NewRecorder(w store.ActivityWriter, cfg RecorderConfig) (*Recorder, error) {
	if w == nil {
		return nil, errors.New("tracking: NewRecorder: activity writer is nil")
	}
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	var sp *spool.Spool
	var rec spool.Recovery
	if cfg.SpoolDir != "" {
		var err error
		// The spool forgets events once the store has them on disk, not
		// only committed: a store whose commits can return earlier (SQLite)
		// syncs them first.
		syncStore := func() error {
			ctx, cancel := context.WithTimeout(context.Background(), syncWritesTimeout)
			defer cancel()
			return storedriver.SyncWrites(ctx, w)
		}
		sp, rec, err = openSpool(cfg.SpoolDir, spool.Config{MaxBytes: cfg.SpoolMaxBytes, BeforeAck: syncStore}, cfg.Logger)
		if err != nil {
			return nil, fmt.Errorf("tracking: NewRecorder: %w", err)
		}
		if rec.Records > 0 || rec.CorruptBytes > 0 {
			cfg.Logger.Info("tracking: spool holds events of an earlier run; writing them",
				"dir", sp.Dir(), "events", rec.Records, "bytes", rec.Bytes,
				"corrupt_bytes_moved_aside", rec.CorruptBytes)
		}
	}
	r := &Recorder{
		sp:          sp,
		replayed:    rec.Records,
		spoolerDone: make(chan struct{}),
		w:           w,
		cfg:         cfg,
		log:         cfg.Logger,
		queue:       make(chan event, cfg.QueueSize),
		closing:     make(chan struct{}),
		stop:        make(chan struct{}),
		done:        make(chan struct{}),

		closeDone: make(chan struct{}),
	}
	r.lastTaken.Store(time.Now().UnixNano())
	return r, nil
}

// Start starts the writer goroutines and returns at once. ctx supplies the
// values passed to the store; its cancellation does not stop the writers
// (that would lose accepted events): call Close for that. Start is
// idempotent; after Close it returns ErrClosed.
func (r *Recorder) Start(ctx context.Context) error {
	if r.closed.Load() {
		return ErrClosed
	}
	r.start(ctx)
	return nil
}

func (r *Recorder) start(ctx context.Context) {
	r.startOnce.Do(func() {
		r.writeCtx, r.cancel = context.WithCancel(context.WithoutCancel(ctx))
		if r.sp != nil {
			go r.runSpooler()
			r.writers.Add(1)
			go r.runDrainer()
		} else {
			close(r.spoolerDone)
			r.writers.Add(r.cfg.Writers)
			for range r.cfg.Writers {
				go r.runWriter()
			}
		}
		go func() {
			r.writers.Wait()
			close(r.done)
		}()
	})
}

// Enqueue offers a to the queue and reports whether it was accepted. A zero
// CreatedAt is set to the current time here, so the activity keeps the time
// it happened rather than the time it was written; an empty ID is assigned
// by the writer before the first store call. Enqueue never panics.
func (r *Recorder) Enqueue(a store.Activity) bool {
	if r == nil {
		return false
	}
	if a.CreatedAt.IsZero() {
		a.CreatedAt = time.Now()
	}
	ev := event{act: a}
	return r.enqueue(&ev)
}

// noteDrop logs, at most every 10 seconds, that events are being dropped.
func (r *Recorder) noteDrop(reason string) {
	now := time.Now().UnixNano()
	last := r.lastDropLog.Load()
	if now-last < int64(10*time.Second) || !r.lastDropLog.CompareAndSwap(last, now) {
		return
	}
	d := r.Stats().Dropped
	r.log.Warn("tracking: recorder is dropping events", "reason", reason,
		"queue_full", d.QueueFull, "timeout", d.Timeout, "closed", d.Closed)
}

// enqueue offers *ev to the queue (the channel send copies it).
func (r *Recorder) enqueue(ev *event) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed.Load() {
		r.dropClosed.Add(1)
		r.noteDrop(DropClosed)
		return false
	}
	ev.at = time.Now().UnixNano()
	ev.size = eventSize(ev)
	if r.queueBytes.Add(ev.size) > r.cfg.QueueBytes && ev.size < r.cfg.QueueBytes {
		// Over the byte bound: refused like a full queue (an event larger
		// than the whole bound is let through alone rather than never).
		r.queueBytes.Add(-ev.size)
		r.dropFull.Add(1)
		r.noteDrop(DropQueueFull)
		return false
	}
	select {
	case r.queue <- *ev:
		r.enqueued.Add(1)
		return true
	default:
	}
	if r.cfg.FullPolicy != Block {
		r.queueBytes.Add(-ev.size)
		r.dropFull.Add(1)
		r.noteDrop(DropQueueFull)
		return false
	}
	t := time.NewTimer(r.cfg.BlockTimeout)
	defer t.Stop()
	select {
	case r.queue <- *ev:
		r.enqueued.Add(1)
		return true
	case <-t.C:
		r.dropTimeout.Add(1)
		r.noteDrop(DropTimeout)
	case <-r.closing:
		r.dropClosed.Add(1)
	}
	r.queueBytes.Add(-ev.size)
	return false
}

// Close stops accepting events and waits until every accepted event is
// written. The writes use a context that is not cancelled with the one
// given to Start; they are bounded by ctx instead: when ctx is done first,
// the writers stop, the events still unwritten are counted as failed and
// Close returns an error wrapping ctx.Err(). Close without Start drains the
// queue too. Events offered after Close began are dropped with reason
// DropClosed. Close is idempotent: later calls wait for the first one (up to
// their own ctx) and return its result.
func (r *Recorder) Close(ctx context.Context) error {
	first := false
	r.closeOnce.Do(func() {
		first = true
		close(r.closing) // wakes senders blocked on a full queue
		r.mu.Lock()      // waits for senders in flight
		r.closed.Store(true)
		r.mu.Unlock()
		r.start(context.Background())
		close(r.stop)
	})
	if first {
		stopWatch := context.AfterFunc(ctx, r.cancel)
		<-r.done
		<-r.spoolerDone
		stopWatch()
		r.cancel()
		if r.sp != nil {
			st := r.sp.Stats()
			if st.Held > 0 {
				r.log.Warn("tracking: close: events left in the spool for the next start",
					"dir", r.sp.Dir(), "events", st.Held)
			}
			if err := r.sp.Close(); err != nil {
				r.log.Warn("tracking: close spool", "error", err)
			}
		}
		if n := r.abandoned.Load(); n > 0 {
			err := ctx.Err()
			if err == nil {
				err = context.Canceled
			}
			r.closeErr = fmt.Errorf("tracking: close: %d events not written: %w", n, err)
		}
		close(r.closeDone)
		return r.closeErr
	}
	select {
	case <-r.closeDone:
		return r.closeErr
	case <-ctx.Done():
		return fmt.Errorf("tracking: close: %w", ctx.Err())
	}
}

// Stats returns a snapshot of the counters.
func (r *Recorder) Stats() RecorderStats {
	s := RecorderStats{
		Enqueued: r.enqueued.Load(),
		Written:  r.written.Load(),
		Dropped: DropCounts{
			QueueFull: r.dropFull.Load(),
			Closed:    r.dropClosed.Load(),
			Timeout:   r.dropTimeout.Load(),
		},
		Failed:             r.failed.Load(),
		Retried:            r.retried.Load(),
		QueueDepth:         len(r.queue),
		QueueCapacity:      cap(r.queue),
		QueueBytes:         r.queueBytes.Load(),
		QueueBytesCapacity: r.cfg.QueueBytes,
		Held:               r.held.Load(),
		Quarantined:        r.quarantined.Load(),
		Erased:             r.erasedN.Load(),
		Replayed:           r.replayed,
		SpoolOverflow:      r.overflow.Load(),
	}
	if s.QueueDepth > 0 {
		if t := r.lastTaken.Load(); t > 0 {
			s.OldestQueuedAge = max(time.Since(time.Unix(0, t)), 0)
		}
	}
	if r.sp != nil {
		st := r.sp.Stats()
		s.Spool = &st
	}
	r.statMu.Lock()
	s.LastFlush, s.LastError, s.LastErrorAt = r.lastFlush, r.lastErr, r.lastErrTime
	r.statMu.Unlock()
	return s
}
