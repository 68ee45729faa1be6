package metrics

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/storedriver"
)

// Store counts the failed calls of an instrumented store by operation. It
// is a prometheus.Collector; InstrumentStore returns it.
type Store struct {
	errors *prometheus.CounterVec
	byOp   map[string]prometheus.Counter
}

// storeOps are the operations counted (the store.Store methods that can
// fail, in the order of the interface, with ActivityInsertChunks and
// SyncWrites).
var storeOps = []string{
	"ActivityInsertMany", "ActivityInsertChunks", "SyncWrites", "ActivityList", "ActivityIterate", "ActivitySummary", "ActivityDistinctUsers",
	"ActivityDeleteByUser", "ActivityDeleteBefore",
	"ClientUpsert", "ReportUpsert",
	"ClientGet", "ClientList", "ReportGet", "ReportMetrics", "RecommendationCategoryCounts", "RecommendationImpactCounts",
	"ReportDailyCounts", "ReportRecent", "ClientPerformance", "CostFigures", "ReportWindowStats",
	"MetricsSnapshotUpsert", "MetricsSnapshotList", "UsageStatsUpsert", "UsageStatsList",
	"HealthSampleInsert", "HealthSampleList", "HealthSampleDeleteBefore",
	"JobRunStart", "JobRunFinish", "JobRunLatest", "JobRunList", "WeeklyReportUpsert", "WeeklyReportList",
	"Migrate", "MigrationStatus", "Ping", "Size", "Close",
	"Publish", "Subscribe", "TryLock", "WritePosition",
}

// InstrumentStore returns st wrapped so that its failed calls are counted
// in analytics_store_errors_total{op}, and the collector to register. The
// wrapper is a store.Broadcaster and a store.Locker when st is both (as
// the PostgreSQL store is), and a store.ReadRouter when st is one too. Give the wrapper to analytics.New and
// scheduler.New in place of st.
//
// A call is counted as failed when it returns an error other than
// store.ErrNotFound, store.ErrConflict, a *store.ValidationError or the
// cancellation of the caller's context: those are answers, not failures
// of the database. A call whose context deadline passed is counted.
func InstrumentStore(st store.Store) (store.Store, *Store) {
	m := &Store{
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: name("store_errors_total"),
			Help: "Store calls that failed (not-found, conflicts, invalid input and cancelled calls excluded), by operation."},
			[]string{"op"}),
		byOp: make(map[string]prometheus.Counter, len(storeOps)),
	}
	for _, op := range storeOps {
		m.byOp[op] = m.errors.WithLabelValues(op)
	}
	base := instrumented{st: st, m: m}
	b, isB := st.(store.Broadcaster)
	l, isL := st.(store.Locker)
	if isB && isL {
		cs := &clusterStore{instrumented: base, b: b, l: l}
		if rr, ok := st.(store.ReadRouter); ok {
			return &replicatedStore{clusterStore: cs, rr: rr}, m
		}
		return cs, m
	}
	return &base, m
}

// Describe implements prometheus.Collector.
func (m *Store) Describe(ch chan<- *prometheus.Desc) { m.errors.Describe(ch) }

// Collect implements prometheus.Collector.
func (m *Store) Collect(ch chan<- prometheus.Metric) { m.errors.Collect(ch) }

// note counts err against op when it is a failure, and returns it.
func (m *Store) note(ctx context.Context, op string, err error) error {
	if err == nil || errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
		return err
	}
	if _, ok := errors.AsType[*store.ValidationError](err); ok {
		return err
	}
	if errors.Is(err, context.Canceled) && errors.Is(ctx.Err(), context.Canceled) {
		return err // the caller gave up; a deadline that passed is counted (the database was too slow)
	}
	m.byOp[op].Inc()
	return err
}

// instrumented wraps every store.Store method.
type instrumented struct {
	st store.Store
	m  *Store
}

