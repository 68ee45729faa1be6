package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/advisoranalytics/advisor-analytics/internal/routelabel"
)

// HTTPConfig configures NewHTTP; the zero value is the default.
type HTTPConfig struct {
	// Buckets are the request duration histogram's upper bounds in
	// seconds. Defaults to DurationBucketsDefault.
	Buckets []float64
}

// HTTP counts requests by route template and status code and observes
// their duration. It is a prometheus.Collector; Middleware feeds it.
type HTTP struct {
	countsAndDurations
	// series caches the counter and histogram of each (route, code), so
	// that a request costs one map lookup rather than two label hashes.
	series sync.Map // seriesKey → *series
}

type seriesKey struct {
	route string
	code  int
}

type series struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

// NewHTTP returns the request collectors.
func NewHTTP(cfg HTTPConfig) *HTTP {
	if len(cfg.Buckets) == 0 {
		cfg.Buckets = DurationBucketsDefault
	}
	return &HTTP{countsAndDurations: countsAndDurations{
		counts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: name("http_requests_total"),
			Help: "HTTP requests by route template and status code."}, []string{"route", "code"}),
		durations: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name("http_request_duration_seconds"),
			Help: "HTTP request duration by route template, from the first byte read to the handler's return.", Buckets: cfg.Buckets},
			[]string{"route"}),
	}}
}

// Middleware counts every request next serves. Wrap the host's
// http.ServeMux with it directly, or through handlers that pass the
// request on unchanged and wrap the ResponseWriter only with writers that
// have an Unwrap method (as http.ResponseController expects): the route label is the mux pattern that matched
// (Request.Pattern, Go 1.22+), refined by the analytics Handler to its own
// route template ("/api/v1/analytics/" + "metrics/history"). A request no
// pattern matched is labelled UnmatchedRoute. A handler that panics is
// counted as a 500 unless it had already written its status.
func (h *HTTP) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		d := &delegator{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if d.status == 0 {
					d.status = http.StatusInternalServerError
				}
				h.observe(r, d, time.Since(start))
				panic(v)
			}
		}()
		next.ServeHTTP(d, r)
		h.observe(r, d, time.Since(start))
	})
}

func (h *HTTP) observe(r *http.Request, d *delegator, took time.Duration) {
	route, ok := d.slot.Label(UnmatchedRoute)
	if !ok {
		route = r.Pattern
		if route == "" {
			route = UnmatchedRoute
		}
	}
	status := d.status
	if status == 0 {
		status = http.StatusOK // nothing written: net/http answers 200
	}
	k := seriesKey{route, status}
	v, ok := h.series.Load(k)
	if !ok {
		v, _ = h.series.LoadOrStore(k, &series{
			requests: h.counts.WithLabelValues(route, codeText(status)),
			duration: h.durations.WithLabelValues(route),
		})
	}
	sr := v.(*series)
	sr.requests.Inc()
	sr.duration.Observe(took.Seconds())
}

// codes holds the text of the common status codes, spared a conversion
// per request.
var codes = func() map[int]string {
	m := map[int]string{}
	for c := 100; c < 600; c++ {
		if http.StatusText(c) != "" {
			m[c] = strconv.Itoa(c)
		}
	}
	return m
}()

func codeText(c int) string {
	if s, ok := codes[c]; ok {
		return s
	}
	if c < 100 || c > 999 {
		return "other"
	}
	return strconv.Itoa(c)
}

// delegator records the status of a response. It keeps
// http.ResponseController working through Unwrap.
type delegator struct {
	http.ResponseWriter
	status int
	slot   routelabel.Slot
}

func (d *delegator) WriteHeader(code int) {
	if d.status == 0 && code >= 200 {
		d.status = code
	}
	d.ResponseWriter.WriteHeader(code)
}

func (d *delegator) Write(p []byte) (int, error) {
	if d.status == 0 {
		d.status = http.StatusOK
	}
	return d.ResponseWriter.Write(p)
}

// Flush implements http.Flusher when the underlying writer does.
func (d *delegator) Flush() { _ = d.FlushError() }

// FlushError flushes the underlying writer and returns its error, so that
// http.ResponseController.Flush reports a client that went away.
func (d *delegator) FlushError() error {
	if d.status == 0 {
		d.status = http.StatusOK
	}
	return http.NewResponseController(d.ResponseWriter).Flush()
}

// RouteSlot implements routelabel.Holder.
func (d *delegator) RouteSlot() *routelabel.Slot { return &d.slot }

// Unwrap returns the underlying ResponseWriter.
func (d *delegator) Unwrap() http.ResponseWriter { return d.ResponseWriter }

// Route wraps a mux that Middleware reaches through handlers which copy
// the request (a request log adding a context value, for one) and wrap the
// ResponseWriter only with writers that have an Unwrap method: after the
// mux has served a request, it hands the pattern that matched
// (Request.Pattern) back to Middleware. Without it Middleware sees the
// pattern only when the mux receives the very request it passed on.
func Route(mux http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s := routelabel.From(w); s != nil {
			defer func() { s.SetPattern(r.Pattern) }() // a panic too
		}
		mux.ServeHTTP(w, r)
	})
}
