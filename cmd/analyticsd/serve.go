package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/advisoranalytics/advisor-analytics/analytics"
	"github.com/advisoranalytics/advisor-analytics/internal/demo"
	"github.com/advisoranalytics/advisor-analytics/internal/reqbody"
	"github.com/advisoranalytics/advisor-analytics/internal/tokenauth"
	"github.com/advisoranalytics/advisor-analytics/scheduler"
	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/tracking"
)

// apiPrefix is where the analytics API is served.
const apiPrefix = "/api/v1/analytics/"

const serveAbout = `Run the analytics API at ` + apiPrefix + `, /healthz (the process is up) and
/readyz (the database answers), with the background jobs. The database is
created and migrated when needed. API requests authenticate with
"Authorization: Bearer <token>": a token of the -tokens file, a platform
JWT (-jwt-secret-file) or an OpenID Connect access token (-oidc-issuer),
whichever are enabled.
An activity posted to the API is answered 202 once it is on disk: in the
spool (-spool-dir, fsynced) or in the database. The spool absorbs database
outages up to -spool-max-bytes and is written to the database in order; what
a killed process left there is written on the next start.
SIGINT or SIGTERM stops it gracefully: in-flight requests finish and the
activities held are written within -drain-timeout (the rest stays in the
spool). SIGHUP reloads the -tokens file and the -jwt-secret-file.`

func runServe(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	var sf serveFlags
	fs := newFlagSet("serve", "analyticsd [serve] [flags]", serveAbout, env, stderr)
	sf.register(fs)
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "serve takes no arguments, got %q\nRun 'analyticsd -h' for help.\n", fs.Args())
		return errUsage
	}
	if err := sf.validate(fs, stderr); err != nil {
		return err
	}
	return serve(ctx, &sf, stdout)
}

// server is the running command: the store, the analytics Service, the
// scheduler and the HTTP side.
type server struct {
	sf       *serveFlags
	log      *slog.Logger
	st       store.Store
	svc      *analytics.Service
	sched    *scheduler.Scheduler
	tokens   atomic.Pointer[tokenauth.Set]
	ident    *identity
	alerts   *alerter            // nil without -alert-webhook
	apiStats *tracking.HTTPStats // fed by the request log; nil with -track-api
	demoOut  *demoReport         // nil without -demo
	dash     *dashboard          // nil with -no-dashboard
	prom     *promMetrics        // nil with -metrics=false
	stopping atomic.Bool         // set once shutdown begins: /readyz answers 503
	warmed   func()              // cancels the start-up cache warm-up and waits for it
}

// serve runs the server until ctx ends. The database is closed last, once,
// whatever happened before.
func serve(ctx context.Context, sf *serveFlags, stdout io.Writer) error {
	st, err := openStore(ctx, &sf.commonFlags, true)
	if err != nil {
		return err
	}
	s := &server{sf: sf, log: sf.logger, st: st}
	if sf.metrics.enabled {
		s.st, s.prom = newPromMetrics(st)
	}
	err = s.wire(ctx)
	if err == nil {
		err = s.run(ctx, stdout)
	}
	if cerr := st.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("close database: %w", cerr))
	}
	if err == nil {
		s.log.Info("stopped")
	}
	return err
}

// wire builds the Service and the scheduler over the store, with the demo
// data and history when -demo asks for them.
func (s *server) wire(ctx context.Context) (err error) {
	sf := s.sf
	if sf.demo {
		if s.demoOut, err = prepareDemo(ctx, s.st, sf, s.log); err != nil {
			return err
		}
	}
	if err := s.loadTokens(); err != nil {
		return err
	}
	if s.ident, err = newIdentity(ctx, &sf.identityFlags, &s.tokens, s.log); err != nil {
		return err
	}
	if !sf.trackAPI {
		s.apiStats = &tracking.HTTPStats{}
	}
	tc, err := trackingConfig(sf, s.apiStats)
	if err != nil {
		return err
	}
	rl := rateLimitConfig(sf)
	rl.Limiter = analytics.NewMemoryRateLimiter() // shared with the dashboard's sign-in
	s.svc, err = analytics.New(s.st, analytics.Config{
		IdentifyFunc: s.ident.identify,
		Logger:       s.log,
		Location:     sf.location,
		StorageDirs:  sf.storageDirs.values,
		Tracking:     tc,

		ExportsPerPrincipal: sf.exportsPerPrincipal,
		ExportsTotal:        sf.exportsTotal,
		ExportStallTimeout:  sf.exportStall,
		ImportsTotal:        sf.importsTotal,
		ReadsPerPrincipal:   readsPerPrincipal(sf.readsPerPrincipal),
		BodyReadTimeout:     sf.bodyTimeout,
		RateLimit:           rl,
	})
	if err != nil {
		return fmt.Errorf("configure analytics: %w", err)
	}
	s.sched, err = scheduler.New(s.st, scheduler.Config{
		Location:              sf.location,
		Schedules:             sf.scheduleByJob,
		ActivityRetentionDays: sf.retention,
		Analytics:             s.svc,
		Logger:                s.log,
		Observe:               s.prom.observeJob(),
	})
	if err != nil {
		return fmt.Errorf("-schedule: %w", err)
	}
	s.svc.SetJobs(s.sched)
	if !sf.uiDisabled {
		fails := authFailures{limiter: rl.Limiter, limit: sf.authFailLimit, ip: tc.Middleware.IP}
		if s.dash, err = newDashboard(sf, s.svc, s.ident, fails, s.log); err != nil {
			return err
		}
	}
	s.prom.addService(s.svc)
	if s.demoOut != nil && s.demoOut.loaded != nil {
		return s.demoHistory(ctx)
	}
	return nil
}

