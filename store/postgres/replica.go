package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/advisoranalytics/advisor-analytics/internal/periodic"
	"github.com/advisoranalytics/advisor-analytics/store"
)

// Defaults of ReplicaConfig.
const (
	ReplicaMaxLagDefault        = 5 * time.Second
	ReplicaCheckIntervalDefault = time.Second
)

// ReplicaConfig configures the hot standbys of OpenReplicated.
type ReplicaConfig struct {
	// URLs are the standbys' connection URLs (the same database and
	// search_path as the primary's).
	URLs []string
	// MaxLag is how far behind the primary a standby may be and still
	// serve reads. Defaults to ReplicaMaxLagDefault.
	MaxLag time.Duration
	// CheckInterval is how often each standby's replay position is read.
	// Defaults to ReplicaCheckIntervalDefault.
	CheckInterval time.Duration
}

// ReplicaStatus is the state of one standby as last checked.
type ReplicaStatus struct {
	Name    string        // host, port and database, without credentials
	Healthy bool          // serving reads
	Lag     time.Duration // how far behind the primary it was
	Reads   int64         // reads it has served
	Err     string        // why it is not healthy
}

// Replicated is a Store whose analytics reads go to hot standbys
// (PostgreSQL streaming replicas) while every write, lock, notification
// and migration goes to the primary. A read goes to the least busy standby
// whose lag is within MaxLag and, for a context from ReadAfter, that has
// replayed the given position; otherwise, or when the standby fails, to
// the primary. Reads that decide a write (ClientGet, ReportGet) and the
// job runs stay on the primary. It is safe for concurrent use.
type Replicated struct {
	*Store
	replicas []*replica
	maxLag   time.Duration
	interval time.Duration
	cancel   context.CancelFunc
	done     chan struct{}

	mu      sync.Mutex
	samples []lsnSample // the primary's recent positions, oldest first
}

// Compile-time checks.
var (
	_ store.Store       = (*Replicated)(nil)
	_ store.ReadRouter  = (*Replicated)(nil)
	_ store.Broadcaster = (*Replicated)(nil)
	_ store.Locker      = (*Replicated)(nil)
)

type replica struct {
	st   *Store
	name string
	busy atomic.Int64
	hits atomic.Int64

	mu       sync.Mutex
	healthy  bool
	replayed lsn
	lag      time.Duration
	err      string
}

// lsn is a PostgreSQL WAL location.
type lsn uint64

// parseLSN reads a WAL location as PostgreSQL prints it ("16/B374D848").
func parseLSN(s string) (lsn, error) {
	hi, lo, ok := strings.Cut(s, "/")
	h, err1 := strconv.ParseUint(hi, 16, 32)
	l, err2 := strconv.ParseUint(lo, 16, 32)
	if !ok || err1 != nil || err2 != nil {
		return 0, fmt.Errorf("not a WAL location: %q", s)
	}
	return lsn(h<<32 | l), nil
}

func (l lsn) String() string { return fmt.Sprintf("%X/%X", uint64(l)>>32, uint64(l)&0xFFFFFFFF) }

type lsnSample struct {
	at  time.Time
	pos lsn
}

// OpenReplicated opens the primary at primaryURL as Open does, and the
// standbys of rc for reads. A standby that cannot be reached is skipped
// until it can. Close closes them all.
func OpenReplicated(ctx context.Context, primaryURL string, cfg Config, rc ReplicaConfig) (*Replicated, error) {
	if rc.MaxLag < 0 || rc.CheckInterval < 0 {
		return nil, fmt.Errorf("postgres: open: %w", errors.New("replica max lag and check interval must not be negative"))
	}
	primary, err := Open(ctx, primaryURL, cfg)
	if err != nil {
		return nil, err
	}
	r := &Replicated{Store: primary, maxLag: rc.MaxLag, interval: rc.CheckInterval, done: make(chan struct{})}
	if r.maxLag == 0 {
		r.maxLag = ReplicaMaxLagDefault
	}
	if r.interval == 0 {
		r.interval = ReplicaCheckIntervalDefault
	}
	c := cfg
	c.SkipMigrate = true
	if err := c.setDefaults(); err != nil {
		_ = r.Close()
		return nil, fmt.Errorf("postgres: open replica: %w", err)
	}
	for _, u := range rc.URLs {
		st, err := connect(u, c)
		if err != nil {
			_ = r.Close()
			return nil, fmt.Errorf("postgres: open replica %s: %w", replicaName(u), err)
		}
		st.schema = primary.schema
		r.replicas = append(r.replicas, &replica{st: st, name: replicaName(u), err: "not checked yet"})
	}
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r.cancel = cancel
	r.check(bg)
	go r.watch(bg)
	return r, nil
}