func (s *instrumented) ActivityInsertMany(ctx context.Context, a []store.Activity) error {
	return s.m.note(ctx, "ActivityInsertMany", s.st.ActivityInsertMany(ctx, a))
}

// ActivityInsertChunks writes the chunks of next with the wrapped store's
// ActivityInsertChunks when it has one (see storedriver.InsertChunks).
func (s *instrumented) ActivityInsertChunks(ctx context.Context, next func() ([]store.Activity, error)) error {
	return s.m.note(ctx, "ActivityInsertChunks", storedriver.InsertChunks(ctx, s.st, next))
}

// SyncWrites syncs the wrapped store's committed writes when it can (see
// storedriver.SyncWrites); the Recorder calls it before its spool forgets
// events.
func (s *instrumented) SyncWrites(ctx context.Context) error {
	return s.m.note(ctx, "SyncWrites", storedriver.SyncWrites(ctx, s.st))
}

func (s *instrumented) ActivityList(ctx context.Context, p store.ActivityListParams) (*store.ActivityPage, error) {
	v, err := s.st.ActivityList(ctx, p)
	return v, s.m.note(ctx, "ActivityList", err)
}

func (s *instrumented) ActivityIterate(ctx context.Context, f store.ActivityFilter, fn func(*store.Activity) error) error {
	var fnErr error
	err := s.st.ActivityIterate(ctx, f, func(a *store.Activity) error {
		fnErr = fn(a)
		return fnErr
	})
	if err != nil && fnErr != nil && errors.Is(err, fnErr) {
		return err // the caller's own error, not the store's
	}
	return s.m.note(ctx, "ActivityIterate", err)
}

func (s *instrumented) ActivitySummary(ctx context.Context, p store.ActivitySummaryParams) (*store.ActivitySummary, error) {
	v, err := s.st.ActivitySummary(ctx, p)
	return v, s.m.note(ctx, "ActivitySummary", err)
}

func (s *instrumented) ActivityDistinctUsers(ctx context.Context, since time.Time) (int64, error) {
	v, err := s.st.ActivityDistinctUsers(ctx, since)
	return v, s.m.note(ctx, "ActivityDistinctUsers", err)
}

func (s *instrumented) ActivityDeleteByUser(ctx context.Context, userID string) (int64, error) {
	v, err := s.st.ActivityDeleteByUser(ctx, userID)
	return v, s.m.note(ctx, "ActivityDeleteByUser", err)
}

func (s *instrumented) ActivityDeleteBefore(ctx context.Context, cutoff time.Time, batchSize int) (int64, error) {
	v, err := s.st.ActivityDeleteBefore(ctx, cutoff, batchSize)
	return v, s.m.note(ctx, "ActivityDeleteBefore", err)
}

func (s *instrumented) ClientUpsert(ctx context.Context, c *store.Client) error {
	return s.m.note(ctx, "ClientUpsert", s.st.ClientUpsert(ctx, c))
}

func (s *instrumented) ReportUpsert(ctx context.Context, r *store.Report) error {
	return s.m.note(ctx, "ReportUpsert", s.st.ReportUpsert(ctx, r))
}

func (s *instrumented) ReportUpsertMany(ctx context.Context, rs []*store.Report, owner string) (int, error) {
	n, err := s.st.ReportUpsertMany(ctx, rs, owner)
	return n, s.m.note(ctx, "ReportUpsertMany", err)
}

func (s *instrumented) ClientGet(ctx context.Context, id string) (*store.Client, error) {
	v, err := s.st.ClientGet(ctx, id)
	return v, s.m.note(ctx, "ClientGet", err)
}

func (s *instrumented) ReportGet(ctx context.Context, id string) (*store.Report, error) {
	v, err := s.st.ReportGet(ctx, id)
	return v, s.m.note(ctx, "ReportGet", err)
}

func (s *instrumented) ReportMetrics(ctx context.Context, p store.ReportMetricsParams) (*store.ReportMetrics, error) {
	v, err := s.st.ReportMetrics(ctx, p)
	return v, s.m.note(ctx, "ReportMetrics", err)
}

