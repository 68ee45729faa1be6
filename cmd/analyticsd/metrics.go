package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/advisoranalytics/advisor-analytics/analytics"
	"github.com/advisoranalytics/advisor-analytics/analytics/metrics"
	"github.com/advisoranalytics/advisor-analytics/store"
)

// metricsPath is where the Prometheus metrics are served.
const metricsPath = "/metrics"

// metricsFlags are the Prometheus settings of the serve command.
type metricsFlags struct {
	enabled bool
	addr    string
}

func (m *metricsFlags) register(fs *flagSet) {
	fs.boolVarEnv(&m.enabled, "metrics", true, "serve Prometheus metrics at "+metricsPath+" (-metrics=false turns them off)", "ANALYTICS_METRICS")
	fs.stringVarEnv(&m.addr, "metrics-addr", "", "serve "+metricsPath+" on this address (host:port) instead of the main listener", "ANALYTICS_METRICS_ADDR")
}

func (m *metricsFlags) validate(fs *flagSet) error {
	if m.addr == "" {
		return nil
	}
	if !m.enabled {
		return fs.invalid("metrics-addr", "is set but -metrics=false turns the metrics off")
	}
	_, port, err := net.SplitHostPort(m.addr)
	if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 0 || n > 65535 {
		return fs.invalid("metrics-addr", "%q is not host:port (e.g. 127.0.0.1:9090 or :9090)", m.addr)
	}
	return nil
}

// promMetrics are the server's Prometheus collectors and registry; nil
// with -metrics=false.
type promMetrics struct {
	reg   *prometheus.Registry
	http  *metrics.HTTP
	jobs  *metrics.Jobs
	store *metrics.Store
	srv   *http.Server // the -metrics-addr listener's server, nil without it
}

// newPromMetrics wraps st to count its errors and builds the registry
// with the Go and process collectors.
func newPromMetrics(st store.Store) (store.Store, *promMetrics) {
	m := &promMetrics{reg: prometheus.NewRegistry(), http: metrics.NewHTTP(metrics.HTTPConfig{}), jobs: metrics.NewJobs(metrics.JobsConfig{})}
	st, m.store = metrics.InstrumentStore(st)
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.http, m.jobs, m.store)
	return st, m
}

// observeJob is the scheduler's Observe hook (nil without metrics).
func (m *promMetrics) observeJob() func(store.JobRun) {
	if m == nil {
		return nil
	}
	return m.jobs.Observe
}

// addService registers the collectors reading svc.
func (m *promMetrics) addService(svc *analytics.Service) {
	if m != nil {
		m.reg.MustRegister(metrics.NewServiceCollector(svc))
	}
}

func (m *promMetrics) handler(log *slog.Logger) http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelError),
		ErrorHandling:     promhttp.ContinueOnError,
		Registry:          m.reg,
		EnableOpenMetrics: true,
	})
}

// wrap counts the requests of mux: outermost, so that every response is
// counted, with metrics.Route around the mux for its patterns.
func (m *promMetrics) wrap(outer func(http.Handler) http.Handler, mux http.Handler) http.Handler {
	if m == nil {
		return outer(mux)
	}
	return m.http.Middleware(outer(metrics.Route(mux)))
}

// listen starts the -metrics-addr server, when there is one.
func (m *promMetrics) listen(addr string, log *slog.Logger) (net.Addr, error) {
	if m == nil || addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("-metrics-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+metricsPath, m.handler(log))
	m.srv = &http.Server{Handler: mux, ReadHeaderTimeout: readHeaderTimeout, ReadTimeout: readHeaderTimeout,
		WriteTimeout: readTimeout, IdleTimeout: idleTimeout, MaxHeaderBytes: maxHeaderBytes,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	go func() {
		if err := m.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics listener failed", "addr", addr, "err", err)
		}
	}()
	return ln.Addr(), nil
}

func (m *promMetrics) shutdown(ctx context.Context) error {
	if m == nil || m.srv == nil {
		return nil
	}
	if err := m.srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("metrics shutdown: %w", err)
	}
	return nil
}