// replicaName is a URL without its credentials: host, port and database.
func replicaName(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "replica"
	}
	return u.Host + u.Path
}

// Close stops the checks and closes the standbys and the primary.
func (r *Replicated) Close() error {
	if r.cancel != nil {
		r.cancel()
		<-r.done
		r.cancel = nil
	}
	var errs []error
	for _, rep := range r.replicas {
		errs = append(errs, rep.st.Close())
	}
	errs = append(errs, r.Store.Close())
	return errors.Join(errs...)
}

// Replicas reports the standbys' state.
func (r *Replicated) Replicas() []ReplicaStatus {
	out := make([]ReplicaStatus, len(r.replicas))
	for i, rep := range r.replicas {
		rep.mu.Lock()
		out[i] = ReplicaStatus{Name: rep.name, Healthy: rep.healthy, Lag: rep.lag, Reads: rep.hits.Load(), Err: rep.err}
		rep.mu.Unlock()
	}
	return out
}

// Stats describes the primary's connection pool and the standbys.
func (r *Replicated) Stats() store.DBStats {
	st := r.Store.Stats()
	for _, rs := range r.Replicas() {
		st.Replicas++
		if rs.Healthy {
			st.ReplicasHealthy++
		}
	}
	return st
}

// watch checks the standbys every interval until ctx ends.
func (r *Replicated) watch(ctx context.Context) {
	defer close(r.done)
	periodic.Run(ctx, r.interval, r.check)
}

// check reads the primary's position and each standby's replay position
// and decides which standbys serve reads.
func (r *Replicated) check(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, max(r.interval, time.Second))
	defer cancel()
	now := time.Now()
	if text, err := r.walPosition(ctx, "pg_current_wal_lsn"); err == nil {
		if pos, err := parseLSN(text); err == nil {
			r.mu.Lock()
			r.samples = append(r.samples, lsnSample{now, pos})
			// Keep what the lag bound needs, and some.
			if keep := int(r.maxLag/r.interval) + 8; len(r.samples) > keep {
				r.samples = append(r.samples[:0], r.samples[len(r.samples)-keep:]...)
			}
			r.mu.Unlock()
		}
	}
	for _, rep := range r.replicas {
		var replay sql.NullString
		var recovering bool
		err := rep.st.db.QueryRowContext(ctx, `SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text`).Scan(&recovering, &replay)
		var pos lsn
		if err == nil && replay.Valid {
			pos, err = parseLSN(replay.String)
		}
		// A standby that has replayed nothing yet has no position (0);
		// only a server out of recovery is never behind.
		notStandby := err == nil && !recovering
		lag, behind := r.lagOf(pos, notStandby, now)
		rep.mu.Lock()
		wasHealthy := rep.healthy
		switch {
		case err != nil:
			rep.healthy, rep.err = false, err.Error()
		case behind:
			rep.healthy, rep.err = false, fmt.Sprintf("lags %s behind the primary (more than %s)", lag.Round(time.Millisecond), r.maxLag)
		default:
			rep.healthy, rep.err = true, ""
		}
		rep.replayed, rep.lag = pos, lag
		if notStandby {
			rep.replayed = ^lsn(0) // not in recovery: a primary, never behind
		}
		healthy, why := rep.healthy, rep.err
		rep.mu.Unlock()
		if wasHealthy != healthy {
			r.log.InfoContext(ctx, "postgres: replica state changed", "replica", rep.name, "healthy", healthy, "reason", why)
		}
	}
}

// lagOf is how far a standby that has replayed pos is behind the primary:
// the time since the newest sample of the primary's position it has
// reached. behind reports a lag over MaxLag.
func (r *Replicated) lagOf(pos lsn, notStandby bool, now time.Time) (lag time.Duration, behind bool) {
	if notStandby {
		return 0, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.samples) == 0 {
		return 0, true
	}
	for i := len(r.samples) - 1; i >= 0; i-- {
		if r.samples[i].pos <= pos {
			if i == len(r.samples)-1 {
				return 0, false
			}
			// Caught up with sample i but not with i+1: behind since then.
			lag = now.Sub(r.samples[i+1].at)
			return lag, lag > r.maxLag
		}
	}
	lag = now.Sub(r.samples[0].at)
	return lag, lag > r.maxLag || len(r.samples) < 2
}

