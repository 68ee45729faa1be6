// Package scheduler runs the background jobs of Advisor Analytics: the
// dashboard snapshots, the hourly report usage statistics, the retention
// clean-ups, the weekly report and the system-health samples.
//
// Every run is recorded in the store (store.JobRun) before it starts and
// finished with its outcome, error, rows affected and message. A scheduled
// run is keyed by its job and its tick — the time it fired, in UTC,
// truncated to the minute (to the second for schedules with seconds):
// "sample_system_health@2025-01-15T10:05:00Z". When several processes share
// a PostgreSQL store each tick runs once across all of them: the store's
// advisory lock (store.Locker) keeps two processes from running a job at
// the same moment, and the run key, refused a second time by the store,
// keeps a process whose clock lags from running a tick another process
// already ran. Runs started with RunNow get a key of their own and always
// run. A failed run is logged and the job runs again at its next tick; a
// job never overlaps itself (a tick that comes while it runs is skipped).
//
// Periods are computed in the reporting time zone: a day is [local
// midnight, next local midnight), which is 23 or 25 hours long across
// daylight-saving changes; weeks start on Monday; snapshots are keyed by the
// first local day of their period and upserted, so re-runs never add rows.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/google/uuid"

	"github.com/advisoranalytics/advisor-analytics/store"
)

// Errors returned by the Scheduler.
var (
	// ErrUnknownJob is returned by RunNow for a name not in JobNames.
	ErrUnknownJob = errors.New("scheduler: unknown job")
	// ErrJobRunning is returned by RunNow when the job is already running
	// in this process or, with a cluster lock, in another one.
	ErrJobRunning = errors.New("scheduler: job already running")
	// ErrClosed is returned once Close has been called.
	ErrClosed = errors.New("scheduler: closed")
)

// errDuplicateTick reports a tick another process already ran.
var errDuplicateTick = errors.New("scheduler: tick already run")

// errLockHeld reports a cluster lock held by another process.
var errLockHeld = errors.New("scheduler: lock held by another instance")

// JobInfo describes one job for the jobs route.
type JobInfo struct {
	Name        string
	Schedule    string
	Description string
	// NextRun is the next scheduled run in the reporting time zone.
	NextRun time.Time
	// LastRun is the latest recorded run (of any process), nil if none.
	LastRun *store.JobRun
}

// Scheduler runs the background jobs. Create it with New, then Start and
// Close it; RunNow, Jobs and Backfill work whether it is started or not.
// Its methods are safe for concurrent use.
type Scheduler struct {
	st     store.Store
	cfg    Config
	log    *slog.Logger
	jobs   []*jobSpec
	byName map[string]*jobSpec
	// running marks jobs running in this process (by name).
	running map[string]*atomic.Bool

	// runCtx is the parent of every run's context; cancelled when Close's
	// deadline passes.
	runCtx    context.Context
	runCancel context.CancelFunc

	mu      sync.Mutex
	started bool
	stopped bool
	runs    sync.WaitGroup
	gs      gocron.Scheduler
	gjobs   map[string]gocron.Job

	// afterRun, when set (tests), is called after every attempted
	// scheduled run with its record (nil when skipped) and error.
	afterRun func(name string, run *store.JobRun, err error)
}

// New validates cfg and returns a Scheduler over st. It starts nothing.
func New(st store.Store, cfg Config) (*Scheduler, error) {
	if st == nil {
		return nil, errors.New("scheduler: store is nil")
	}
	cfg, err := cfg.resolve(st)
	if err != nil {
		return nil, err
	}
	jobs, err := buildJobs(cfg)
	if err != nil {
		return nil, err
	}
	s := &Scheduler{
		st:      st,
		cfg:     cfg,
		log:     cfg.Logger.With("component", "scheduler"),
		jobs:    jobs,
		byName:  make(map[string]*jobSpec, len(jobs)),
		running: make(map[string]*atomic.Bool, len(jobs)),
	}
	for _, j := range jobs {
		s.byName[j.name] = j
		s.running[j.name] = new(atomic.Bool)
	}
	s.runCtx, s.runCancel = context.WithCancel(context.Background())
	return s, nil
}

