// Package store is the persistence contract of Advisor Analytics: the record
// types, the sentinel errors and the Store interface every driver implements.
//
// The contract is made of small role interfaces (ActivityWriter,
// ActivityReader, DomainWriter, …) grouped in Store; consumers depend on the
// narrowest one they need. Rules every implementation follows (and that
// store/storetest checks):
//
//   - Every method takes a context first and returns its error (a cancelled
//     context yields an error wrapping ctx.Err()).
//   - Times are normalised to UTC at the boundary; a zero CreatedAt means now.
//   - Records are validated before anything is written: a record that breaks
//     the contract yields a *ValidationError naming the field and nothing is
//     written (each call is one transaction).
//   - A missing entity is ErrNotFound; an unreachable database is
//     ErrUnavailable; errors are wrapped with the operation.
//   - Aggregations run in the database, never by loading rows.
//
// # Writing a driver
//
// A third-party driver needs three packages: this one (the types and the
// interfaces it implements), store/storedriver (the Prepare functions and
// parameter checks every driver applies before it touches the database, the
// activity cursor format and Invalid for validation errors) and
// store/storetest (the conformance suite its tests run). Everything else a
// built-in driver uses (its JSON encoder, its migration loader) is internal
// to it. The contract's defaults (ListLimitDefault, RollupListDefault,
// DeleteBatchDefault, the field limits) are defined here once.
//
// Optional methods: a driver may also write a stream of chunks of
// activities in one transaction with ActivityInsertChunks(ctx, next func()
// ([]Activity, error)) error (next returns an empty chunk at the end),
// writing each chunk while next makes the following one. Callers reach it
// through storedriver.InsertChunks, which falls back to ActivityInsertMany
// for a driver without it; the conformance suite checks both ways. A
// driver whose commits can return before they are on disk (as SQLite's
// with synchronous=NORMAL) also has SyncWrites(ctx) error, which makes
// every committed write durable; the Recorder calls it through
// storedriver.SyncWrites before its spool forgets written events. A
// driver whose commits are durable when they return needs nothing.
//
// This package depends on no module outside the standard library.
package store

import (
	"context"
	"time"
)

// ActivityWriter stores activities. It is all the tracking Recorder needs.
// (See the package documentation for the optional ActivityInsertChunks.)
type ActivityWriter interface {
	// ActivityInsertMany validates and inserts activities in one
	// transaction (all or nothing). Empty IDs are assigned, zero CreatedAt
	// becomes now, over-long Description and UserAgent are cut.
	ActivityInsertMany(ctx context.Context, activities []Activity) error
}

// ActivityFilter selects activities. Zero fields do not filter.
type ActivityFilter struct {
	From time.Time // inclusive; zero = unbounded
	To   time.Time // inclusive; zero = unbounded
	// UserID, ActivityType, ClientID and ReportID match exactly.
	UserID       string
	ActivityType string
	ClientID     string
	ReportID     string
}

// ActivityListParams selects one page of activities, newest first
// (created_at DESC, id DESC).
type ActivityListParams struct {
	ActivityFilter
	Limit  int // 1…1000; 0 means 25
	Offset int // rows to skip; must be 0 with Cursor
	// Cursor is an opaque keyset cursor from a previous ActivityPage.
	// A malformed cursor is a *ValidationError on field "cursor".
	Cursor string
}

// ActivityPage is one page of activities.
type ActivityPage struct {
	Activities []Activity
	Total      int64  // exact count of rows matching the filter
	HasNext    bool   // more rows after this page
	NextCursor string // cursor for the next page; empty when !HasNext
}

// SummaryGroup is what ActivitySummary groups by.
type SummaryGroup string

// Summary groupings.
const (
	GroupByType SummaryGroup = "activity_type"
	GroupByUser SummaryGroup = "user"
	GroupByDay  SummaryGroup = "day"
)

// ActivitySummaryParams selects an activity summary.
type ActivitySummaryParams struct {
	ActivityFilter
	GroupBy SummaryGroup
	// Limit caps the number of rows for GroupByUser (top N by count); 0
	// means no limit. Ignored for the other groupings.
	Limit int
	// Location buckets days for GroupByDay; nil means UTC.
	Location *time.Location
}

