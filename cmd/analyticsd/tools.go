package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/advisoranalytics/advisor-analytics/analytics"
	"github.com/advisoranalytics/advisor-analytics/internal/dates"
	"github.com/advisoranalytics/advisor-analytics/scheduler"
	"github.com/advisoranalytics/advisor-analytics/store"
)

// cliPrincipal is the identity the command-line tools act as.
func cliPrincipal(id string) analytics.Principal {
	return analytics.Principal{ID: id, Username: id, FullName: "analyticsd command line", Role: analytics.RoleAdmin}
}

func runInit(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	var (
		c         commonFlags
		days      int
		schedules listValue
	)
	fs := newFlagSet("init", "analyticsd init [flags]",
		"Prepare a database: apply the migrations, backfill the daily (and the weekly and\nmonthly) dashboard snapshots of the last -days days, warm the cache, then check\nthe setup. Exits with status 1 when a check fails.", env, stderr)
	c.register(fs)
	fs.intVarEnv(&days, "days", scheduler.InitDaysDefault, "days of daily snapshots to backfill, ending today", "ANALYTICS_INIT_DAYS")
	fs.varEnv(&schedules, "schedule", "job schedule as name=cron, checked like serve's (repeatable)", "ANALYTICS_SCHEDULES")
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fs.invalid("days", "init takes no arguments, got %q", fs.Args())
	}
	if err := c.validate(fs, stderr); err != nil {
		return err
	}
	if days < 1 || days > 3660 {
		return fs.invalid("days", "must be between 1 and 3660, got %d", days)
	}
	sf := serveFlags{commonFlags: c, schedules: schedules}
	if err := sf.validateSchedules(fs); err != nil {
		return err
	}
	return withService(ctx, &c, false, func(st store.Store, svc *analytics.Service) error {
		fmt.Fprintf(stdout, "Initialising %s (reporting time zone %s; change with -database and -timezone)\n", displayDSN(c.database), c.location)
		rep, err := scheduler.Init(ctx, st, scheduler.InitConfig{
			Days:      days,
			Progress:  func(line string) { fmt.Fprintln(stdout, line) },
			Check:     func(r scheduler.CheckResult) { printCheck(stdout, r) },
			Analytics: svc,
			Scheduler: scheduler.Config{Location: c.location, Schedules: sf.scheduleByJob, Logger: c.logger},
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Ready: schema version %d, %d snapshots written.\n", rep.MigrationsApplied, rep.Snapshots)
		return nil
	})
}

// printCheck prints an init check as "✓ name" or "✗ name: reason".
func printCheck(w io.Writer, r scheduler.CheckResult) {
	if r.Err != nil {
		fmt.Fprintf(w, "✗ %s: %v\n", r.Name, r.Err)
		return
	}
	fmt.Fprintf(w, "✓ %s\n", r.Name)
}

// withService opens the database, builds a Service over it and runs fn;
// the database is closed once, whatever fn returns.
func withService(ctx context.Context, c *commonFlags, migrate bool, fn func(store.Store, *analytics.Service) error) error {
	st, err := openStore(ctx, c, migrate)
	if err != nil {
		return err
	}
	svc, err := analytics.New(st, analytics.Config{Logger: c.logger, Location: c.location})
	if err != nil {
		err = fmt.Errorf("configure analytics: %w", err)
	} else {
		err = fn(st, svc)
	}
	if cerr := st.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("close database: %w", cerr))
	}
	return err
}

// importArgs are the import-advisor flags and file.
type importArgs struct {
	c                               commonFlags
	clientID, reportType, createdBy string
	clientName, industry            string
	file                            string
}

func runImportAdvisor(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	a, err := parseImportAdvisor(args, env, stderr)
	if err != nil {
		return err
	}
	return withInput(ctx, &a.c, a.file, func(st store.Store, svc *analytics.Service, src io.Reader, size int64) error {
		p := cliPrincipal(a.createdBy)
		if err := ensureClient(ctx, st, svc, p, a, stderr); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "Reading %s…\n", a.file)
		pr := &progressReader{r: bufio.NewReaderSize(src, 64<<10), total: size, out: stderr, start: time.Now()}
		res, err := svc.ImportAdvisorCSV(ctx, p, analytics.CSVImport{ClientID: a.clientID, ReportType: store.ReportType(a.reportType)}, pr)
		if err != nil {
			var ae *analytics.Error
			if errors.As(err, &ae) {
				return fmt.Errorf("%s: %s", a.file, ae.Detail)
			}
			return fmt.Errorf("%s: %w", a.file, err)
		}
		pr.finish()
		fmt.Fprintf(stdout, "Imported %d recommendations from %s into report %s (%s, client %s); %d rows skipped.\n",
			res.RowsImported, a.file, res.ReportID, a.reportType, a.clientID, len(res.RowsSkipped))
		for i, sk := range res.RowsSkipped {
			if i == 20 {
				fmt.Fprintf(stdout, "  … and %d more\n", len(res.RowsSkipped)-i)
				break
			}
			fmt.Fprintf(stdout, "  row %d skipped: %s\n", sk.Row, sk.Reason)
		}
		return nil
	})
}