// Start schedules the jobs and returns. Calling it again is a no-op; after
// Close it returns ErrClosed. ctx is not retained: use Close to end the
// scheduler.
func (s *Scheduler) Start(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("scheduler: start: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return ErrClosed
	}
	if s.started {
		return nil
	}
	opts := []gocron.SchedulerOption{
		gocron.WithLocation(s.cfg.Location),
		gocron.WithLogger(gocronLogger{s.log}),
		gocron.WithStopTimeout(shutdownTimeout),
	}
	if s.cfg.Locker != nil {
		opts = append(opts, gocron.WithDistributedLocker(lockerAdapter{s.cfg.Locker}))
	}
	gs, err := gocron.NewScheduler(opts...)
	if err != nil {
		return fmt.Errorf("scheduler: start: %w", err)
	}
	gjobs := make(map[string]gocron.Job, len(s.jobs))
	for _, j := range s.jobs {
		gj, err := gs.NewJob(
			gocron.CronJob(j.schedule, j.withSeconds),
			gocron.NewTask(s.scheduledRun, j),
			gocron.WithName(j.name),
			gocron.WithSingletonMode(gocron.LimitModeReschedule),
			gocron.WithDaylightSavingsTimePolicy(gocron.DaylightSavingsTimeRunAfterTransition),
			gocron.WithEventListeners(gocron.AfterLockError(s.lockError)),
		)
		if err != nil {
			_ = gs.Shutdown()
			return fmt.Errorf("scheduler: start: register %s: %w", j.name, err)
		}
		gjobs[j.name] = gj
	}
	gs.Start()
	s.gs, s.gjobs, s.started = gs, gjobs, true
	s.log.Info("scheduler started", "instance", s.cfg.Instance, "location", s.cfg.Location.String(),
		"jobs", len(s.jobs), "cluster_lock", s.cfg.Locker != nil)
	return nil
}

// Close stops scheduling and waits for running jobs to finish, within ctx's
// deadline. When ctx ends first, the running jobs' contexts are cancelled,
// Close waits briefly for them to record their outcome and returns an error
// wrapping ctx.Err(). Calling Close again is a no-op.
func (s *Scheduler) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return nil
	}
	s.stopped = true
	gs := s.gs
	s.mu.Unlock()

	done := make(chan struct{})
	go func() {
		s.runs.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("scheduler: stop: %w", ctx.Err())
		s.runCancel()
		t := time.NewTimer(stopGrace)
		select {
		case <-done:
		case <-t.C:
		}
		t.Stop()
	}
	s.runCancel()
	if gs != nil {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
		defer cancel()
		if serr := gs.ShutdownWithContext(sctx); serr != nil && err == nil {
			err = fmt.Errorf("scheduler: stop: %w", serr)
		}
	}
	return err
}

// enter registers a run unless the scheduler is stopping.
func (s *Scheduler) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return false
	}
	s.runs.Add(1)
	return true
}

// scheduledRun is the task gocron runs at each tick of j.
func (s *Scheduler) scheduledRun(j *jobSpec) {
	if !s.enter() {
		return
	}
	defer s.runs.Done()
	slot := s.cfg.NowFunc().UTC().Truncate(j.granularity)
	key := j.name + "@" + slot.Format(time.RFC3339)
	run, err := s.execute(s.runCtx, j, key, slot, slot)
	switch {
	case errors.Is(err, errDuplicateTick):
		s.log.Debug("tick already run by another instance", "job", j.name, "run_key", key)
	case errors.Is(err, ErrJobRunning):
		s.log.Info("job skipped: previous run still running", "job", j.name, "run_key", key)
	case err != nil:
		s.log.Error("job failed; it runs again at its next tick", "job", j.name, "run_key", key, "error", err)
	default:
		s.log.Info("job succeeded", "job", j.name, "run_key", key,
			"rows_affected", run.RowsAffected, "message", run.Message, "duration", run.Duration())
	}
	if s.afterRun != nil {
		s.afterRun(j.name, run, err)
	}
}

// lockError logs a tick skipped because the cluster lock was not taken.
func (s *Scheduler) lockError(_ uuid.UUID, name string, err error) {
	if errors.Is(err, errLockHeld) {
		s.log.Debug("tick run by another instance", "job", name)
		return
	}
	s.log.Warn("job skipped: cluster lock unavailable", "job", name, "error", err)
	if s.afterRun != nil {
		s.afterRun(name, nil, err)
	}
}

// RunNow runs the named job once, now, and returns its run record. It
// respects the single-run rule (ErrJobRunning when the job is running here
// or, with a cluster lock, elsewhere). A job that fails returns its record
// (outcome failed) together with the error.
func (s *Scheduler) RunNow(ctx context.Context, name string) (*store.JobRun, error) {
	j, ok := s.byName[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownJob, name)
	}
	if !s.enter() {
		return nil, ErrClosed
	}
	defer s.runs.Done()
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(s.runCtx, cancel)
	defer stop()

	if s.cfg.Locker != nil {
		unlock, ok, err := s.cfg.Locker.TryLock(rctx, lockKeyPrefix+name)
		if err != nil {
			return nil, fmt.Errorf("scheduler: run %s: lock: %w", name, err)
		}
		if !ok {
			return nil, fmt.Errorf("%w: %s (its cluster lock is held)", ErrJobRunning, name)
		}
		defer func() { _ = lockRelease(unlock).Unlock(rctx) }()
	}
	now := s.cfg.NowFunc()
	key := name + "@manual@" + now.UTC().Format(time.RFC3339Nano) + "@" + store.NewID()
	run, err := s.execute(rctx, j, key, now.UTC(), now)
	if errors.Is(err, ErrJobRunning) {
		return nil, fmt.Errorf("%w: %s", ErrJobRunning, name)
	}
	return run, err
}

