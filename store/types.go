package store

import (
	"time"

	"github.com/advisoranalytics/advisor-analytics/internal/text"
)

// Industry is a client's industry.
type Industry string

// Industries.
const (
	IndustryTechnology    Industry = "technology"
	IndustryHealthcare    Industry = "healthcare"
	IndustryFinance       Industry = "finance"
	IndustryEducation     Industry = "education"
	IndustryManufacturing Industry = "manufacturing"
	IndustryRetail        Industry = "retail"
	IndustryGovernment    Industry = "government"
	IndustryConsulting    Industry = "consulting"
	IndustryOther         Industry = "other"
)

// Valid reports whether i is a known industry.
func (i Industry) Valid() bool { return contains(Industries, i) }

// ClientStatus is a client's account status.
type ClientStatus string

// Client statuses.
const (
	ClientActive    ClientStatus = "active"
	ClientInactive  ClientStatus = "inactive"
	ClientSuspended ClientStatus = "suspended"
)

// Valid reports whether s is a known client status.
func (s ClientStatus) Valid() bool { return contains(clientStatuses, s) }

// ReportType is the kind of report generated from an Advisor export.
type ReportType string

// Report types.
const (
	ReportDetailed   ReportType = "detailed"
	ReportExecutive  ReportType = "executive"
	ReportCost       ReportType = "cost"
	ReportSecurity   ReportType = "security"
	ReportOperations ReportType = "operations"
)

// Valid reports whether t is a known report type.
func (t ReportType) Valid() bool { return contains(ReportTypes, t) }

// Label returns the human-readable name ("Cost Optimization").
func (t ReportType) Label() string {
	switch t {
	case ReportDetailed:
		return "Detailed Report"
	case ReportExecutive:
		return "Executive Summary"
	case ReportCost:
		return "Cost Optimization"
	case ReportSecurity:
		return "Security Assessment"
	case ReportOperations:
		return "Operational Excellence"
	}
	return text.TitleCase(string(t))
}

// ReportStatus is a report's processing state.
type ReportStatus string

// Report statuses.
const (
	StatusPending    ReportStatus = "pending"
	StatusUploaded   ReportStatus = "uploaded"
	StatusProcessing ReportStatus = "processing"
	StatusGenerating ReportStatus = "generating"
	StatusCompleted  ReportStatus = "completed"
	StatusFailed     ReportStatus = "failed"
	StatusCancelled  ReportStatus = "cancelled"
)

// Valid reports whether s is a known report status.
func (s ReportStatus) Valid() bool { return contains(reportStatuses, s) }

// Category is an Advisor recommendation category.
type Category string

// Recommendation categories.
const (
	CategoryCost                  Category = "cost"
	CategorySecurity              Category = "security"
	CategoryReliability           Category = "reliability"
	CategoryOperationalExcellence Category = "operational_excellence"
	CategoryPerformance           Category = "performance"
)

// Valid reports whether c is a known category.
func (c Category) Valid() bool { return contains(Categories, c) }

// Impact is a recommendation's business impact, stored lower-case.
type Impact string

// Business impacts.
const (
	ImpactHigh   Impact = "high"
	ImpactMedium Impact = "medium"
	ImpactLow    Impact = "low"
)

// Valid reports whether i is a known impact. The empty impact is allowed
// on records (the analytics report it as "Unknown").
func (i Impact) Valid() bool { return i == "" || contains(Impacts, i) }

// Client is a customer whose Advisor exports become reports.
type Client struct {
	ID          string // UUID
	CompanyName string
	Industry    Industry
	Status      ClientStatus
	CreatedAt   time.Time // UTC; zero means "now" on upsert
	UpdatedAt   time.Time // set by the store
}

// Report is one generated report with its recommendations.
type Report struct {
	ID                    string // UUID
	ClientID              string // UUID of an existing client
	CreatedBy             string // user id; empty means none (NULL)
	ReportType            ReportType
	Status                ReportStatus
	CreatedAt             time.Time // UTC; zero means "now" on upsert
	ProcessingStartedAt   *time.Time
	ProcessingCompletedAt *time.Time
	CSVSizeBytes          *int64
	// Recommendations replace the report's stored recommendations on
	// upsert. Reads that list reports leave it nil.
	Recommendations []Recommendation
}

// Recommendation is one Advisor recommendation of a report.
type Recommendation struct {
	ID               string // UUID; empty means a new one on upsert
	ReportID         string // set by the store from the owning report
	Category         Category
	BusinessImpact   Impact
	Recommendation   string
	SubscriptionID   string
	SubscriptionName string
	ResourceGroup    string
	ResourceName     string
	ResourceType     string
	// PotentialSavings is the annual amount, ≥ 0, kept to the cent.
	PotentialSavings float64
	Currency         string // ISO 4217; empty means "USD"
}