// readAfterKey is the context key of ReadAfter.
type readAfterKey struct{}

// WritePosition returns the primary's current WAL insert location: every
// write committed so far is at or before it. (Not pg_current_wal_lsn, the
// location written out so far: with synchronous_commit off a transaction
// returns before its commit record is written, so a standby that has
// replayed up to that location may not see the transaction yet.)
func (r *Replicated) WritePosition(ctx context.Context) (string, error) {
	return r.walPosition(ctx, "pg_current_wal_insert_lsn")
}

// walPosition returns the primary's WAL location that fn gives. The lag of
// standbys is measured against pg_current_wal_lsn, the location written
// out so far: the most a standby can have received.
func (r *Replicated) walPosition(ctx context.Context, fn string) (string, error) {
	var text string
	if err := r.Store.db.QueryRowContext(ctx, "SELECT "+fn+"()::text").Scan(&text); err != nil {
		return "", r.wrap(ctx, "read the WAL position", err)
	}
	return text, nil
}

// ReadAfter returns a context whose reads see every write up to pos (from
// WritePosition). An invalid pos sends them to the primary.
func (r *Replicated) ReadAfter(ctx context.Context, pos string) context.Context {
	p, err := parseLSN(pos)
	if err != nil {
		p = ^lsn(0)
	}
	if old, ok := ctx.Value(readAfterKey{}).(lsn); ok && old >= p {
		return ctx
	}
	return context.WithValue(ctx, readAfterKey{}, p)
}

// pick returns the standby for a read of ctx, nil for the primary.
func (r *Replicated) pick(ctx context.Context) *replica {
	after, _ := ctx.Value(readAfterKey{}).(lsn)
	var best *replica
	for _, rep := range r.replicas {
		rep.mu.Lock()
		ok := rep.healthy && rep.replayed >= after
		rep.mu.Unlock()
		if ok && (best == nil || rep.busy.Load() < best.busy.Load()) {
			best = rep
		}
	}
	return best
}

// read runs fn on a standby, or on the primary when none fits or the
// standby fails for another reason than the read itself.
func read[T any](r *Replicated, ctx context.Context, fn func(*Store) (T, error)) (T, error) {
	if rep := r.pick(ctx); rep != nil {
		rep.busy.Add(1)
		v, err := fn(rep.st)
		rep.busy.Add(-1)
		if err == nil || !failover(ctx, err) {
			rep.hits.Add(1)
			return v, err
		}
		rep.mu.Lock()
		rep.healthy, rep.err = false, err.Error()
		rep.mu.Unlock()
		r.log.WarnContext(ctx, "postgres: replica read failed; reading from the primary", "replica", rep.name, "err", err)
	}
	return fn(r.Store)
}

// failover reports whether a failed read is worth repeating on the
// primary: not when the caller gave up or the read itself was refused.
func failover(ctx context.Context, err error) bool {
	if _, ok := errors.AsType[callerError](err); ok || ctx.Err() != nil || errors.Is(err, store.ErrNotFound) {
		return false
	}
	_, invalid := errors.AsType[*store.ValidationError](err)
	return !invalid
}

// The analytics reads, routed by read.

func (r *Replicated) ActivityList(ctx context.Context, p store.ActivityListParams) (*store.ActivityPage, error) {
	return read(r, ctx, func(s *Store) (*store.ActivityPage, error) { return s.ActivityList(ctx, p) })
}

// ActivityIterate reads from one place from start to end: it moves to the
// primary only if the standby fails before fn has seen a row, and fn's own
// errors are returned as they are.
func (r *Replicated) ActivityIterate(ctx context.Context, f store.ActivityFilter, fn func(*store.Activity) error) error {
	seen := false
	_, err := read(r, ctx, func(s *Store) (struct{}, error) {
		err := s.ActivityIterate(ctx, f, func(a *store.Activity) error {
			seen = true
			if err := fn(a); err != nil {
				return callerError{err}
			}
			return nil
		})
		if err != nil && seen {
			err = callerError{err} // part of the rows went to fn: not repeated
		}
		return struct{}{}, err
	})
	if ce, ok := errors.AsType[callerError](err); ok {
		return ce.error
	}
	return err
}