func (s *instrumented) RecommendationCategoryCounts(ctx context.Context) ([]store.CountByKey, error) {
	v, err := s.st.RecommendationCategoryCounts(ctx)
	return v, s.m.note(ctx, "RecommendationCategoryCounts", err)
}

func (s *instrumented) RecommendationImpactCounts(ctx context.Context) ([]store.CountByKey, error) {
	v, err := s.st.RecommendationImpactCounts(ctx)
	return v, s.m.note(ctx, "RecommendationImpactCounts", err)
}

func (s *instrumented) ReportDailyCounts(ctx context.Context, from, to time.Time, loc *time.Location) ([]store.ReportDayCount, error) {
	v, err := s.st.ReportDailyCounts(ctx, from, to, loc)
	return v, s.m.note(ctx, "ReportDailyCounts", err)
}

func (s *instrumented) ClientList(ctx context.Context, match string, limit, offset int) ([]store.Client, error) {
	v, err := s.st.ClientList(ctx, match, limit, offset)
	return v, s.m.note(ctx, "ClientList", err)
}

func (s *instrumented) ReportRecent(ctx context.Context, clientID string, limit int) ([]store.ReportWithClient, error) {
	v, err := s.st.ReportRecent(ctx, clientID, limit)
	return v, s.m.note(ctx, "ReportRecent", err)
}

func (s *instrumented) ClientPerformance(ctx context.Context, clientID string) (*store.ClientPerformance, error) {
	v, err := s.st.ClientPerformance(ctx, clientID)
	return v, s.m.note(ctx, "ClientPerformance", err)
}

func (s *instrumented) CostFigures(ctx context.Context, p store.CostParams) (*store.CostFigures, error) {
	v, err := s.st.CostFigures(ctx, p)
	return v, s.m.note(ctx, "CostFigures", err)
}

func (s *instrumented) ReportWindowStats(ctx context.Context, from, to time.Time) (*store.WindowStats, error) {
	v, err := s.st.ReportWindowStats(ctx, from, to)
	return v, s.m.note(ctx, "ReportWindowStats", err)
}

func (s *instrumented) MetricsSnapshotUpsert(ctx context.Context, ms *store.MetricsSnapshot) error {
	return s.m.note(ctx, "MetricsSnapshotUpsert", s.st.MetricsSnapshotUpsert(ctx, ms))
}

func (s *instrumented) MetricsSnapshotList(ctx context.Context, period store.Period, fromDay, toDay string) ([]store.MetricsSnapshot, error) {
	v, err := s.st.MetricsSnapshotList(ctx, period, fromDay, toDay)
	return v, s.m.note(ctx, "MetricsSnapshotList", err)
}

func (s *instrumented) UsageStatsUpsert(ctx context.Context, u *store.UsageStats) error {
	return s.m.note(ctx, "UsageStatsUpsert", s.st.UsageStatsUpsert(ctx, u))
}

func (s *instrumented) UsageStatsList(ctx context.Context, from, to time.Time) ([]store.UsageStats, error) {
	v, err := s.st.UsageStatsList(ctx, from, to)
	return v, s.m.note(ctx, "UsageStatsList", err)
}

func (s *instrumented) HealthSampleInsert(ctx context.Context, h *store.HealthSample) error {
	return s.m.note(ctx, "HealthSampleInsert", s.st.HealthSampleInsert(ctx, h))
}

func (s *instrumented) HealthSampleList(ctx context.Context, limit int) ([]store.HealthSample, error) {
	v, err := s.st.HealthSampleList(ctx, limit)
	return v, s.m.note(ctx, "HealthSampleList", err)
}

func (s *instrumented) HealthSampleDeleteBefore(ctx context.Context, cutoff time.Time) (int64, error) {
	v, err := s.st.HealthSampleDeleteBefore(ctx, cutoff)
	return v, s.m.note(ctx, "HealthSampleDeleteBefore", err)
}