// Activity is one audit-trail event: who did what, when, from where.
type Activity struct {
	ID           string // UUID; empty means a new one on insert
	UserID       string // empty for anonymous requests
	Username     string
	FullName     string
	ActivityType string // required, ≤ 50 chars
	Description  string // ≤ 255 chars (longer values are cut, never rejected)
	ClientID     string // UUID or empty
	ReportID     string // UUID or empty
	IPAddress    string // textual IP or empty (NULL)
	UserAgent    string // ≤ 500 chars (cut)
	Method       string
	Path         string // without query string
	StatusCode   int
	Duration     time.Duration
	// Metadata is a JSON object; nil is stored as {}.
	Metadata  map[string]any
	CreatedAt time.Time // UTC; zero means "now" on insert
}

// Period is a dashboard snapshot period.
type Period string

// Snapshot periods.
const (
	PeriodDaily   Period = "daily"
	PeriodWeekly  Period = "weekly"
	PeriodMonthly Period = "monthly"
)

// Valid reports whether p is a known period.
func (p Period) Valid() bool { return p == PeriodDaily || p == PeriodWeekly || p == PeriodMonthly }

// MetricsSnapshot is the dashboard figures of one period, keyed by
// (Period, PeriodStart): upserting the same key replaces the row.
type MetricsSnapshot struct {
	Period      Period
	PeriodStart string // YYYY-MM-DD, the first local day of the period
	// Bounds of the period in UTC: [From, To).
	From, To              time.Time
	TotalReports          int64 // all reports created before To
	ReportsCreated        int64 // reports created in the period
	ReportsCompleted      int64
	ReportsFailed         int64
	ActiveUsers           int64 // distinct users with activity in the period
	NewClients            int64
	TotalRecommendations  int64 // of reports created in the period
	TotalPotentialSavings float64
	Activities            int64
	Logins                int64
	Uploads               int64
	Downloads             int64
	Shares                int64
	AvgGenerationSeconds  float64
	SuccessRate           float64
	CategoryCounts        map[string]int64
	ReportTypeCounts      map[string]int64
	ComputedAt            time.Time
}

// UsageStats is the report usage of one hour, keyed by HourStart.
type UsageStats struct {
	HourStart            time.Time // UTC, on the hour
	ReportsGenerated     int64
	ReportsFailed        int64
	CSVUploads           int64
	FailedUploads        int64
	Downloads            int64
	Shares               int64
	AvgCSVSizeBytes      float64
	AvgProcessingMinutes float64
	ReportTypeCounts     map[string]int64
	ComputedAt           time.Time
}

// HealthSample is one system-health sample.
type HealthSample struct {
	ID      int64 // assigned by the store
	TakenAt time.Time
	Status  string // healthy | degraded
	Data    map[string]any
}

// JobOutcome is how a job run ended.
type JobOutcome string

// Job outcomes.
const (
	JobRunning   JobOutcome = "running"
	JobSucceeded JobOutcome = "succeeded"
	JobFailed    JobOutcome = "failed"
)

// JobRun records one run of a background job.
type JobRun struct {
	ID string // UUID; empty means a new one
	// Job is the job name, e.g. "calculate_daily_metrics".
	Job string
	// RunKey identifies the scheduled occurrence (job name + scheduled
	// time); JobRunStart refuses a second run with the same key with
	// ErrConflict, which keeps replicas from running one tick twice.
	RunKey       string
	ScheduledAt  time.Time
	StartedAt    time.Time
	FinishedAt   *time.Time
	Outcome      JobOutcome
	Error        string
	RowsAffected int64
	Message      string
	Instance     string // which process ran it
}

// Duration returns how long the run took (zero while running).
func (r *JobRun) Duration() time.Duration {
	if r.FinishedAt == nil {
		return 0
	}
	return r.FinishedAt.Sub(r.StartedAt)
}

// WeeklyReport is the stored summary of one week, keyed by WeekStart.
type WeeklyReport struct {
	WeekStart string // YYYY-MM-DD (a Monday)
	Summary   map[string]any
	CreatedAt time.Time
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// clientStatuses lists every valid ClientStatus.
var clientStatuses = []ClientStatus{ClientActive, ClientInactive, ClientSuspended}

// reportStatuses lists every valid ReportStatus.
var reportStatuses = []ReportStatus{StatusPending, StatusUploaded, StatusProcessing, StatusGenerating,
	StatusCompleted, StatusFailed, StatusCancelled}
