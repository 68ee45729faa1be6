package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-co-op/gocron/v2"

	"github.com/advisoranalytics/advisor-analytics/analytics"
	"github.com/advisoranalytics/advisor-analytics/scheduler"
	"github.com/advisoranalytics/advisor-analytics/store/postgres"
	"github.com/advisoranalytics/advisor-analytics/tracking"
)

// Defaults of the reference server's settings.
const (
	addrDefault     = "127.0.0.1:8080"
	databaseDefault = "./analytics.db"
	// spoolDirDefault is the activity spool's directory; spoolOff disables
	// the spool.
	spoolDirDefault = "./analytics-spool"
	spoolOff        = "off"
	// demoTokensSuffix names the demo tokens file written next to a SQLite
	// database ("./analytics.db-demo-tokens.json").
	demoTokensSuffix = "-demo-tokens.json"
	// demoTokensName is the demo tokens file used with PostgreSQL.
	demoTokensName = "analytics-demo-tokens.json"
	// maxConnectionsDefault caps the open client connections.
	maxConnectionsDefault = 1024
	// rateLimitDefault is the API requests per hour of each user.
	rateLimitDefault = 1000
	// authFailLimitDefault is the failed authentications per hour of one
	// client address.
	authFailLimitDefault = 100
)

// errUsage marks a command-line or environment error already explained to
// the user; run exits with status 2.
var errUsage = errors.New("usage error")

// listValue is a repeatable flag. Values from the environment are replaced,
// not extended, by values given on the command line.
type listValue struct {
	values  []string
	fromEnv bool
}

func (l *listValue) String() string { return strings.Join(l.values, ",") }

func (l *listValue) Set(v string) error {
	if l.fromEnv {
		l.values, l.fromEnv = nil, false
	}
	l.values = append(l.values, v)
	return nil
}

// flagSet is a flag.FlagSet whose flags may also be set through
// environment variables (a flag on the command line wins).
type flagSet struct {
	*flag.FlagSet
	env    map[string]string // flag name → environment variable
	getenv func(string) string
	// fromEnv records the flags set from the environment.
	fromEnv map[string]bool
	stderr  io.Writer
}

func newFlagSet(name, synopsis, about string, getenv func(string) string, stderr io.Writer) *flagSet {
	fs := &flagSet{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError), env: map[string]string{},
		getenv: getenv, fromEnv: map[string]bool{}, stderr: stderr}
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: %s\n\n%s\n\nFlags:\n", synopsis, about)
		fs.PrintDefaults()
	}
	return fs
}

// The *VarEnv methods define a flag bound
// to an environment variable.
func (fs *flagSet) stringVarEnv(p *string, name, value, usage, env string) {
	fs.StringVar(p, name, value, usage)
	fs.bind(name, env)
}

func (fs *flagSet) intVarEnv(p *int, name string, value int, usage, env string) {
	fs.IntVar(p, name, value, usage)
	fs.bind(name, env)
}

func (fs *flagSet) durationVarEnv(p *time.Duration, name string, value time.Duration, usage, env string) {
	fs.DurationVar(p, name, value, usage)
	fs.bind(name, env)
}

func (fs *flagSet) boolVarEnv(p *bool, name string, value bool, usage, env string) {
	fs.BoolVar(p, name, value, usage)
	fs.bind(name, env)
}

func (fs *flagSet) varEnv(v flag.Value, name, usage, env string) {
	fs.Var(v, name, usage)
	fs.bind(name, env)
}

// bind ties flag name to the environment variable env.
func (fs *flagSet) bind(name, env string) {
	f := fs.Lookup(name)
	if f == nil {
		panic("bind: no flag " + name)
	}
	fs.env[name] = env
	switch {
	case name == "schedule":
		f.Usage += " (env " + env + ", ';'-separated)"
	case isList(f):
		f.Usage += " (env " + env + ", comma-separated)"
	default:
		f.Usage += " (env " + env + ")"
	}
}

func isList(f *flag.Flag) bool {
	_, ok := f.Value.(*listValue)
	return ok
}