// StartRun starts the named job once, now, in the background, and returns
// its run record as started (outcome running); the run is recorded,
// logged and observed like a scheduled one, and Close waits for it. The
// checks of RunNow are made before it returns: ErrUnknownJob, ErrClosed,
// and ErrJobRunning when the job is running here or, with a cluster lock,
// in another process. ctx bounds these checks only: the run itself ends
// with its job, or when Close's deadline passes.
func (s *Scheduler) StartRun(ctx context.Context, name string) (*store.JobRun, error) {
	j, ok := s.byName[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownJob, name)
	}
	if !s.enter() {
		return nil, ErrClosed
	}
	var unlock lockRelease
	if s.cfg.Locker != nil {
		u, ok, err := s.cfg.Locker.TryLock(ctx, lockKeyPrefix+name)
		if err != nil {
			s.runs.Done()
			return nil, fmt.Errorf("scheduler: run %s: lock: %w", name, err)
		}
		if !ok {
			s.runs.Done()
			return nil, fmt.Errorf("%w: %s (its cluster lock is held)", ErrJobRunning, name)
		}
		unlock = lockRelease(u)
	}
	now := s.cfg.NowFunc()
	key := name + "@manual@" + now.UTC().Format(time.RFC3339Nano) + "@" + store.NewID()
	run, err := s.begin(ctx, j, key, now.UTC())
	if err != nil {
		if unlock != nil {
			_ = unlock.Unlock(ctx)
		}
		s.runs.Done()
		if errors.Is(err, ErrJobRunning) {
			return nil, fmt.Errorf("%w: %s", ErrJobRunning, name)
		}
		return nil, err
	}
	started := *run
	go func() {
		defer s.runs.Done()
		if unlock != nil {
			defer func() { _ = unlock.Unlock(s.runCtx) }()
		}
		err := s.finish(s.runCtx, j, run, now)
		if err != nil {
			s.log.Error("job run on demand failed", "job", name, "run_key", key, "error", err)
		} else {
			s.log.Info("job run on demand succeeded", "job", name, "run_key", key,
				"rows_affected", run.RowsAffected, "message", run.Message, "duration", run.Duration())
		}
		if s.afterRun != nil {
			s.afterRun(name, run, err)
		}
	}()
	return &started, nil
}

// execute runs j once under the run key, recording the run. ref is the
// time the job computes its periods from.
func (s *Scheduler) execute(ctx context.Context, j *jobSpec, key string, scheduledAt, ref time.Time) (*store.JobRun, error) {
	run, err := s.begin(ctx, j, key, scheduledAt)
	if err != nil {
		return nil, err
	}
	return run, s.finish(ctx, j, run, ref)
}

// begin marks j running in this process and records the start of its run
// under key. On success the caller must call finish.
func (s *Scheduler) begin(ctx context.Context, j *jobSpec, key string, scheduledAt time.Time) (*store.JobRun, error) {
	flag := s.running[j.name]
	if !flag.CompareAndSwap(false, true) {
		return nil, ErrJobRunning
	}
	run := &store.JobRun{
		ID:          store.NewID(),
		Job:         j.name,
		RunKey:      key,
		ScheduledAt: scheduledAt.UTC(),
		StartedAt:   s.cfg.NowFunc().UTC(),
		Outcome:     store.JobRunning,
		Instance:    s.cfg.Instance,
	}
	if err := s.st.JobRunStart(ctx, run); err != nil {
		flag.Store(false)
		if errors.Is(err, store.ErrConflict) {
			return nil, errDuplicateTick
		}
		return nil, fmt.Errorf("scheduler: %s: record start: %w", j.name, err)
	}
	return run, nil
}

