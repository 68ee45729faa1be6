package analytics

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"runtime"
	"time"

	"github.com/advisoranalytics/advisor-analytics/internal/sysinfo"
	"github.com/advisoranalytics/advisor-analytics/store"
)

// Health thresholds.
const (
	// slowPingThreshold marks the store as slow in system-health.
	slowPingThreshold = 500 * time.Millisecond
	// httpErrorRateThreshold (percent of 5xx) marks the HTTP side degraded.
	httpErrorRateThreshold = 5.0
	// queueHighWaterPercent marks the Recorder queue as nearly full.
	queueHighWaterPercent = 80
)

// Health statuses.
const (
	statusHealthy  = "healthy"
	statusDegraded = "degraded"
)

// processHealth are this process's figures.
type processHealth struct {
	CPUPercent Decimal `json:"cpu_percent"`
	RSSBytes   int64   `json:"rss_bytes"`
	Goroutines int     `json:"goroutines"`
}

// hostHealth are the host's (or container's) figures.
type hostHealth struct {
	CPUPercent       Decimal `json:"cpu_percent"`
	MemoryUsedBytes  int64   `json:"memory_used_bytes"`
	MemoryTotalBytes int64   `json:"memory_total_bytes"`
	// MemoryLimited reports that the total is a cgroup limit.
	MemoryLimited bool `json:"memory_limited"`
}

// httpHealth are the request figures of the last 24 hours, from the
// Middleware.
type httpHealth struct {
	Requests     int64   `json:"requests"`
	ErrorRate    Decimal `json:"error_rate"`
	AvgLatencyMS Decimal `json:"avg_latency_ms"`
}

// trackingHealth are the Recorder's counters.
type trackingHealth struct {
	Enqueued      int64 `json:"enqueued"`
	Written       int64 `json:"written"`
	Dropped       int64 `json:"dropped"`
	Failed        int64 `json:"failed"`
	QueueDepth    int   `json:"queue_depth"`
	QueueCapacity int   `json:"queue_capacity"`
	// Held counts events in batches being written or retried; Retried
	// the store calls retried; Quarantined the poison events set aside.
	Held        int64 `json:"held"`
	Retried     int64 `json:"retried"`
	Quarantined int64 `json:"quarantined"`
	// OldestQueuedAgeSeconds bounds the age of the oldest event in the
	// memory queue.
	OldestQueuedAgeSeconds Decimal `json:"oldest_queued_age_seconds"`
	LastError              string  `json:"last_error"`
	// Spool is null when the Recorder has no spool.
	Spool *spoolHealth `json:"spool"`
}

// spoolHealth are the figures of the Recorder's durable spool.
type spoolHealth struct {
	Bytes            int64   `json:"bytes"`
	MaxBytes         int64   `json:"max_bytes"`
	Segments         int     `json:"segments"`
	Events           int64   `json:"events"`
	OldestAgeSeconds Decimal `json:"oldest_age_seconds"`
	Overflow         int64   `json:"overflow"`
	CorruptBytes     int64   `json:"corrupt_bytes"`
}

// databaseHealth describes the store connection.
type databaseHealth struct {
	Driver          string  `json:"driver"`
	OpenConnections int     `json:"open_connections"`
	InUse           int     `json:"in_use"`
	Idle            int     `json:"idle"`
	PingMS          Decimal `json:"ping_ms"`
	Replicas        int     `json:"replicas"`
	ReplicasHealthy int     `json:"replicas_healthy"`
}

// SystemHealth is the body of the system-health route.
type SystemHealth struct {
	DatabaseSize            int64          `json:"database_size"`
	DatabaseSizeFormatted   string         `json:"database_size_formatted"`
	TotalReports            int64          `json:"total_reports"`
	ActiveUsersToday        int64          `json:"active_users_today"`
	ActiveUsersThisWeek     int64          `json:"active_users_this_week"`
	AvgReportGenerationTime Decimal        `json:"avg_report_generation_time"`
	ErrorRate               Decimal        `json:"error_rate"`
	StorageUsed             int64          `json:"storage_used"`
	StorageUsedFormatted    string         `json:"storage_used_formatted"`
	Uptime                  string         `json:"uptime"`
	LastCalculated          Timestamp      `json:"last_calculated"`
	Status                  string         `json:"status"`
	Reasons                 []string       `json:"reasons"`
	UptimeSeconds           int64          `json:"uptime_seconds"`
	StorageMeasuredAt       *Timestamp     `json:"storage_measured_at"`
	Process                 processHealth  `json:"process"`
	Host                    hostHealth     `json:"host"`
	HTTP                    httpHealth     `json:"http"`
	Tracking                trackingHealth `json:"tracking"`
	Database                databaseHealth `json:"database"`
}

