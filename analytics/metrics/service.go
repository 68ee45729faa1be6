package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/advisoranalytics/advisor-analytics/analytics"
)

// serviceCollector reads a Service's counters at scrape time.
type serviceCollector struct {
	svc *analytics.Service

	events, retries, depth, capacity, oldest, cache, conns          *prometheus.Desc
	spoolBytes, spoolMax, spoolHeld, spoolOldest, spoolAppendErrors *prometheus.Desc
}

// NewServiceCollector returns a collector of svc's activity Recorder
// (events by result, retries, queue depth and capacity), cache lookups
// (hits and misses) and database connections. It reads counters svc keeps
// anyway, when scraped.
//
// recorder_events_total's result is one of enqueued (accepted), written,
// failed (refused by the store as invalid, or unwritten at shutdown),
// dropped_queue_full, dropped_closed and dropped_timeout (refused by
// Enqueue), quarantined (poison events set aside), erased (dropped from the
// queue or spool by an erasure), replayed (found in the spool on start) and
// spool_overflow (written past a full or failing spool). With a spool, the
// spool_* gauges describe it.
func NewServiceCollector(svc *analytics.Service) prometheus.Collector {
	return &serviceCollector{
		svc: svc,
		events: prometheus.NewDesc(name("recorder_events_total"),
			"Activities offered to the Recorder, by result.", []string{"result"}, nil),
		retries: prometheus.NewDesc(name("recorder_retries_total"),
			"Recorder store calls that failed and were retried.", nil, nil),
		depth: prometheus.NewDesc(name("recorder_queue_depth"),
			"Activities waiting in the Recorder's queue.", nil, nil),
		capacity: prometheus.NewDesc(name("recorder_queue_capacity"),
			"Capacity of the Recorder's queue.", nil, nil),
		oldest: prometheus.NewDesc(name("recorder_oldest_queued_age_seconds"),
			"Upper bound of the age of the oldest activity in the Recorder's memory queue.", nil, nil),
		spoolBytes: prometheus.NewDesc(name("spool_bytes"),
			"Bytes of the durable activity spool on disk.", nil, nil),
		spoolMax: prometheus.NewDesc(name("spool_max_bytes"),
			"Cap on the durable activity spool's size.", nil, nil),
		spoolHeld: prometheus.NewDesc(name("spool_held_events"),
			"Activities in the spool not yet written to the store.", nil, nil),
		spoolOldest: prometheus.NewDesc(name("spool_oldest_age_seconds"),
			"Age of the oldest activity in the spool not yet written to the store.", nil, nil),
		spoolAppendErrors: prometheus.NewDesc(name("spool_append_errors_total"),
			"Activities the spool refused because a write or fsync failed.", nil, nil),
		cache: prometheus.NewDesc(name("cache_requests_total"),
			"Lookups of cached analytics results, by result (hit or miss).", []string{"result"}, nil),
		conns: prometheus.NewDesc(name("db_connections"),
			"Database connections by state (in_use or idle).", []string{"state"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *serviceCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.events, c.retries, c.depth, c.capacity, c.oldest, c.cache, c.conns,
		c.spoolBytes, c.spoolMax, c.spoolHeld, c.spoolOldest, c.spoolAppendErrors} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *serviceCollector) Collect(ch chan<- prometheus.Metric) {
	rs := c.svc.RecorderStats()
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	counter(c.events, rs.Enqueued, "enqueued")
	counter(c.events, rs.Written, "written")
	counter(c.events, rs.Failed, "failed")
	counter(c.events, rs.Dropped.QueueFull, "dropped_queue_full")
	counter(c.events, rs.Dropped.Closed, "dropped_closed")
	counter(c.events, rs.Dropped.Timeout, "dropped_timeout")
	counter(c.events, rs.Quarantined, "quarantined")
	counter(c.events, rs.Erased, "erased")
	counter(c.events, rs.Replayed, "replayed")
	counter(c.events, rs.SpoolOverflow, "spool_overflow")
	counter(c.retries, rs.Retried)
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	gauge(c.depth, float64(rs.QueueDepth))
	gauge(c.capacity, float64(rs.QueueCapacity))
	gauge(c.oldest, rs.OldestQueuedAge.Seconds())
	if sp := rs.Spool; sp != nil {
		gauge(c.spoolBytes, float64(sp.Bytes))
		gauge(c.spoolMax, float64(sp.MaxBytes))
		gauge(c.spoolHeld, float64(sp.Held))
		gauge(c.spoolOldest, sp.OldestAge.Seconds())
		counter(c.spoolAppendErrors, sp.AppendErrors)
	}
	cs := c.svc.CacheStats()
	ch <- prometheus.MustNewConstMetric(c.cache, prometheus.CounterValue, float64(cs.Hits), "hit")
	ch <- prometheus.MustNewConstMetric(c.cache, prometheus.CounterValue, float64(cs.Misses), "miss")
	ds := c.svc.DBStats()
	ch <- prometheus.MustNewConstMetric(c.conns, prometheus.GaugeValue, float64(ds.InUse), "in_use")
	ch <- prometheus.MustNewConstMetric(c.conns, prometheus.GaugeValue, float64(ds.Idle), "idle")
}