// loadTokens reads the -tokens file; without one every API request is
// refused.
func (s *server) loadTokens() error {
	s.tokens.Store(&tokenauth.Set{})
	if s.sf.tokens == "" {
		if !s.sf.identityFlags.enabled() {
			s.log.Warn("no tokens file, JWT secret or OIDC issuer: every API request will be refused with 401; set -tokens (ANALYTICS_TOKENS_FILE)")
		}
		return nil
	}
	set, err := tokenauth.LoadFile(s.sf.tokens)
	if err != nil {
		return fmt.Errorf("-tokens: %w", err)
	}
	s.tokens.Store(set)
	s.log.Info("tokens loaded", "file", s.sf.tokens, "tokens", set.Len())
	warnTokensMode(s.sf.tokens, s.log)
	return nil
}

// warnTokensMode warns when the tokens file can be read by its group or
// by everyone: anyone reading it can use every token in it.
func warnTokensMode(path string, log *slog.Logger) {
	fi, err := os.Stat(path)
	if err != nil || runtime.GOOS == "windows" {
		return
	}
	if perm := fi.Mode().Perm(); perm&0o044 != 0 {
		log.Warn("tokens file is readable by other users; restrict it with chmod 600", "file", path, "mode", fmt.Sprintf("%#o", perm))
	}
}