// parse applies the environment, then the arguments. A -h prints the usage
// and returns flag.ErrHelp; a bad value or argument prints the problem and
// the usage and returns errUsage.
func (fs *flagSet) parse(args []string) error {
	names := make([]string, 0, len(fs.env))
	for name := range fs.env {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		env := fs.env[name]
		v := fs.getenv(env)
		if v == "" {
			continue
		}
		f := fs.Lookup(name)
		if lv, ok := f.Value.(*listValue); ok {
			sep := ","
			if name == "schedule" {
				sep = ";"
			}
			lv.values = nil
			for _, item := range strings.Split(v, sep) {
				if item = strings.TrimSpace(item); item != "" {
					lv.values = append(lv.values, item)
				}
			}
			lv.fromEnv = true
		} else if err := f.Value.Set(v); err != nil {
			fmt.Fprintf(fs.stderr, "invalid value %q for %s: %v\n", v, env, err)
			return errUsage
		}
		fs.fromEnv[name] = true
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return flag.ErrHelp
		}
		return errUsage // the flag package printed the problem and the usage
	}
	fs.Visit(func(f *flag.Flag) { delete(fs.fromEnv, f.Name) })
	return nil
}

// source names where a flag's value came from, for error messages.
func (fs *flagSet) source(name string) string {
	if fs.fromEnv[name] {
		return fs.env[name]
	}
	return "-" + name
}

// invalid prints a validation error about flag name and returns errUsage.
func (fs *flagSet) invalid(name, format string, args ...any) error {
	fmt.Fprintf(fs.stderr, "%s: %s\nRun 'analyticsd %s -h' for help.\n", fs.source(name), fmt.Sprintf(format, args...), fs.Name())
	return errUsage
}

// commonFlags are the settings every database command shares.
type commonFlags struct {
	database  string
	timezone  string
	logFormat string
	logLevel  string
	// partitionInterval is the span of a PostgreSQL activities partition.
	partitionInterval string
	// partitionCompactions is how many closed partitions each retention
	// run compacts (0: none).
	partitionCompactions int
	// replicas are hot standbys for reads (serve only registers them).
	replicas      listValue
	replicaMaxLag time.Duration

	location *time.Location
	logger   *slog.Logger
}

func (c *commonFlags) register(fs *flagSet) {
	fs.stringVarEnv(&c.database, "database", databaseDefault, "SQLite database file, or a postgres:// URL", "ANALYTICS_DATABASE_URL")
	fs.stringVarEnv(&c.timezone, "timezone", "UTC", "reporting time zone (IANA name, e.g. Europe/Paris): days, weeks and months are computed in it", "ANALYTICS_TIMEZONE")
	fs.stringVarEnv(&c.logFormat, "log-format", "text", "log format: text or json", "ANALYTICS_LOG_FORMAT")
	fs.stringVarEnv(&c.logLevel, "log-level", "info", "log level: debug, info, warn or error", "ANALYTICS_LOG_LEVEL")
	fs.stringVarEnv(&c.partitionInterval, "partition-interval", postgres.PartitionMonth,
		"PostgreSQL only: span of each partition of the activities table (month, week or day); retention drops whole partitions", "ANALYTICS_PARTITION_INTERVAL")
	fs.intVarEnv(&c.partitionCompactions, "partition-compactions", postgres.PartitionCompactionsDefault,
		"PostgreSQL only: closed activities partitions whose indexes each retention run rebuilds, smaller, without blocking reads or writes (each partition once; 0 for none)", "ANALYTICS_PARTITION_COMPACTIONS")
}