// SummaryRow is one group of an activity summary. Only the fields of the
// grouping are set.
type SummaryRow struct {
	ActivityType string // GroupByType
	UserID       string // GroupByUser
	Username     string // GroupByUser: the most recent username of the user
	Day          string // GroupByDay: YYYY-MM-DD in the Location
	Count        int64
}

// ActivitySummary is a summary: rows ordered by count descending (ties by
// key ascending), or by day ascending for GroupByDay; Total is the count
// of every matching activity (not only the rows returned).
type ActivitySummary struct {
	Rows  []SummaryRow
	Total int64
}

// ActivityReader reads activities.
type ActivityReader interface {
	ActivityList(ctx context.Context, p ActivityListParams) (*ActivityPage, error)
	// ActivityIterate calls fn for every matching activity, newest first,
	// without loading them all; it stops at the first error fn returns.
	// It reads keyset pages of IteratePageSize rows and holds no database
	// connection while fn runs, so a slow fn (a client that stops reading
	// an export) cannot pin one. Pages are separate reads: activities
	// inserted meanwhile may or may not be seen; none is seen twice.
	ActivityIterate(ctx context.Context, f ActivityFilter, fn func(*Activity) error) error
	ActivitySummary(ctx context.Context, p ActivitySummaryParams) (*ActivitySummary, error)
	// ActivityDistinctUsers counts distinct non-empty user ids with
	// activity at or after since.
	ActivityDistinctUsers(ctx context.Context, since time.Time) (int64, error)
}

// DomainWriter writes clients and reports.
type DomainWriter interface {
	// ClientUpsert creates or updates a client by id.
	ClientUpsert(ctx context.Context, c *Client) error
	// ReportUpsert creates or replaces a report and all its
	// recommendations in one transaction. The client must exist (else a
	// *ValidationError on "client_id").
	ReportUpsert(ctx context.Context, r *Report) error
	// ReportUpsertMany creates or replaces several reports and their
	// recommendations in one transaction, all or nothing, and moves the
	// shared counters once for the whole batch. When owner is not empty,
	// a report that exists already must have been created by owner (the
	// check and the write are one step, so a concurrent writer cannot slip
	// between them). An error about one report is a *BatchError with its
	// index, wrapping a *ValidationError, ErrNotOwner or the database's
	// error. created is how many of the reports did not exist before.
	// Each report's CreatedAt is written back as for ReportUpsert.
	ReportUpsertMany(ctx context.Context, reports []*Report, owner string) (created int, err error)
}

// CountByKey is a count for one key (a category, an impact, …).
type CountByKey struct {
	Key   string
	Count int64
}

// ReportMetricsParams are the boundaries the metrics route compares.
type ReportMetricsParams struct {
	MonthStart     time.Time // start of the current month (reporting time zone), UTC
	PrevMonthStart time.Time // start of the previous month, UTC
	// GenerationSample is how many of the most recently completed reports
	// the average generation time is taken over; 0 means 100.
	GenerationSample int
}

// ReportMetrics are the raw figures behind the metrics route.
type ReportMetrics struct {
	TotalReports       int64
	ReportsBeforeMonth int64 // created before MonthStart
	CompletedReports   int64
	// ActiveUsers counts distinct non-empty created_by over all reports.
	ActiveUsers            int64
	ActiveUsersBeforeMonth int64
	// TotalSavings sums potential savings over every recommendation.
	TotalSavings       float64
	SavingsBeforeMonth float64 // of reports created before MonthStart
	// AvgGenerationSeconds is the mean of completed − started over the
	// sample of most recently completed reports with both timestamps.
	AvgGenerationSeconds            float64
	AvgGenerationSecondsBeforeMonth float64 // same sample among reports completed before MonthStart
	ReportsThisMonth                int64   // created ≥ MonthStart
	ReportsPrevMonth                int64   // created in [PrevMonthStart, MonthStart)
	RecommendationsThisMonth        int64   // of reports created this month
	RecommendationsPrevMonth        int64
	SavingsThisMonth                float64
	SavingsPrevMonth                float64
	ActiveClients                   int64 // clients with status active
	ClientsThisMonth                int64 // clients created ≥ MonthStart
	ClientsPrevMonth                int64
}

// ReportDayCount is the number of reports of one type created on one local day.
type ReportDayCount struct {
	Day        string // YYYY-MM-DD
	ReportType ReportType
	Count      int64
}