// callerError is an error a read must not be repeated for.
type callerError struct{ error }

func (e callerError) Unwrap() error { return e.error }

func (r *Replicated) ActivitySummary(ctx context.Context, p store.ActivitySummaryParams) (*store.ActivitySummary, error) {
	return read(r, ctx, func(s *Store) (*store.ActivitySummary, error) { return s.ActivitySummary(ctx, p) })
}

func (r *Replicated) ActivityDistinctUsers(ctx context.Context, since time.Time) (int64, error) {
	return read(r, ctx, func(s *Store) (int64, error) { return s.ActivityDistinctUsers(ctx, since) })
}

func (r *Replicated) ReportMetrics(ctx context.Context, p store.ReportMetricsParams) (*store.ReportMetrics, error) {
	return read(r, ctx, func(s *Store) (*store.ReportMetrics, error) { return s.ReportMetrics(ctx, p) })
}

func (r *Replicated) RecommendationCategoryCounts(ctx context.Context) ([]store.CountByKey, error) {
	return read(r, ctx, func(s *Store) ([]store.CountByKey, error) { return s.RecommendationCategoryCounts(ctx) })
}

func (r *Replicated) RecommendationImpactCounts(ctx context.Context) ([]store.CountByKey, error) {
	return read(r, ctx, func(s *Store) ([]store.CountByKey, error) { return s.RecommendationImpactCounts(ctx) })
}

func (r *Replicated) ReportDailyCounts(ctx context.Context, from, to time.Time, loc *time.Location) ([]store.ReportDayCount, error) {
	return read(r, ctx, func(s *Store) ([]store.ReportDayCount, error) { return s.ReportDailyCounts(ctx, from, to, loc) })
}

func (r *Replicated) ClientList(ctx context.Context, match string, limit, offset int) ([]store.Client, error) {
	return read(r, ctx, func(s *Store) ([]store.Client, error) { return s.ClientList(ctx, match, limit, offset) })
}

func (r *Replicated) ReportRecent(ctx context.Context, clientID string, limit int) ([]store.ReportWithClient, error) {
	return read(r, ctx, func(s *Store) ([]store.ReportWithClient, error) { return s.ReportRecent(ctx, clientID, limit) })
}

func (r *Replicated) ClientPerformance(ctx context.Context, clientID string) (*store.ClientPerformance, error) {
	return read(r, ctx, func(s *Store) (*store.ClientPerformance, error) { return s.ClientPerformance(ctx, clientID) })
}

func (r *Replicated) CostFigures(ctx context.Context, p store.CostParams) (*store.CostFigures, error) {
	return read(r, ctx, func(s *Store) (*store.CostFigures, error) { return s.CostFigures(ctx, p) })
}

func (r *Replicated) ReportWindowStats(ctx context.Context, from, to time.Time) (*store.WindowStats, error) {
	return read(r, ctx, func(s *Store) (*store.WindowStats, error) { return s.ReportWindowStats(ctx, from, to) })
}

func (r *Replicated) MetricsSnapshotList(ctx context.Context, period store.Period, fromDay, toDay string) ([]store.MetricsSnapshot, error) {
	return read(r, ctx, func(s *Store) ([]store.MetricsSnapshot, error) {
		return s.MetricsSnapshotList(ctx, period, fromDay, toDay)
	})
}

func (r *Replicated) UsageStatsList(ctx context.Context, from, to time.Time) ([]store.UsageStats, error) {
	return read(r, ctx, func(s *Store) ([]store.UsageStats, error) { return s.UsageStatsList(ctx, from, to) })
}

func (r *Replicated) HealthSampleList(ctx context.Context, limit int) ([]store.HealthSample, error) {
	return read(r, ctx, func(s *Store) ([]store.HealthSample, error) { return s.HealthSampleList(ctx, limit) })
}

func (r *Replicated) WeeklyReportList(ctx context.Context, limit int) ([]store.WeeklyReport, error) {
	return read(r, ctx, func(s *Store) ([]store.WeeklyReport, error) { return s.WeeklyReportList(ctx, limit) })
}