// finish runs the job of a run begin started, records its outcome in run
// and clears the running mark.
func (s *Scheduler) finish(ctx context.Context, j *jobSpec, run *store.JobRun, ref time.Time) error {
	defer s.running[j.name].Store(false)
	res, err := s.call(ctx, j, ref.In(s.cfg.Location))

	finished := s.cfg.NowFunc().UTC()
	run.FinishedAt = &finished
	run.RowsAffected = res.rows
	run.Message = res.message
	run.Outcome = store.JobSucceeded
	if err != nil {
		err = fmt.Errorf("scheduler: %s: %w", j.name, err)
		run.Outcome = store.JobFailed
		run.Error = err.Error()
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer cancel()
	if ferr := s.st.JobRunFinish(fctx, run); ferr != nil {
		err = errors.Join(err, fmt.Errorf("scheduler: %s: record finish: %w", j.name, ferr))
	}
	if s.cfg.Observe != nil {
		s.cfg.Observe(*run)
	}
	return err
}

// call runs the job's function, turning a panic into an error.
func (s *Scheduler) call(ctx context.Context, j *jobSpec, ref time.Time) (res result, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return j.run(ctx, s, ref)
}

// Jobs describes every job with its next and latest run.
func (s *Scheduler) Jobs(ctx context.Context) ([]JobInfo, error) {
	latest, err := s.st.JobRunLatest(ctx)
	if err != nil {
		return nil, fmt.Errorf("scheduler: list jobs: %w", err)
	}
	last := make(map[string]store.JobRun, len(latest))
	for _, r := range latest {
		last[r.Job] = r
	}
	s.mu.Lock()
	gjobs := s.gjobs
	stopped := s.stopped
	s.mu.Unlock()
	now := s.cfg.NowFunc()
	out := make([]JobInfo, 0, len(s.jobs))
	for _, j := range s.jobs {
		info := JobInfo{Name: j.name, Schedule: j.schedule, Description: j.description}
		if gj, ok := gjobs[j.name]; ok && !stopped {
			if next, err := gj.NextRun(); err == nil && !next.IsZero() {
				info.NextRun = next.In(s.cfg.Location)
			}
		}
		if info.NextRun.IsZero() {
			info.NextRun = j.cron.Next(now.In(s.cfg.Location)).In(s.cfg.Location)
		}
		if r, ok := last[j.name]; ok {
			info.LastRun = &r
		}
		out = append(out, info)
	}
	return out, nil
}

// Backfill computes and upserts the daily snapshot of every local calendar
// day from fromDay to toDay inclusive (their Date in their own location is
// used), plus the weekly and monthly snapshots of the periods those days
// touch. progress, when not nil, is called after each snapshot with the
// number done and the total.
func (s *Scheduler) Backfill(ctx context.Context, fromDay, toDay time.Time, progress func(done, total int)) error {
	loc := s.cfg.Location
	fy, fm, fd := fromDay.Date()
	ty, tm, td := toDay.Date()
	first := civilNoon(fy, fm, fd, loc)
	last := civilNoon(ty, tm, td, loc)
	if last.Before(first) {
		return fmt.Errorf("scheduler: backfill: toDay %s is before fromDay %s", last.Format(dateLayout), first.Format(dateLayout))
	}
	var spans []span
	seen := map[string]bool{}
	add := func(sp span) {
		k := string(sp.period) + sp.startDay
		if !seen[k] {
			seen[k] = true
			spans = append(spans, sp)
		}
	}
	var weeks, months []span
	for d := first; !d.After(last); {
		y, m, dd := d.Date()
		add(periodOf(store.PeriodDaily, y, m, dd, loc))
		weeks = append(weeks, periodOf(store.PeriodWeekly, y, m, dd, loc))
		months = append(months, periodOf(store.PeriodMonthly, y, m, dd, loc))
		d = civilNoon(y, m, dd+1, loc)
	}
	for _, w := range weeks {
		add(w)
	}
	for _, m := range months {
		add(m)
	}
	for i, sp := range spans {
		if err := s.upsertSnapshot(ctx, sp); err != nil {
			return fmt.Errorf("scheduler: backfill: %w", err)
		}
		if progress != nil {
			progress(i+1, len(spans))
		}
	}
	return nil
}

// lockerAdapter implements gocron's Locker on a store.Locker.
type lockerAdapter struct{ l store.Locker }

// Lock takes the job's cluster lock without waiting.
func (a lockerAdapter) Lock(ctx context.Context, key string) (gocron.Lock, error) {
	unlock, ok, err := a.l.TryLock(ctx, lockKeyPrefix+key)
	if err != nil {
		return nil, fmt.Errorf("scheduler: lock %s: %w", key, err)
	}
	if !ok {
		return nil, errLockHeld
	}
	return lockRelease(unlock), nil
}

// lockRelease implements gocron's Lock.
type lockRelease func(context.Context) error

// Unlock releases the lock, even when ctx is already cancelled (a lock left
// held would block the job on every other process).
func (u lockRelease) Unlock(ctx context.Context) error {
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer cancel()
	return u(uctx)
}

// gocronLogger passes gocron's warnings and errors to slog and demotes its
// informational messages to debug.
type gocronLogger struct{ l *slog.Logger }

func (g gocronLogger) Debug(msg string, args ...any) { g.l.Debug(msg, args...) }
func (g gocronLogger) Info(msg string, args ...any)  { g.l.Debug(msg, args...) }
func (g gocronLogger) Warn(msg string, args ...any)  { g.l.Warn(msg, args...) }
func (g gocronLogger) Error(msg string, args ...any) { g.l.Error(msg, args...) }
