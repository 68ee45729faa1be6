package tracking

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/advisoranalytics/advisor-analytics/store"
)

// Recorder defaults.
const (
	// QueueSizeDefault is the default capacity of the Recorder queue.
	QueueSizeDefault = 10_000
	// BatchSizeDefault is the default number of activities written per
	// store call.
	BatchSizeDefault = 500
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
	return nil
}

// defaultNonNegative sets the RecorderConfig field name (*v) to def when it
// is zero, and refuses a negative value.
func defaultNonNegative[T int | time.Duration](name string, v *T, def T) error {
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
	return &Recorder{
		w:       w,
		cfg:     cfg,
		log:     cfg.Logger,
		queue:   make(chan event, cfg.QueueSize),
		closing: make(chan struct{}),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),

		closeDone: make(chan struct{}),
	}, nil
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
		r.writers.Add(r.cfg.Writers)
		for range r.cfg.Writers {
			go r.runWriter()
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

// enqueue offers *ev to the queue (the channel send copies it).
func (r *Recorder) enqueue(ev *event) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed.Load() {
		r.dropClosed.Add(1)
		return false
	}
	select {
	case r.queue <- *ev:
		r.enqueued.Add(1)
		return true
	default:
	}
	if r.cfg.FullPolicy != Block {
		r.dropFull.Add(1)
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
	case <-r.closing:
		r.dropClosed.Add(1)
	}
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
		stopWatch()
		r.cancel()
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
		Failed:        r.failed.Load(),
		Retried:       r.retried.Load(),
		QueueDepth:    len(r.queue),
		QueueCapacity: cap(r.queue),
	}
	r.statMu.Lock()
	s.LastFlush, s.LastError, s.LastErrorAt = r.lastFlush, r.lastErr, r.lastErrTime
	r.statMu.Unlock()
	return s
}