// parseImportAdvisor reads and checks the import-advisor flags.
func parseImportAdvisor(args []string, env func(string) string, stderr io.Writer) (*importArgs, error) {
	var a importArgs
	fs := newFlagSet("import-advisor", "analyticsd import-advisor [flags] FILE",
		"Import an Azure Advisor \"Download as CSV\" export as one completed report of\na client, with one recommendation per row (rows that cannot be imported are\nlisted). FILE \"-\" reads standard input.", env, stderr)
	a.c.register(fs)
	fs.StringVar(&a.clientID, "client-id", "", "UUID of the client the report belongs to (required)")
	fs.StringVar(&a.reportType, "report-type", string(store.ReportDetailed), "report type: detailed, executive, cost, security or operations")
	fs.StringVar(&a.clientName, "client-name", "", "create the client with this company name when it does not exist")
	fs.StringVar(&a.industry, "industry", string(store.IndustryOther), "industry of a client created with -client-name")
	fs.StringVar(&a.createdBy, "created-by", "analyticsd", "user id recorded as the report's author")
	if err := fs.parse(interleave(args)); err != nil {
		return nil, err
	}
	if fs.NArg() != 1 {
		fmt.Fprintf(stderr, "import-advisor needs exactly one FILE argument, got %d\nRun 'analyticsd import-advisor -h' for help.\n", fs.NArg())
		return nil, errUsage
	}
	a.file = fs.Arg(0)
	if err := a.c.validate(fs, stderr); err != nil {
		return nil, err
	}
	if a.clientID == "" {
		return nil, fs.invalid("client-id", "is required (the UUID of the client the report belongs to)")
	}
	cid, ok := store.NormalizeUUID(a.clientID)
	if !ok {
		return nil, fs.invalid("client-id", "%q is not a UUID", a.clientID)
	}
	a.clientID = cid
	if !store.ReportType(a.reportType).Valid() {
		return nil, fs.invalid("report-type", "unknown report type %q; use detailed, executive, cost, security or operations", a.reportType)
	}
	if !store.Industry(a.industry).Valid() {
		return nil, fs.invalid("industry", "unknown industry %q", a.industry)
	}
	if strings.TrimSpace(a.createdBy) == "" {
		return nil, fs.invalid("created-by", "must not be empty")
	}
	return &a, nil
}

// withInput opens the input file (after checking it can be read) and the
// database with its migrations applied, and runs fn.
func withInput(ctx context.Context, c *commonFlags, file string, fn func(st store.Store, svc *analytics.Service, src io.Reader, size int64) error) error {
	src, size, closeSrc, err := openInput(file)
	if err != nil {
		return err
	}
	defer closeSrc()
	return withService(ctx, c, true, func(st store.Store, svc *analytics.Service) error { return fn(st, svc, src, size) })
}

// openInput opens name for reading ("-" is standard input), with its size
// (-1 when unknown) and a function that closes it.
func openInput(name string) (io.Reader, int64, func(), error) {
	if name == "-" {
		return os.Stdin, -1, func() {}, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, 0, nil, err
	}
	size := int64(-1)
	if fi, err := f.Stat(); err == nil {
		size = fi.Size()
	}
	return f, size, func() { f.Close() }, nil
}

// ensureClient creates the client of an import with -client-name when it
// does not exist yet.
func ensureClient(ctx context.Context, st store.Store, svc *analytics.Service, p analytics.Principal, a *importArgs, stderr io.Writer) error {
	_, err := st.ClientGet(ctx, a.clientID)
	switch {
	case err == nil:
		return nil
	case !errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("look up client: %w", err)
	case a.clientName == "":
		return fmt.Errorf("client %s does not exist: pass -client-name to create it, or create it with POST %singest/clients/", a.clientID, apiPrefix)
	}
	if _, _, err := svc.IngestClient(ctx, p, analytics.ClientInput{ID: a.clientID, CompanyName: a.clientName, Industry: a.industry}); err != nil {
		return fmt.Errorf("create client: %w", err)
	}
	fmt.Fprintf(stderr, "Created client %s (%s).\n", a.clientID, a.clientName)
	return nil
}

// interleave moves flags given after positional arguments in front of
// them, so "import-advisor FILE -client-id X" works as well.
func interleave(args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			pos = append(pos, args[i+1:]...)
			i = len(args)
		case strings.HasPrefix(a, "-") && a != "-":
			flags = append(flags, a)
			if !strings.Contains(a, "=") && i+1 < len(args) && !isBoolFlag(a) {
				flags = append(flags, args[i+1])
				i++
			}
		default:
			pos = append(pos, a)
		}
	}
	return append(flags, pos...)
}

func isBoolFlag(a string) bool {
	a = strings.TrimLeft(a, "-")
	return a == "h" || a == "help"
}