// SystemHealth returns the system-health figures (cached 5 minutes).
// Admin or manager.
func (s *Service) SystemHealth(ctx context.Context, p Principal) (*SystemHealth, error) {
	if err := require(p, RoleManager); err != nil {
		return nil, err
	}
	return decodeCached[SystemHealth](s.systemHealthJSON(ctx))
}

func (s *Service) systemHealthJSON(ctx context.Context) (cachedJSON, error) {
	return s.cached(ctx, "system-health", ttlSystemHealth, func(ctx context.Context) (any, error) { return s.computeHealth(ctx) })
}

// HealthSample computes the system-health figures now (bypassing the
// cache) as a sample for the health history.
func (s *Service) HealthSample(ctx context.Context) (*store.HealthSample, error) {
	h, err := s.computeHealth(ctx)
	if err != nil {
		return nil, fmt.Errorf("analytics: health sample: %w", err)
	}
	b, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("analytics: health sample: encode: %w", err)
	}
	var data map[string]any
	if err := json.Unmarshal(b, &data); err != nil {
		return nil, fmt.Errorf("analytics: health sample: decode: %w", err)
	}
	return &store.HealthSample{TakenAt: h.LastCalculated.Time(), Status: h.Status, Data: data}, nil
}

func (s *Service) computeHealth(ctx context.Context) (*SystemHealth, error) {
	now := s.now()
	h := &SystemHealth{LastCalculated: ts(now), Reasons: []string{}}

	pingStart := time.Now()
	if err := s.st.Ping(ctx); err != nil {
		return nil, fmt.Errorf("ping store: %w", err)
	}
	ping := time.Since(pingStart)
	size, err := s.st.Size(ctx)
	if err != nil {
		return nil, fmt.Errorf("database size: %w", err)
	}
	h.DatabaseSize, h.DatabaseSizeFormatted = size, formatBytes(size)
	cur, prev := s.monthStarts(now)
	m, err := s.st.ReportMetrics(ctx, store.ReportMetricsParams{MonthStart: cur, PrevMonthStart: prev, GenerationSample: generationSample})
	if err != nil {
		return nil, fmt.Errorf("report metrics: %w", err)
	}
	h.TotalReports = m.TotalReports
	h.AvgReportGenerationTime = round(m.AvgGenerationSeconds, 1)
	midnight := s.localMidnight(now, 0)
	if h.ActiveUsersToday, err = s.st.ActivityDistinctUsers(ctx, midnight.UTC()); err != nil {
		return nil, fmt.Errorf("active users today: %w", err)
	}
	if h.ActiveUsersThisWeek, err = s.st.ActivityDistinctUsers(ctx, s.localMidnight(now, -7).UTC()); err != nil {
		return nil, fmt.Errorf("active users this week: %w", err)
	}
	win, err := s.st.ReportWindowStats(ctx, now.Add(-24*time.Hour).UTC(), now.UTC())
	if err != nil {
		return nil, fmt.Errorf("report window stats: %w", err)
	}
	h.ErrorRate = percentOf(float64(win.ReportsFailed), float64(win.ReportsCreated), 2)

	storage, measuredAt, measured := s.sizer.size()
	h.StorageUsed, h.StorageUsedFormatted = storage, formatBytes(storage)
	if measured {
		t := ts(measuredAt)
		h.StorageMeasuredAt = &t
	} else if len(s.cfg.StorageDirs) > 0 {
		h.Reasons = append(h.Reasons, "storage not measured yet")
	}
	up := now.Sub(s.born)
	h.Uptime, h.UptimeSeconds = formatUptime(up), int64(up/time.Second)

	h.Process, h.Host = s.sampleHost(ctx)

	hf := s.track.stats.Snapshot(now)
	h.HTTP = httpHealth{Requests: hf.Requests, ErrorRate: round(hf.ErrorRatePercent, 2), AvgLatencyMS: round(hf.AvgLatencyMS, 2)}
	if hf.Requests > 0 && hf.ErrorRatePercent > httpErrorRateThreshold {
		h.Reasons = append(h.Reasons, fmt.Sprintf("HTTP 5xx rate %s%% over the last 24 hours", round(hf.ErrorRatePercent, 2)))
	}

	rs := s.track.rec.Stats()
	h.Tracking = trackingHealth{Enqueued: rs.Enqueued, Written: rs.Written, Dropped: rs.Dropped.Total(), Failed: rs.Failed,
		QueueDepth: rs.QueueDepth, QueueCapacity: rs.QueueCapacity, Held: rs.Held, Retried: rs.Retried,
		Quarantined: rs.Quarantined, OldestQueuedAgeSeconds: round(rs.OldestQueuedAge.Seconds(), 3), LastError: rs.LastError}
	if sp := rs.Spool; sp != nil {
		h.Tracking.Spool = &spoolHealth{Bytes: sp.Bytes, MaxBytes: sp.MaxBytes, Segments: sp.Segments, Events: sp.Held,
			OldestAgeSeconds: round(sp.OldestAge.Seconds(), 3), Overflow: rs.SpoolOverflow, CorruptBytes: sp.CorruptBytes}
		if sp.MaxBytes > 0 && sp.Bytes*100 >= sp.MaxBytes*queueHighWaterPercent {
			h.Reasons = append(h.Reasons, "activity spool nearly full")
		}
	}
	if rs.Quarantined > 0 {
		h.Reasons = append(h.Reasons, fmt.Sprintf("activity recorder quarantined %d events", rs.Quarantined))
	}
	if n := rs.Dropped.Total(); n > 0 {
		h.Reasons = append(h.Reasons, fmt.Sprintf("activity recorder dropped %d events", n))
	}
	if rs.Failed > 0 {
		h.Reasons = append(h.Reasons, fmt.Sprintf("activity recorder failed to write %d events", rs.Failed))
	}
	if rs.QueueCapacity > 0 && rs.QueueDepth*100 >= rs.QueueCapacity*queueHighWaterPercent {
		h.Reasons = append(h.Reasons, "activity queue nearly full")
	}

	ds := s.st.Stats()
	h.Database = databaseHealth{Driver: ds.Driver, OpenConnections: ds.OpenConnections, InUse: ds.InUse, Idle: ds.Idle,
		PingMS: round(float64(ping)/float64(time.Millisecond), 2), Replicas: ds.Replicas, ReplicasHealthy: ds.ReplicasHealthy}
	if ds.ReplicasHealthy < ds.Replicas {
		h.Reasons = append(h.Reasons, fmt.Sprintf("%d of %d database replicas not serving reads", ds.Replicas-ds.ReplicasHealthy, ds.Replicas))
	}
	if ping > slowPingThreshold {
		h.Reasons = append(h.Reasons, fmt.Sprintf("database ping took %s ms", h.Database.PingMS))
	}
	h.Status = statusHealthy
	if len(h.Reasons) > 0 {
		h.Status = statusDegraded
	}
	return h, nil
}