// ReportWithClient is a report (without recommendations) and its client's name.
type ReportWithClient struct {
	Report
	ClientName string
}

// ClientPerformance aggregates the reports of one client (or all).
type ClientPerformance struct {
	TotalReports         int64
	CompletedReports     int64
	FailedReports        int64
	AvgProcessingSeconds float64 // over completed reports with both timestamps
	TotalRecommendations int64
	TotalSavings         float64
	Categories           []CountByKey // count descending, ties by key
}

// CostParams filters the cost-insights figures.
type CostParams struct {
	From, To time.Time    // on the report's created_at, inclusive; zero = unbounded
	Types    []ReportType // empty = every type
	// MonthsFrom is the start (UTC) of the first calendar month of the
	// trend; months are bucketed in Location (nil = UTC) up to To or now.
	MonthsFrom time.Time
	Location   *time.Location
}

// MonthAmount is the savings of one calendar month.
type MonthAmount struct {
	Month  string // YYYY-MM
	Amount float64
}

// CostFigures are the raw figures behind the cost-insights route.
type CostFigures struct {
	TotalSavings float64
	// Months has one entry per month with savings, ascending; the caller
	// fills the empty months.
	Months []MonthAmount
}

// WindowStats are report figures over a time window [From, To).
type WindowStats struct {
	ReportsCreated       int64
	ReportsCompleted     int64 // created in the window with status completed
	ReportsFailed        int64 // created in the window with status failed
	ReportTypeCounts     map[string]int64
	CategoryCounts       map[string]int64 // recommendations of reports created in the window
	Recommendations      int64
	Savings              float64
	NewClients           int64
	AvgCSVSizeBytes      float64 // over reports with a size
	AvgProcessingSeconds float64 // over reports completed in the window with both timestamps
	// TotalReports counts every report created before To.
	TotalReports int64
}

// DomainReader answers the analytics aggregations, all computed in SQL.
type DomainReader interface {
	ClientGet(ctx context.Context, id string) (*Client, error)
	// ClientList returns clients ordered by company name (compared byte by
	// byte), then id: at most limit (0 means ListLimitDefault, at most
	// ListLimitMax) after skipping offset. A non-empty match keeps the
	// clients whose name contains it, ASCII letters compared without case
	// and other characters as they are.
	ClientList(ctx context.Context, match string, limit, offset int) ([]Client, error)
	// ReportGet returns a report with its recommendations.
	ReportGet(ctx context.Context, id string) (*Report, error)
	ReportMetrics(ctx context.Context, p ReportMetricsParams) (*ReportMetrics, error)
	// RecommendationCategoryCounts counts recommendations by category
	// (count descending, ties by key).
	RecommendationCategoryCounts(ctx context.Context) ([]CountByKey, error)
	// RecommendationImpactCounts counts recommendations by business impact
	// (count descending, ties by key); the empty impact has key "".
	RecommendationImpactCounts(ctx context.Context) ([]CountByKey, error)
	// ReportDailyCounts counts reports created in [from, to) by local day
	// (in loc; nil = UTC) and type. Days without reports are absent.
	ReportDailyCounts(ctx context.Context, from, to time.Time, loc *time.Location) ([]ReportDayCount, error)
	// ReportRecent returns the newest reports (created_at DESC, id DESC),
	// those of clientID when it is not empty, at most limit (0 means
	// RecentListDefault). An unknown client has none.
	ReportRecent(ctx context.Context, clientID string, limit int) ([]ReportWithClient, error)
	// ClientPerformance aggregates one client's reports, or every report
	// when clientID is empty. Unknown client → ErrNotFound.
	ClientPerformance(ctx context.Context, clientID string) (*ClientPerformance, error)
	CostFigures(ctx context.Context, p CostParams) (*CostFigures, error)
	// ReportWindowStats computes report figures over [from, to).
	ReportWindowStats(ctx context.Context, from, to time.Time) (*WindowStats, error)
}