// validate checks the common settings and builds the logger (writing to
// logOut).
func (c *commonFlags) validate(fs *flagSet, logOut io.Writer) error {
	if strings.TrimSpace(c.database) == "" {
		return fs.invalid("database", "must name a SQLite file or a postgres:// URL")
	}
	switch c.partitionInterval {
	case postgres.PartitionMonth, postgres.PartitionWeek, postgres.PartitionDay:
	default:
		return fs.invalid("partition-interval", "must be month, week or day, got %q", c.partitionInterval)
	}
	if c.partitionCompactions < 0 {
		return fs.invalid("partition-compactions", "must not be negative, got %d", c.partitionCompactions)
	}
	if isPostgresURL(c.database) {
		if _, err := netURL(c.database); err != nil {
			return fs.invalid("database", "%v", err)
		}
	} else if keyValueDSN.MatchString(c.database) {
		// Not echoed: it may hold a password.
		return fs.invalid("database", "looks like a key=value connection string; write it as a postgres:// URL (e.g. postgres://user@localhost:5432/analytics)")
	} else if strings.Contains(c.database, "://") {
		return fs.invalid("database", "%q is neither a file path nor a postgres:// URL", redactURL(c.database))
	}
	for _, r := range c.replicas.values {
		if !isPostgresURL(c.database) {
			return fs.invalid("database-replica", "needs a PostgreSQL -database (the primary)")
		}
		if !isPostgresURL(r) {
			return fs.invalid("database-replica", "%q is not a postgres:// URL", redactURL(r))
		}
		if _, err := netURL(r); err != nil {
			return fs.invalid("database-replica", "%v", err)
		}
	}
	if c.replicaMaxLag < 0 {
		return fs.invalid("database-replica-max-lag", "must not be negative, got %s", c.replicaMaxLag)
	}
	loc, err := time.LoadLocation(c.timezone)
	if err != nil || c.timezone == "" || c.timezone == "Local" {
		return fs.invalid("timezone", "unknown time zone %q; use an IANA name such as UTC or Europe/Paris", c.timezone)
	}
	c.location = loc
	var level slog.Level
	switch strings.ToLower(c.logLevel) {
	case "debug":
		level = slog.LevelDebug
	case "info":
		level = slog.LevelInfo
	case "warn", "warning":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	default:
		return fs.invalid("log-level", "unknown level %q; use debug, info, warn or error", c.logLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch c.logFormat {
	case "text":
		c.logger = slog.New(slog.NewTextHandler(logOut, opts))
	case "json":
		c.logger = slog.New(slog.NewJSONHandler(logOut, opts))
	default:
		return fs.invalid("log-format", "unknown format %q; use text or json", c.logFormat)
	}
	return nil
}

// serveFlags are the settings of the serve command.
type serveFlags struct {
	commonFlags
	identityFlags
	alertFlags
	uiFlags
	addr           string
	tokens         string
	trustedProxies string
	trustedHops    int
	clientIPHeader string
	ipMode         string
	ipHashKey      string
	retention      int
	storageDirs    listValue
	schedules      listValue
	trackAPI       bool
	demo           bool
	shutdown       time.Duration
	drain          time.Duration
	spoolDir       string
	spoolMaxBytes  int
	// Bounds of exports and imports.
	exportsPerPrincipal int
	exportsTotal        int
	exportStall         time.Duration
	importsTotal        int
	readsPerPrincipal   int
	maxConns            int
	bodyTimeout         time.Duration
	rateLimit           int
	rateLimitRoles      string
	authFailLimit       int
	// Prometheus metrics.
	metrics metricsFlags

	proxies       []string
	roleLimits    map[string]int
	scheduleByJob map[string]string
}

func (s *serveFlags) register(fs *flagSet) {
	s.commonFlags.register(fs)
	fs.varEnv(&s.replicas, "database-replica", "postgres:// URL of a hot standby of -database that serves analytics reads (repeatable)", "ANALYTICS_DATABASE_REPLICA_URL")
	fs.durationVarEnv(&s.replicaMaxLag, "database-replica-max-lag", postgres.ReplicaMaxLagDefault, "how far a standby may lag behind the primary and still serve reads", "ANALYTICS_DATABASE_REPLICA_MAX_LAG")
	fs.stringVarEnv(&s.addr, "addr", addrDefault, "address to listen on (host:port)", "ANALYTICS_ADDR")
	fs.stringVarEnv(&s.tokens, "tokens", "", "bearer tokens file (JSON); without it, -jwt-secret-file or -oidc-issuer every API request is refused with 401 (with -demo, a demo file is written)", "ANALYTICS_TOKENS_FILE")
	fs.stringVarEnv(&s.trustedProxies, "trusted-proxies", "", "comma-separated CIDRs or addresses of reverse proxies whose X-Forwarded-For is believed", "ANALYTICS_TRUSTED_PROXIES")
	fs.intVarEnv(&s.trustedHops, "trusted-hops", 0, "number of reverse proxies in front of the server whose addresses are not known: the client is that many addresses from the right of X-Forwarded-For (instead of -trusted-proxies)", "ANALYTICS_TRUSTED_HOPS")
	fs.stringVarEnv(&s.clientIPHeader, "client-ip-header", "", "header holding the client address set by a trusted edge, e.g. CF-Connecting-IP or X-Real-IP (read only from -trusted-proxies when they are set)", "ANALYTICS_CLIENT_IP_HEADER")
	fs.stringVarEnv(&s.ipMode, "ip-mode", "full", "how client IPs are stored: full, truncate (/24, /48), hash (keyed HMAC) or none", "ANALYTICS_IP_MODE")
	fs.stringVarEnv(&s.ipHashKey, "ip-hash-key", "", "secret key (at least 16 bytes) for -ip-mode hash", "ANALYTICS_IP_HASH_KEY")
	fs.intVarEnv(&s.retention, "retention", scheduler.ActivityRetentionDaysDefault, "days activities are kept before the weekly clean-up deletes them", "ANALYTICS_RETENTION_DAYS")
	fs.varEnv(&s.storageDirs, "storage-dir", "directory whose size is reported as storage_used (repeatable)", "ANALYTICS_STORAGE_DIRS")
	fs.varEnv(&s.schedules, "schedule", "job schedule as name=cron, e.g. cleanup_old_activities='0 3 * * 0' (repeatable)", "ANALYTICS_SCHEDULES")
	fs.boolVarEnv(&s.trackAPI, "track-api", false, "record the analytics API's own requests as activities", "ANALYTICS_TRACK_API")
	fs.boolVarEnv(&s.demo, "demo", false, "load demo data into an empty database and print demo tokens and curl commands", "ANALYTICS_DEMO")
	fs.durationVarEnv(&s.shutdown, "shutdown-timeout", 30*time.Second, "how long a graceful shutdown may take", "ANALYTICS_SHUTDOWN_TIMEOUT")
	fs.durationVarEnv(&s.drain, "drain-timeout", 10*time.Second, "how long the activity recorder may take, after the HTTP shutdown, to write what it holds (with a spool, the rest waits there for the next start)", "ANALYTICS_DRAIN_TIMEOUT")
	fs.stringVarEnv(&s.spoolDir, "spool-dir", spoolDirDefault, "directory of the durable activity spool, relative to the working directory unless absolute (an accepted activity is on disk before its 202); off disables it", "ANALYTICS_SPOOL_DIR")
	fs.intVarEnv(&s.spoolMaxBytes, "spool-max-bytes", tracking.SpoolMaxBytesDefault, "cap on the spool's size in bytes; past it, activities go straight to the database (a POST answers 503 if that fails too)", "ANALYTICS_SPOOL_MAX_BYTES")
	s.identityFlags.register(fs)
	s.alertFlags.register(fs)
	fs.intVarEnv(&s.exportsPerPrincipal, "export-per-user", analytics.ExportsPerPrincipalDefault, "activity exports one caller may run at once (one more is answered 429)", "ANALYTICS_EXPORT_PER_USER")
	fs.intVarEnv(&s.exportsTotal, "export-total", analytics.ExportsTotalDefault, "activity exports that may run at once in all (one more is answered 429)", "ANALYTICS_EXPORT_TOTAL")
	fs.durationVarEnv(&s.exportStall, "export-stall-timeout", analytics.ExportStallTimeoutDefault, "how long an export waits for its client to take each batch of rows before it is cut short", "ANALYTICS_EXPORT_STALL_TIMEOUT")
	fs.intVarEnv(&s.importsTotal, "import-total", analytics.ImportsTotalDefault, "Advisor CSV imports that may run at once (one more is answered 429)", "ANALYTICS_IMPORT_TOTAL")
	fs.intVarEnv(&s.readsPerPrincipal, "read-per-user", analytics.ReadsPerPrincipalDefault, "uncached activity reads (activity pages, activity summaries) one caller may run at once; more wait their turn (0: no bound)", "ANALYTICS_READ_PER_USER")
	fs.intVarEnv(&s.maxConns, "max-connections", maxConnectionsDefault, "most open client connections; more wait to be accepted (0: no cap)", "ANALYTICS_MAX_CONNECTIONS")
	fs.durationVarEnv(&s.bodyTimeout, "body-timeout", analytics.BodyReadTimeoutDefault, "how long a small JSON request body may take to arrive (uploads and bulk ingestion keep the 2-minute read timeout)", "ANALYTICS_BODY_TIMEOUT")
	fs.intVarEnv(&s.rateLimit, "rate-limit", rateLimitDefault, "API requests per hour for each user (0: no limit)", "ANALYTICS_RATE_LIMIT")
	fs.stringVarEnv(&s.rateLimitRoles, "rate-limit-roles", "", "per-role overrides of -rate-limit as role=requests per hour, e.g. admin=0,manager=5000 (0: no limit)", "ANALYTICS_RATE_LIMIT_ROLES")
	fs.intVarEnv(&s.authFailLimit, "auth-fail-limit", authFailLimitDefault, "failed authentications per hour from one client address before its requests are refused with 429 (0: no limit)", "ANALYTICS_AUTH_FAIL_LIMIT")
	s.uiFlags.register(fs)
	s.metrics.register(fs)
}

func (s *serveFlags) validate(fs *flagSet, logOut io.Writer) error {
	if err := s.commonFlags.validate(fs, logOut); err != nil {
		return err
	}
	_, port, err := net.SplitHostPort(s.addr)
	if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 0 || n > 65535 {
		return fs.invalid("addr", "%q is not host:port (e.g. 127.0.0.1:8080 or :8080)", s.addr)
	}
	if err := s.validateClientIP(fs); err != nil {
		return err
	}
	if s.retention < 1 || s.retention > 36500 {
		return fs.invalid("retention", "must be a number of days between 1 and 36500, got %d", s.retention)
	}
	for _, d := range s.storageDirs.values {
		fi, err := os.Stat(d)
		if err != nil {
			return fs.invalid("storage-dir", "%v", err)
		}
		if !fi.IsDir() {
			return fs.invalid("storage-dir", "%s is not a directory", d)
		}
	}
	if err := s.validateSchedules(fs); err != nil {
		return err
	}
	if s.shutdown <= 0 {
		return fs.invalid("shutdown-timeout", "must be positive, got %v", s.shutdown)
	}
	if err := s.validateLimits(fs); err != nil {
		return err
	}
	if err := s.metrics.validate(fs); err != nil {
		return err
	}
	if s.tokens != "" {
		if _, err := os.Stat(s.tokens); err != nil && !(s.demo && errors.Is(err, os.ErrNotExist)) {
			return fs.invalid("tokens", "%v", err)
		}
	}
	if err := s.identityFlags.validate(fs); err != nil {
		return err
	}
	if err := s.uiFlags.validate(fs); err != nil {
		return err
	}
	return s.alertFlags.validate(fs)
}

// validateClientIP checks how client addresses are found and stored.
func (s *serveFlags) validateClientIP(fs *flagSet) error {
	s.proxies = nil
	for _, p := range strings.Split(s.trustedProxies, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if _, err := netip.ParsePrefix(p); err != nil {
			if _, err := netip.ParseAddr(p); err != nil {
				return fs.invalid("trusted-proxies", "%q is not an IP address or CIDR prefix (e.g. 10.0.0.0/8)", p)
			}
		}
		s.proxies = append(s.proxies, p)
	}
	if s.trustedHops < 0 || s.trustedHops > 32 {
		return fs.invalid("trusted-hops", "must be between 0 and 32, got %d", s.trustedHops)
	}
	if s.trustedHops > 0 && (len(s.proxies) > 0 || s.clientIPHeader != "") {
		return fs.invalid("trusted-hops", "cannot be combined with -trusted-proxies or -client-ip-header")
	}
	if h := s.clientIPHeader; h != "" && strings.ContainsFunc(h, func(r rune) bool {
		return !(r == '-' || r == '_' || ('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z'))
	}) {
		return fs.invalid("client-ip-header", "%q is not a header name", h)
	}
	switch s.ipMode {
	case "full", "truncate", "none":
	case "hash":
		if len(s.ipHashKey) < 16 {
			return fs.invalid("ip-hash-key", "-ip-mode hash needs a secret key of at least 16 bytes (-ip-hash-key or ANALYTICS_IP_HASH_KEY)")
		}
	default:
		return fs.invalid("ip-mode", "unknown mode %q; use full, truncate, hash or none", s.ipMode)
	}
	return nil
}

// validateLimits checks the spool, export, connection and rate limits.
func (s *serveFlags) validateLimits(fs *flagSet) error {
	if s.drain <= 0 {
		return fs.invalid("drain-timeout", "must be positive, got %v", s.drain)
	}
	if s.spoolMaxBytes < 1<<20 {
		return fs.invalid("spool-max-bytes", "must be at least 1048576 (1 MiB), got %d", s.spoolMaxBytes)
	}
	if strings.TrimSpace(s.spoolDir) == "" {
		return fs.invalid("spool-dir", "is empty; use off to disable the spool")
	}
	for _, f := range []struct {
		name string
		n    int
	}{{"export-per-user", s.exportsPerPrincipal}, {"export-total", s.exportsTotal}, {"import-total", s.importsTotal}} {
		if f.n < 1 || f.n > 10000 {
			return fs.invalid(f.name, "must be between 1 and 10000, got %d", f.n)
		}
	}
	if s.exportStall < time.Second {
		return fs.invalid("export-stall-timeout", "must be at least 1s, got %v", s.exportStall)
	}
	if s.readsPerPrincipal < 0 || s.readsPerPrincipal > 10000 {
		return fs.invalid("read-per-user", "must be between 0 and 10000, got %d", s.readsPerPrincipal)
	}
	if s.maxConns < 0 {
		return fs.invalid("max-connections", "must not be negative, got %d", s.maxConns)
	}
	if s.bodyTimeout <= 0 {
		return fs.invalid("body-timeout", "must be positive, got %v", s.bodyTimeout)
	}
	if s.rateLimit < 0 {
		return fs.invalid("rate-limit", "must not be negative, got %d", s.rateLimit)
	}
	if s.authFailLimit < 0 {
		return fs.invalid("auth-fail-limit", "must not be negative, got %d", s.authFailLimit)
	}
	s.roleLimits = map[string]int{}
	for _, item := range strings.Split(s.rateLimitRoles, ",") {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		role, v, ok := strings.Cut(item, "=")
		role = strings.TrimSpace(role)
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if !ok || err != nil || n < 0 {
			return fs.invalid("rate-limit-roles", "%q is not role=requests per hour (e.g. admin=0,manager=5000)", item)
		}
		if !slices.Contains([]string{"admin", "manager", "analyst", "viewer"}, role) {
			return fs.invalid("rate-limit-roles", "unknown role %q; roles: admin, manager, analyst, viewer", role)
		}
		s.roleLimits[role] = n
	}
	return nil
}

// demoTokensPath is where -demo writes its tokens when -tokens is not set:
// next to the SQLite database, or in the working directory.
func (s *serveFlags) demoTokensPath() string {
	if s.tokens != "" {
		return s.tokens
	}
	if isPostgresURL(s.database) {
		return demoTokensName
	}
	return s.database + demoTokensSuffix
}

func isPostgresURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// validateSchedules parses the -schedule values into scheduleByJob.
func (s *serveFlags) validateSchedules(fs *flagSet) error {
	s.scheduleByJob = map[string]string{}
	for _, sc := range s.schedules.values {
		name, spec, ok := strings.Cut(sc, "=")
		name, spec = strings.TrimSpace(name), strings.TrimSpace(spec)
		if !ok || spec == "" {
			return fs.invalid("schedule", "%q is not name=cron (e.g. cleanup_old_activities=0 3 * * 0)", sc)
		}
		if !slices.Contains(scheduler.JobNames, name) {
			return fs.invalid("schedule", "unknown job %q; jobs: %s", name, strings.Join(scheduler.JobNames, ", "))
		}
		if _, dup := s.scheduleByJob[name]; dup {
			return fs.invalid("schedule", "job %s is scheduled twice", name)
		}
		if err := validCron(spec, s.location); err != nil {
			return fs.invalid("schedule", "%s: %q is not a cron schedule (5 fields, 6 with seconds, or @hourly, @every 10m, …): %v", name, spec, err)
		}
		s.scheduleByJob[name] = spec
	}
	return nil
}

// validCron checks a schedule the way the scheduler parses it, so a bad
// -schedule is refused before the database is opened.
func validCron(spec string, loc *time.Location) error {
	fields := strings.Fields(spec)
	if len(fields) > 0 && (strings.HasPrefix(fields[0], "TZ=") || strings.HasPrefix(fields[0], "CRON_TZ=")) {
		fields = fields[1:]
	}
	err := gocron.NewDefaultCron(len(fields) == 6).IsValid(spec, loc, time.Now())
	if err != nil {
		msg := strings.ReplaceAll(err.Error(), "\n", " ")
		return errors.New(strings.TrimPrefix(msg, "gocron: CronJob: "))
	}
	return nil
}