func (s *instrumented) JobRunStart(ctx context.Context, r *store.JobRun) error {
	return s.m.note(ctx, "JobRunStart", s.st.JobRunStart(ctx, r))
}

func (s *instrumented) JobRunFinish(ctx context.Context, r *store.JobRun) error {
	return s.m.note(ctx, "JobRunFinish", s.st.JobRunFinish(ctx, r))
}

func (s *instrumented) JobRunLatest(ctx context.Context) ([]store.JobRun, error) {
	v, err := s.st.JobRunLatest(ctx)
	return v, s.m.note(ctx, "JobRunLatest", err)
}

func (s *instrumented) JobRunList(ctx context.Context, job string, limit int) ([]store.JobRun, error) {
	v, err := s.st.JobRunList(ctx, job, limit)
	return v, s.m.note(ctx, "JobRunList", err)
}

func (s *instrumented) WeeklyReportUpsert(ctx context.Context, w *store.WeeklyReport) error {
	return s.m.note(ctx, "WeeklyReportUpsert", s.st.WeeklyReportUpsert(ctx, w))
}

func (s *instrumented) WeeklyReportList(ctx context.Context, limit int) ([]store.WeeklyReport, error) {
	v, err := s.st.WeeklyReportList(ctx, limit)
	return v, s.m.note(ctx, "WeeklyReportList", err)
}

func (s *instrumented) Migrate(ctx context.Context) error {
	return s.m.note(ctx, "Migrate", s.st.Migrate(ctx))
}

func (s *instrumented) MigrationStatus(ctx context.Context) (applied, latest int, err error) {
	applied, latest, err = s.st.MigrationStatus(ctx)
	return applied, latest, s.m.note(ctx, "MigrationStatus", err)
}

func (s *instrumented) Ping(ctx context.Context) error {
	return s.m.note(ctx, "Ping", s.st.Ping(ctx))
}

func (s *instrumented) Size(ctx context.Context) (int64, error) {
	v, err := s.st.Size(ctx)
	return v, s.m.note(ctx, "Size", err)
}

func (s *instrumented) Stats() store.DBStats { return s.st.Stats() }

func (s *instrumented) Close() error { return s.m.note(context.Background(), "Close", s.st.Close()) }

// clusterStore is instrumented with the Broadcaster and Locker of a
// shared store.
type clusterStore struct {
	instrumented
	b store.Broadcaster
	l store.Locker
}

func (s *clusterStore) Publish(ctx context.Context, channel, payload string) error {
	return s.m.note(ctx, "Publish", s.b.Publish(ctx, channel, payload))
}

func (s *clusterStore) Subscribe(ctx context.Context, channel string, fn func(payload string)) (func(), error) {
	stop, err := s.b.Subscribe(ctx, channel, fn)
	return stop, s.m.note(ctx, "Subscribe", err)
}

func (s *clusterStore) TryLock(ctx context.Context, key string) (func(context.Context) error, bool, error) {
	unlock, ok, err := s.l.TryLock(ctx, key)
	return unlock, ok, s.m.note(ctx, "TryLock", err)
}

// replicatedStore is a clusterStore that reads from replicas.
type replicatedStore struct {
	*clusterStore
	rr store.ReadRouter
}

func (s *replicatedStore) WritePosition(ctx context.Context) (string, error) {
	pos, err := s.rr.WritePosition(ctx)
	return pos, s.m.note(ctx, "WritePosition", err)
}

func (s *replicatedStore) ReadAfter(ctx context.Context, pos string) context.Context {
	return s.rr.ReadAfter(ctx, pos)
}

var (
	_ store.ReadRouter  = (*replicatedStore)(nil)
	_ store.Store       = (*instrumented)(nil)
	_ store.Broadcaster = (*clusterStore)(nil)
	_ store.Locker      = (*clusterStore)(nil)
)
