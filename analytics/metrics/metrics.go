// Package metrics exposes Advisor Analytics to Prometheus. It offers
// collectors a host registers on its own registry (the library registers
// nothing globally) and an HTTP middleware:
//
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
//	st, storeMetrics := metrics.InstrumentStore(st)  // before analytics.New and scheduler.New
//	jobs := metrics.NewJobs(metrics.JobsConfig{})     // scheduler.Config{Observe: jobs.Observe}
//	httpm := metrics.NewHTTP(metrics.HTTPConfig{})
//	reg.MustRegister(storeMetrics, jobs, httpm, metrics.NewServiceCollector(svc))
//	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//	http.ListenAndServe(addr, httpm.Middleware(mux))
//
// The families, all prefixed "analytics_":
//
//	http_requests_total{route,code}            counter   (NewHTTP)
//	http_request_duration_seconds{route}       histogram (NewHTTP)
//	recorder_events_total{result}              counter   (NewServiceCollector)
//	recorder_retries_total                     counter   (NewServiceCollector)
//	recorder_queue_depth                       gauge     (NewServiceCollector)
//	recorder_queue_capacity                    gauge     (NewServiceCollector)
//	recorder_oldest_queued_age_seconds         gauge     (NewServiceCollector)
//	spool_bytes, spool_max_bytes               gauge     (NewServiceCollector, with a spool)
//	spool_held_events, spool_oldest_age_seconds gauge    (NewServiceCollector, with a spool)
//	spool_append_errors_total                  counter   (NewServiceCollector, with a spool)
//	cache_requests_total{result}               counter   (NewServiceCollector)
//	db_connections{state}                      gauge     (NewServiceCollector)
//	job_runs_total{job,status}                 counter   (NewJobs)
//	job_duration_seconds{job}                  histogram (NewJobs)
//	store_errors_total{op}                     counter   (InstrumentStore)
//
// Labels have a bounded set of values: route templates (never a raw
// path), status codes, job and store operation names. No label holds a
// user id, an e-mail address or a token. The collectors of
// NewServiceCollector read counters the Service keeps anyway, at scrape
// time; the middleware and the store wrapper add a few atomic increments
// per call.
package metrics

import "github.com/prometheus/client_golang/prometheus"

// Namespace prefixes every metric name.
const Namespace = "analytics"

// UnmatchedRoute is the route label of requests that no route template
// matched (404s of the mux or of the analytics Handler).
const UnmatchedRoute = "unmatched"

// DurationBucketsDefault are the buckets, in seconds, of the request
// duration histogram.
var DurationBucketsDefault = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// JobBucketsDefault are the buckets, in seconds, of the job duration
// histogram.
var JobBucketsDefault = []float64{.01, .1, .5, 1, 5, 15, 60, 300, 900, 3600}

func name(n string) string { return prometheus.BuildFQName(Namespace, "", n) }

// countsAndDurations is a counter vector of events and a histogram vector
// of their durations, described and collected together.
type countsAndDurations struct {
	counts    *prometheus.CounterVec
	durations *prometheus.HistogramVec
}

// Describe implements prometheus.Collector.
func (c countsAndDurations) Describe(ch chan<- *prometheus.Desc) {
	c.counts.Describe(ch)
	c.durations.Describe(ch)
}

// Collect implements prometheus.Collector.
func (c countsAndDurations) Collect(ch chan<- prometheus.Metric) {
	c.counts.Collect(ch)
	c.durations.Collect(ch)
}