// sampleHost reads the process and host figures; what cannot be read is
// left at zero (logged at debug level) so system-health keeps answering.
func (s *Service) sampleHost(ctx context.Context) (processHealth, hostHealth) {
	f, err := s.sampler.Sample(ctx)
	if err != nil {
		s.log.DebugContext(ctx, "analytics: sample process and host figures", "err", err)
	}
	clamp := func(v uint64) int64 {
		if v > math.MaxInt64 {
			return math.MaxInt64
		}
		return int64(v)
	}
	p := processHealth{CPUPercent: round(f.Process.CPUPercent, 1), RSSBytes: clamp(f.Process.RSSBytes), Goroutines: f.Process.Goroutines}
	if p.Goroutines == 0 {
		p.Goroutines = runtime.NumGoroutine()
	}
	h := hostHealth{CPUPercent: round(f.Host.CPUPercent, 1), MemoryUsedBytes: clamp(f.Host.MemoryUsedBytes),
		MemoryTotalBytes: clamp(f.Host.MemoryTotalBytes), MemoryLimited: f.Host.CgroupLimited}
	return p, h
}

// dirSizer measures Config.StorageDirs in the background; with no
// directory it reports 0 bytes.
type dirSizer struct {
	ds *sysinfo.DirSizer
}

func newDirSizer(cfg Config) (dirSizer, error) {
	if len(cfg.StorageDirs) == 0 {
		return dirSizer{}, nil
	}
	ds, err := sysinfo.NewDirSizer(cfg.StorageDirs, sysinfo.DirSizerConfig{Interval: cfg.StorageRefresh, Logger: cfg.Logger})
	if err != nil {
		return dirSizer{}, fmt.Errorf("analytics: Config.StorageDirs: %w", err)
	}
	return dirSizer{ds: ds}, nil
}

func (d dirSizer) start(ctx context.Context) {
	if d.ds != nil {
		d.ds.Start(ctx)
	}
}

func (d dirSizer) close() {
	if d.ds != nil {
		d.ds.Close()
	}
}

func (d dirSizer) size() (int64, time.Time, bool) {
	if d.ds == nil {
		return 0, time.Time{}, false
	}
	return d.ds.Size()
}

// DBStats returns the store's connection figures.
func (s *Service) DBStats() store.DBStats { return s.st.Stats() }