// RollupStore keeps what the background jobs write.
type RollupStore interface {
	MetricsSnapshotUpsert(ctx context.Context, s *MetricsSnapshot) error
	// MetricsSnapshotList returns snapshots of one period whose
	// PeriodStart is within [fromDay, toDay] (YYYY-MM-DD, empty =
	// unbounded), oldest first.
	MetricsSnapshotList(ctx context.Context, period Period, fromDay, toDay string) ([]MetricsSnapshot, error)
	UsageStatsUpsert(ctx context.Context, u *UsageStats) error
	// UsageStatsList returns the hours in [from, to), oldest first.
	UsageStatsList(ctx context.Context, from, to time.Time) ([]UsageStats, error)
	HealthSampleInsert(ctx context.Context, h *HealthSample) error
	// HealthSampleList returns the newest samples first, at most limit.
	HealthSampleList(ctx context.Context, limit int) ([]HealthSample, error)
	HealthSampleDeleteBefore(ctx context.Context, cutoff time.Time) (int64, error)
	// JobRunStart records the start of a run. A RunKey already recorded
	// yields ErrConflict and writes nothing.
	JobRunStart(ctx context.Context, r *JobRun) error
	// JobRunFinish records the outcome of a started run (by ID).
	JobRunFinish(ctx context.Context, r *JobRun) error
	// JobRunLatest returns the latest run of every job that has run.
	JobRunLatest(ctx context.Context) ([]JobRun, error)
	// JobRunList returns the newest runs of one job (all jobs when job is
	// empty), at most limit.
	JobRunList(ctx context.Context, job string, limit int) ([]JobRun, error)
	WeeklyReportUpsert(ctx context.Context, w *WeeklyReport) error
	WeeklyReportList(ctx context.Context, limit int) ([]WeeklyReport, error)
}

// DBStats describes the database connection.
type DBStats struct {
	Driver          string // "sqlite" or "postgres"
	OpenConnections int
	InUse           int
	Idle            int
	// Replicas is the number of read replicas and ReplicasHealthy how
	// many of them serve reads (zero for a store without replicas).
	Replicas, ReplicasHealthy int
}

// Store is the whole persistence contract.
type Store interface {
	ActivityWriter
	ActivityReader
	DomainWriter
	DomainReader
	RollupStore

	// Migrate applies the pending embedded migrations.
	Migrate(ctx context.Context) error
	// MigrationStatus reports the applied and the latest known version.
	MigrationStatus(ctx context.Context) (applied, latest int, err error)
	Ping(ctx context.Context) error
	// Size is the database size in bytes.
	Size(ctx context.Context) (int64, error)
	Stats() DBStats
	// Close releases the database; it is idempotent.
	Close() error

	// ActivityDeleteByUser erases every activity of one user and returns
	// how many rows were deleted.
	ActivityDeleteByUser(ctx context.Context, userID string) (int64, error)
	// ActivityDeleteBefore deletes activities created before cutoff in
	// batches of at most batchSize rows (0 means 5000), each its own
	// transaction, and returns the total deleted.
	ActivityDeleteBefore(ctx context.Context, cutoff time.Time, batchSize int) (int64, error)
}

// Broadcaster is implemented by stores shared by several processes
// (PostgreSQL LISTEN/NOTIFY); the Service uses it to invalidate caches on
// every replica.
type Broadcaster interface {
	// Publish sends payload on channel to every subscriber, including
	// this process's.
	Publish(ctx context.Context, channel, payload string) error
	// Subscribe calls fn for each payload received on channel until ctx
	// is done or the returned stop function is called. It reconnects on
	// its own after a connection loss.
	Subscribe(ctx context.Context, channel string, fn func(payload string)) (stop func(), err error)
}

// ReadRouter is implemented by stores that send reads to replicas
// (postgres.Replicated), which may lag behind the primary. WritePosition
// returns an opaque mark of every write committed so far; a context from
// ReadAfter(ctx, pos) makes the store's reads see at least those writes
// (from a replica that has replayed them, else from the primary). The
// Service uses it to show a caller its own writes right after them.
type ReadRouter interface {
	WritePosition(ctx context.Context) (string, error)
	ReadAfter(ctx context.Context, pos string) context.Context
}

// Locker is implemented by stores shared by several processes (PostgreSQL
// advisory locks on a dedicated connection); the scheduler uses it to run
// each job once per cluster.
type Locker interface {
	// TryLock takes the named cluster-wide lock without waiting. ok is
	// false when another holder has it. unlock releases it.
	TryLock(ctx context.Context, key string) (unlock func(context.Context) error, ok bool, err error)
}
