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

// outcome is a store call's value and error, for note.
type outcome[T any] struct {
	v   T
	err error
}

// counted returns the outcome of a call, as in counted(st.ClientGet(ctx, id)).
func counted[T any](v T, err error) outcome[T] { return outcome[T]{v, err} }

// note counts the outcome's error against op (see Store.note) and returns
// the outcome.
func (o outcome[T]) note(ctx context.Context, m *Store, op string) (T, error) {
	return o.v, m.note(ctx, op, o.err)
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
	return counted(s.st.ActivityList(ctx, p)).note(ctx, s.m, "ActivityList")
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
	return counted(s.st.ActivitySummary(ctx, p)).note(ctx, s.m, "ActivitySummary")
}

func (s *instrumented) ActivityDistinctUsers(ctx context.Context, since time.Time) (int64, error) {
	return counted(s.st.ActivityDistinctUsers(ctx, since)).note(ctx, s.m, "ActivityDistinctUsers")
}

func (s *instrumented) ActivityDeleteByUser(ctx context.Context, userID string) (int64, error) {
	return counted(s.st.ActivityDeleteByUser(ctx, userID)).note(ctx, s.m, "ActivityDeleteByUser")
}

func (s *instrumented) ActivityDeleteBefore(ctx context.Context, cutoff time.Time, batchSize int) (int64, error) {
	return counted(s.st.ActivityDeleteBefore(ctx, cutoff, batchSize)).note(ctx, s.m, "ActivityDeleteBefore")
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
	return counted(s.st.ClientGet(ctx, id)).note(ctx, s.m, "ClientGet")
}

func (s *instrumented) ReportGet(ctx context.Context, id string) (*store.Report, error) {
	return counted(s.st.ReportGet(ctx, id)).note(ctx, s.m, "ReportGet")
}

func (s *instrumented) ReportMetrics(ctx context.Context, p store.ReportMetricsParams) (*store.ReportMetrics, error) {
	return counted(s.st.ReportMetrics(ctx, p)).note(ctx, s.m, "ReportMetrics")
}

func (s *instrumented) RecommendationCategoryCounts(ctx context.Context) ([]store.CountByKey, error) {
	return counted(s.st.RecommendationCategoryCounts(ctx)).note(ctx, s.m, "RecommendationCategoryCounts")
}

func (s *instrumented) RecommendationImpactCounts(ctx context.Context) ([]store.CountByKey, error) {
	return counted(s.st.RecommendationImpactCounts(ctx)).note(ctx, s.m, "RecommendationImpactCounts")
}

func (s *instrumented) ReportDailyCounts(ctx context.Context, from, to time.Time, loc *time.Location) ([]store.ReportDayCount, error) {
	return counted(s.st.ReportDailyCounts(ctx, from, to, loc)).note(ctx, s.m, "ReportDailyCounts")
}

func (s *instrumented) ClientList(ctx context.Context, match string, limit, offset int) ([]store.Client, error) {
	return counted(s.st.ClientList(ctx, match, limit, offset)).note(ctx, s.m, "ClientList")
}

func (s *instrumented) ReportRecent(ctx context.Context, clientID string, limit int) ([]store.ReportWithClient, error) {
	return counted(s.st.ReportRecent(ctx, clientID, limit)).note(ctx, s.m, "ReportRecent")
}

func (s *instrumented) ClientPerformance(ctx context.Context, clientID string) (*store.ClientPerformance, error) {
	return counted(s.st.ClientPerformance(ctx, clientID)).note(ctx, s.m, "ClientPerformance")
}

func (s *instrumented) CostFigures(ctx context.Context, p store.CostParams) (*store.CostFigures, error) {
	return counted(s.st.CostFigures(ctx, p)).note(ctx, s.m, "CostFigures")
}

func (s *instrumented) ReportWindowStats(ctx context.Context, from, to time.Time) (*store.WindowStats, error) {
	return counted(s.st.ReportWindowStats(ctx, from, to)).note(ctx, s.m, "ReportWindowStats")
}

func (s *instrumented) MetricsSnapshotUpsert(ctx context.Context, ms *store.MetricsSnapshot) error {
	return s.m.note(ctx, "MetricsSnapshotUpsert", s.st.MetricsSnapshotUpsert(ctx, ms))
}

func (s *instrumented) MetricsSnapshotList(ctx context.Context, period store.Period, fromDay, toDay string) ([]store.MetricsSnapshot, error) {
	return counted(s.st.MetricsSnapshotList(ctx, period, fromDay, toDay)).note(ctx, s.m, "MetricsSnapshotList")
}

func (s *instrumented) UsageStatsUpsert(ctx context.Context, u *store.UsageStats) error {
	return s.m.note(ctx, "UsageStatsUpsert", s.st.UsageStatsUpsert(ctx, u))
}

func (s *instrumented) UsageStatsList(ctx context.Context, from, to time.Time) ([]store.UsageStats, error) {
	return counted(s.st.UsageStatsList(ctx, from, to)).note(ctx, s.m, "UsageStatsList")
}

func (s *instrumented) HealthSampleInsert(ctx context.Context, h *store.HealthSample) error {
	return s.m.note(ctx, "HealthSampleInsert", s.st.HealthSampleInsert(ctx, h))
}

func (s *instrumented) HealthSampleList(ctx context.Context, limit int) ([]store.HealthSample, error) {
	return counted(s.st.HealthSampleList(ctx, limit)).note(ctx, s.m, "HealthSampleList")
}

func (s *instrumented) HealthSampleDeleteBefore(ctx context.Context, cutoff time.Time) (int64, error) {
	return counted(s.st.HealthSampleDeleteBefore(ctx, cutoff)).note(ctx, s.m, "HealthSampleDeleteBefore")
}

func (s *instrumented) JobRunStart(ctx context.Context, r *store.JobRun) error {
	return s.m.note(ctx, "JobRunStart", s.st.JobRunStart(ctx, r))
}

func (s *instrumented) JobRunFinish(ctx context.Context, r *store.JobRun) error {
	return s.m.note(ctx, "JobRunFinish", s.st.JobRunFinish(ctx, r))
}

func (s *instrumented) JobRunLatest(ctx context.Context) ([]store.JobRun, error) {
	return counted(s.st.JobRunLatest(ctx)).note(ctx, s.m, "JobRunLatest")
}

func (s *instrumented) JobRunList(ctx context.Context, job string, limit int) ([]store.JobRun, error) {
	return counted(s.st.JobRunList(ctx, job, limit)).note(ctx, s.m, "JobRunList")
}

func (s *instrumented) WeeklyReportUpsert(ctx context.Context, w *store.WeeklyReport) error {
	return s.m.note(ctx, "WeeklyReportUpsert", s.st.WeeklyReportUpsert(ctx, w))
}

func (s *instrumented) WeeklyReportList(ctx context.Context, limit int) ([]store.WeeklyReport, error) {
	return counted(s.st.WeeklyReportList(ctx, limit)).note(ctx, s.m, "WeeklyReportList")
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
	return counted(s.st.Size(ctx)).note(ctx, s.m, "Size")
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
	return counted(s.b.Subscribe(ctx, channel, fn)).note(ctx, s.m, "Subscribe")
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
	return counted(s.rr.WritePosition(ctx)).note(ctx, s.m, "WritePosition")
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