// demoHistory writes the dashboard snapshots of the demo activity window
// and runs the hourly and health jobs once, so that jobs/ and
// system-health have something to show.
func (s *server) demoHistory(ctx context.Context) error {
	start := time.Now()
	now := time.Now().In(s.sf.location)
	if err := s.sched.Backfill(ctx, now.AddDate(0, 0, -demo.ActivityDays), now, nil); err != nil {
		return fmt.Errorf("-demo: backfill snapshots: %w", err)
	}
	for _, job := range []string{scheduler.JobUsageStats, scheduler.JobSampleHealth} {
		if _, err := s.sched.RunNow(ctx, job); err != nil {
			s.log.Warn("demo: first job run failed", "job", job, "err", err)
		}
	}
	s.log.Info("demo snapshots written", "days", demo.ActivityDays+1, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// run starts the background work and the HTTP server, serves until ctx
// ends or the server fails, and shuts down in order.
func (s *server) run(ctx context.Context, stdout io.Writer) error {
	ln, err := net.Listen("tcp", s.sf.addr)
	if err != nil {
		return fmt.Errorf("-addr: %w", err)
	}
	// The background work outlives ctx: it is stopped in order by shutdown.
	bg := context.WithoutCancel(ctx)
	if err := s.svc.Start(bg); err != nil {
		ln.Close()
		return fmt.Errorf("start analytics: %w", err)
	}
	if err := s.sched.Start(bg); err != nil {
		ln.Close()
		return errors.Join(fmt.Errorf("start scheduler: %w", err), s.svc.Close(bg))
	}
	if s.alerts, err = s.startAlerts(bg); err != nil {
		ln.Close()
		return errors.Join(err, s.sched.Close(bg), s.svc.Close(bg))
	}
	maddr, err := s.prom.listen(s.sf.metrics.addr, s.log)
	if err != nil {
		ln.Close()
		return errors.Join(err, s.alerts.close(bg), s.sched.Close(bg), s.svc.Close(bg))
	}
	mux := routes(s.sf, s.svc, s.st, &s.stopping, s.dash)
	if s.prom != nil && maddr == nil {
		mux.Handle("GET "+metricsPath, s.prom.handler(s.log))
	}
	srv := &http.Server{
		Handler:           s.prom.wrap(func(h http.Handler) http.Handler { return withRequestLog(s.log, s.apiStats, h) }, mux),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(newLimitListener(ln, s.sf.maxConns)) }()
	s.warmed = s.warmCache(bg)

	url := "http://" + displayAddr(ln.Addr())
	s.log.Info("listening", "url", url, "api", url+apiPrefix, "database", displayDSN(s.sf.database))
	if maddr != nil {
		murl := "http://" + displayAddr(maddr) + metricsPath
		s.log.Info("metrics listening", "url", murl)
		fmt.Fprintf(stdout, "Prometheus metrics at %s (change with -metrics-addr)\n", murl)
	}
	if s.demoOut != nil {
		s.demoOut.dashboard = s.dash != nil
		s.demoOut.print(stdout, url)
	} else {
		fmt.Fprintf(stdout, "analyticsd listening on %s (change with -addr); API at %s%s\n", url, url, apiPrefix)
		if s.dash != nil {
			fmt.Fprintf(stdout, "dashboard at %s/ (sign in with an API token)\n", url)
		}
	}
	runErr := s.wait(ctx, serveErr)
	return errors.Join(runErr, s.shutdown(ctx, srv))
}

// wait blocks until ctx ends or the HTTP server fails, reloading the
// tokens file and the JWT secret on SIGHUP.
func (s *server) wait(ctx context.Context, serveErr <-chan error) error {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			s.log.Info("shutting down")
			return nil
		case err := <-serveErr:
			return fmt.Errorf("serve: %w", err)
		case <-hup:
			tokensOK := reloadTokens(s.sf.tokens, &s.tokens, s.log)
			secretOK := s.ident.reloadSecret()
			if tokensOK || secretOK {
				if err := s.svc.RecordAdminAction(ctx, systemPrincipal, analytics.AdminAction{Action: analytics.ActionTokensReload,
					Description: "Reloaded the credentials on SIGHUP", Targets: map[string]any{"tokens_file": tokensOK,
						"tokens": s.tokens.Load().Len(), "jwt_secret": secretOK}}); err != nil {
					s.log.Error("SIGHUP: the reload is not in the audit trail", "err", err)
				}
			}
		}
	}
}

// shutdown stops in order: stop accepting requests and finish those in
// flight (within -shutdown-timeout), drain the activity recorder (within
// -drain-timeout), stop the jobs. The
// database is closed by serve, after it.
func (s *server) shutdown(ctx context.Context, srv *http.Server) error {
	s.stopping.Store(true)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.sf.shutdown)
	defer cancel()
	var errs []error
	if err := srv.Shutdown(sctx); err != nil {
		errs = append(errs, fmt.Errorf("http shutdown: %w", err))
	}
	s.warmed()
	if err := s.prom.shutdown(sctx); err != nil {
		errs = append(errs, err)
	}
	// The recorder gets its own deadline, so slow clients cannot use up
	// the time it needs to write what it holds.
	dctx, dcancel := context.WithTimeout(context.WithoutCancel(ctx), s.sf.drain)
	defer dcancel()
	if err := s.svc.Close(dctx); err != nil {
		errs = append(errs, fmt.Errorf("close analytics: %w", err))
	}
	if err := s.sched.Close(sctx); err != nil {
		errs = append(errs, fmt.Errorf("close scheduler: %w", err))
	}
	if err := s.alerts.close(sctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// warmCache computes the dashboard's cached parts in the background, so
// that the first request after a start does not pay for them, nor for
// opening the database connections they read on (and, on PostgreSQL, each
// new connection's first look at the tables). It returns a function that
// cancels the warm-up and waits for it to end.
func (s *server) warmCache(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		start := time.Now()
		if _, err := s.svc.Dashboard(ctx, systemPrincipal); err != nil {
			if ctx.Err() == nil {
				s.log.Warn("warming the cache failed; the first requests compute it", "err", err)
			}
			return
		}
		s.log.Info("cache warmed", "took", time.Since(start).Round(time.Microsecond))
	}()
	return func() {
		cancel()
		<-done
	}
}

func displayAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	if tcp.IP.IsUnspecified() {
		return net.JoinHostPort("localhost", fmt.Sprint(tcp.Port))
	}
	return tcp.String()
}

// routes serves the API, the health checks and, unless dash is nil, the
// dashboard at /.
func routes(sf *serveFlags, svc *analytics.Service, st store.Store, stopping *atomic.Bool, dash *dashboard) *http.ServeMux {
	mux := http.NewServeMux()
	api := http.StripPrefix(apiPrefix[:len(apiPrefix)-1], svc.Handler())
	if sf.trackAPI {
		api = svc.Middleware()(api) // records activities and feeds the HTTP figures
	}
	mux.Handle(apiPrefix, api)
	mux.Handle(apiPrefix[:len(apiPrefix)-1], api)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if stopping.Load() {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "stopping"})
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := st.Ping(ctx); err != nil {
			sf.logger.Warn("readiness check failed", "request_id", requestIDFrom(r.Context()), "err", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "error": "database unreachable"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	if dash != nil {
		dash.mount(mux)
		return mux
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		reqbody.Discard(w, r)
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "not found",
			"message": "No route " + r.URL.Path + "; the API is under " + apiPrefix})
	})
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// trackingConfig maps the IP flags to the Service's tracking settings.
// Without -track-api the tracking middleware does not wrap the API, so the
// request log feeds stats, the HTTP figures of system-health, instead.
func trackingConfig(sf *serveFlags, stats *tracking.HTTPStats) (analytics.TrackingConfig, error) {
	ip, err := tracking.NewIPResolver(tracking.IPConfig{TrustedProxies: sf.proxies, TrustedHops: sf.trustedHops, TrustedHeader: sf.clientIPHeader})
	if err != nil {
		return analytics.TrackingConfig{}, fmt.Errorf("-trusted-proxies: %w", err)
	}
	tc := analytics.TrackingConfig{Middleware: tracking.MiddlewareConfig{
		IP:        ip,
		IPStorage: tracking.IPStorage(sf.ipMode),
		SkipPaths: []string{"/healthz", "/readyz", metricsPath},
		Stats:     stats,
	}}
	if sf.ipMode == string(tracking.IPHash) {
		tc.Middleware.IPHashKey = []byte(sf.ipHashKey)
	}
	if sf.spoolDir != spoolOff {
		tc.Recorder.SpoolDir = sf.spoolDir
		tc.Recorder.SpoolMaxBytes = int64(sf.spoolMaxBytes)
	}
	if isPostgresURL(sf.database) {
		// PostgreSQL takes concurrent COPY batches: four writers reach
		// about 110,000 events/s on two cores against 95,000 with two
		// (BENCHMARKS.md). SQLite has a single writer connection.
		tc.Recorder.Writers = 4
	}
	return tc, nil
}

// rateLimitConfig maps -rate-limit, -rate-limit-roles and
// -auth-fail-limit to the Service's rate limits (in-process budgets: each
// replica counts its own requests).
func rateLimitConfig(sf *serveFlags) analytics.RateLimitConfig {
	rl := analytics.RateLimitConfig{Requests: sf.rateLimit, FailedAuth: sf.authFailLimit, Roles: map[analytics.Role]int{}}
	for role, n := range sf.roleLimits {
		rl.Roles[analytics.Role(role)] = n
	}
	return rl
}

// reloadTokens replaces the tokens with the content of path; a file that
// cannot be read or is invalid leaves the current tokens in place. It
// reports whether the tokens were replaced.
func reloadTokens(path string, tokens *atomic.Pointer[tokenauth.Set], log *slog.Logger) bool {
	if path == "" {
		log.Warn("SIGHUP: no -tokens file to reload")
		return false
	}
	set, err := tokenauth.LoadFile(path)
	if err != nil {
		log.Error("SIGHUP: tokens not reloaded; the previous tokens stay in use", "file", path, "err", err)
		return false
	}
	tokens.Store(set)
	log.Info("tokens reloaded", "file", path, "tokens", set.Len())
	warnTokensMode(path, log)
	return true
}

// systemPrincipal is who the server's own admin actions (a reload on
// SIGHUP) are recorded as.
var systemPrincipal = analytics.Principal{ID: "system", Username: "system", FullName: "analyticsd", Role: analytics.RoleAdmin}

// readsPerPrincipal maps -read-per-user (0: no bound) to
// analytics.Config.ReadsPerPrincipal (negative: no bound).
func readsPerPrincipal(n int) int {
	if n == 0 {
		return -1
	}
	return n
}