// progressReader counts the bytes of a file read and, when out is set,
// reports the progress there.
type progressReader struct {
	r        io.Reader
	total    int64 // -1 when unknown
	n        int64
	lastPct  int64
	lastSize int64
	out      io.Writer
	start    time.Time
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n += int64(n)
	switch {
	case p.out == nil: // counting only
	case p.total >= progressMin:
		if pct := p.n * 100 / p.total; pct >= p.lastPct+10 {
			p.lastPct = pct - pct%10
			fmt.Fprintf(p.out, "  read %s of %s (%d%%)\n", humanBytes(p.n), humanBytes(p.total), p.lastPct)
		}
	case p.total < 0 && p.n >= p.lastSize+progressMin:
		p.lastSize = p.n
		fmt.Fprintf(p.out, "  read %s\n", humanBytes(p.n))
	}
	return n, err
}

// progressMin is the size from which reading progress is shown.
const progressMin = 1 << 20

func (p *progressReader) finish() {
	fmt.Fprintf(p.out, "  read %s in %s\n", humanBytes(p.n), time.Since(p.start).Round(time.Millisecond))
}

// humanBytes formats n in binary units ("12.3 KiB").
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}

// exportArgs are the export flags.
type exportArgs struct {
	c              commonFlags
	format, output string
	q              analytics.UserActivityQuery
}

func runExport(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	a, err := parseExport(args, env, stderr)
	if err != nil {
		return err
	}
	return withService(ctx, &a.c, false, func(_ store.Store, svc *analytics.Service) error {
		return writeExport(ctx, svc, a, stdout, stderr)
	})
}

// parseExport reads and checks the export flags.
func parseExport(args []string, env func(string) string, stderr io.Writer) (*exportArgs, error) {
	var (
		a        exportArgs
		from, to string
	)
	fs := newFlagSet("export", "analyticsd export [flags]",
		"Write every matching activity, newest first, as CSV or NDJSON (one JSON object\nper line) to standard output or -o, streaming in constant memory.", env, stderr)
	a.c.register(fs)
	fs.StringVar(&a.format, "format", analytics.FormatCSV, "output format: csv or ndjson")
	fs.StringVar(&from, "date-from", "", "first day or time included (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS, in -timezone)")
	fs.StringVar(&to, "date-to", "", "last day (whole day included) or time included")
	fs.StringVar(&a.q.UserID, "user-id", "", "only this user's activities")
	fs.StringVar(&a.q.ActivityType, "activity-type", "", "only this activity type (e.g. login)")
	fs.StringVar(&a.q.ClientID, "client-id", "", "only activities about this client (UUID)")
	fs.StringVar(&a.q.ReportID, "report-id", "", "only activities about this report (UUID)")
	fs.StringVar(&a.output, "o", "", "write to this file instead of standard output")
	if err := fs.parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fs.invalid("format", "export takes no arguments, got %q", fs.Args())
	}
	if err := a.c.validate(fs, stderr); err != nil {
		return nil, err
	}
	if a.format != analytics.FormatCSV && a.format != analytics.FormatNDJSON {
		return nil, fs.invalid("format", "unknown format %q; use csv or ndjson", a.format)
	}
	if err := exportDates(fs, &a.q, from, to, a.c.location); err != nil {
		return nil, err
	}
	for name, v := range map[string]string{"client-id": a.q.ClientID, "report-id": a.q.ReportID} {
		if v != "" && !store.ValidUUID(v) {
			return nil, fs.invalid(name, "%q is not a UUID", v)
		}
	}
	return &a, nil
}

// exportDates sets the bounds of q from -date-from and -date-to; a
// date-only -date-to includes that whole day.
func exportDates(fs *flagSet, q *analytics.UserActivityQuery, from, to string, loc *time.Location) error {
	var err error
	if from != "" {
		if q.From, _, err = dates.Parse(from, loc); err != nil {
			return fs.invalid("date-from", "%q is not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS)", from)
		}
	}
	if to != "" {
		var dateOnly bool
		if q.To, dateOnly, err = dates.Parse(to, loc); err != nil {
			return fs.invalid("date-to", "%q is not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS)", to)
		}
		if dateOnly {
			q.To = dates.DayEnd(q.To, q.To.Location())
		}
	}
	if !q.From.IsZero() && !q.To.IsZero() && q.From.After(q.To) {
		return fs.invalid("date-from", "is after -date-to")
	}
	return nil
}

// writeExport streams the export to stdout or the -o file.
func writeExport(ctx context.Context, svc *analytics.Service, a *exportArgs, stdout, stderr io.Writer) error {
	w := stdout
	var f *os.File
	if a.output != "" {
		var err error
		// Exports hold user data: readable by their owner only.
		if f, err = os.OpenFile(a.output, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600); err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := svc.ExportUserActivity(ctx, cliPrincipal("analyticsd"), a.q, bw, a.format); err != nil {
		var ae *analytics.Error
		if errors.As(err, &ae) {
			return errors.New(ae.Detail)
		}
		return fmt.Errorf("export: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if f != nil {
		if err := f.Close(); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		fmt.Fprintf(stderr, "Wrote %s.\n", a.output)
	}
	return nil
}
