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
	fs.IntVar(&days, "days", scheduler.InitDaysDefault, "days of daily snapshots to backfill, ending today")
	fs.bind("days", "ANALYTICS_INIT_DAYS")
	fs.Var(&schedules, "schedule", "job schedule as name=cron, checked like serve's (repeatable)")
	fs.bind("schedule", "ANALYTICS_SCHEDULES")
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
	byJob := sf.scheduleByJob
	st, err := openStore(ctx, c.database, false, c.logger)
	if err != nil {
		return err
	}
	defer st.Close()
	svc, err := analytics.New(st, analytics.Config{Logger: c.logger, Location: c.location})
	if err != nil {
		return fmt.Errorf("configure analytics: %w", err)
	}
	fmt.Fprintf(stdout, "Initialising %s (reporting time zone %s; change with -database and -timezone)\n", displayDSN(c.database), c.location)
	rep, err := scheduler.Init(ctx, st, scheduler.InitOptions{
		Days:      days,
		Out:       stdout,
		Analytics: svc,
		Scheduler: scheduler.Config{Location: c.location, Schedules: byJob, Logger: c.logger},
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Ready: schema version %d, %d snapshots written.\n", rep.MigrationsApplied, rep.Snapshots)
	return st.Close()
}

func runImportAdvisor(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	var (
		c                               commonFlags
		clientID, reportType, createdBy string
		clientName, industry            string
	)
	fs := newFlagSet("import-advisor", "analyticsd import-advisor [flags] FILE",
		"Import an Azure Advisor \"Download as CSV\" export as one completed report of\na client, with one recommendation per row (rows that cannot be imported are\nlisted). FILE \"-\" reads standard input.", env, stderr)
	c.register(fs)
	fs.StringVar(&clientID, "client-id", "", "UUID of the client the report belongs to (required)")
	fs.StringVar(&reportType, "report-type", string(store.ReportDetailed), "report type: detailed, executive, cost, security or operations")
	fs.StringVar(&clientName, "client-name", "", "create the client with this company name when it does not exist")
	fs.StringVar(&industry, "industry", string(store.IndustryOther), "industry of a client created with -client-name")
	fs.StringVar(&createdBy, "created-by", "analyticsd", "user id recorded as the report's author")
	if err := fs.parse(interleave(args)); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fmt.Fprintf(stderr, "import-advisor needs exactly one FILE argument, got %d\nRun 'analyticsd import-advisor -h' for help.\n", fs.NArg())
		return errUsage
	}
	if err := c.validate(fs, stderr); err != nil {
		return err
	}
	if clientID == "" {
		return fs.invalid("client-id", "is required (the UUID of the client the report belongs to)")
	}
	cid, ok := store.NormalizeUUID(clientID)
	if !ok {
		return fs.invalid("client-id", "%q is not a UUID", clientID)
	}
	if !store.ReportType(reportType).Valid() {
		return fs.invalid("report-type", "unknown report type %q; use detailed, executive, cost, security or operations", reportType)
	}
	if !store.Industry(industry).Valid() {
		return fs.invalid("industry", "unknown industry %q", industry)
	}
	if strings.TrimSpace(createdBy) == "" {
		return fs.invalid("created-by", "must not be empty")
	}

	name := fs.Arg(0)
	var src io.Reader = os.Stdin
	var size int64 = -1
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		if fi, err := f.Stat(); err == nil {
			size = fi.Size()
		}
		src = f
	}

	st, err := openStore(ctx, c.database, true, c.logger)
	if err != nil {
		return err
	}
	defer st.Close()
	svc, err := analytics.New(st, analytics.Config{Logger: c.logger, Location: c.location})
	if err != nil {
		return fmt.Errorf("configure analytics: %w", err)
	}
	p := cliPrincipal(createdBy)
	if _, err := st.ClientGet(ctx, cid); errors.Is(err, store.ErrNotFound) {
		if clientName == "" {
			return fmt.Errorf("client %s does not exist: pass -client-name to create it, or create it with POST %singest/clients/", cid, apiPrefix)
		}
		if _, _, err := svc.IngestClient(ctx, p, analytics.ClientInput{ID: cid, CompanyName: clientName, Industry: industry}); err != nil {
			return fmt.Errorf("create client: %w", err)
		}
		fmt.Fprintf(stderr, "Created client %s (%s).\n", cid, clientName)
	} else if err != nil {
		return fmt.Errorf("look up client: %w", err)
	}

	fmt.Fprintf(stderr, "Reading %s…\n", name)
	pr := &progressReader{r: bufio.NewReaderSize(src, 64<<10), total: size, out: stderr, start: time.Now()}
	res, err := svc.ImportAdvisorCSV(ctx, p, analytics.CSVImport{ClientID: cid, ReportType: store.ReportType(reportType)}, pr)
	if err != nil {
		var ae *analytics.Error
		if errors.As(err, &ae) {
			return fmt.Errorf("%s: %s", name, ae.Detail)
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	pr.finish()
	fmt.Fprintf(stdout, "Imported %d recommendations from %s into report %s (%s, client %s); %d rows skipped.\n",
		res.RowsImported, name, res.ReportID, reportType, cid, len(res.RowsSkipped))
	for i, sk := range res.RowsSkipped {
		if i == 20 {
			fmt.Fprintf(stdout, "  … and %d more\n", len(res.RowsSkipped)-i)
			break
		}
		fmt.Fprintf(stdout, "  row %d skipped: %s\n", sk.Row, sk.Reason)
	}
	return st.Close()
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

// progressReader reports how much of a file has been read.
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

func runExport(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	var (
		c                                        commonFlags
		format, from, to, output                 string
		userID, activityType, clientID, reportID string
	)
	fs := newFlagSet("export", "analyticsd export [flags]",
		"Write every matching activity, newest first, as CSV or NDJSON (one JSON object\nper line) to standard output or -o, streaming in constant memory.", env, stderr)
	c.register(fs)
	fs.StringVar(&format, "format", analytics.FormatCSV, "output format: csv or ndjson")
	fs.StringVar(&from, "date-from", "", "first day or time included (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS, in -timezone)")
	fs.StringVar(&to, "date-to", "", "last day (whole day included) or time included")
	fs.StringVar(&userID, "user-id", "", "only this user's activities")
	fs.StringVar(&activityType, "activity-type", "", "only this activity type (e.g. login)")
	fs.StringVar(&clientID, "client-id", "", "only activities about this client (UUID)")
	fs.StringVar(&reportID, "report-id", "", "only activities about this report (UUID)")
	fs.StringVar(&output, "o", "", "write to this file instead of standard output")
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fs.invalid("format", "export takes no arguments, got %q", fs.Args())
	}
	if err := c.validate(fs, stderr); err != nil {
		return err
	}
	if format != analytics.FormatCSV && format != analytics.FormatNDJSON {
		return fs.invalid("format", "unknown format %q; use csv or ndjson", format)
	}
	q := analytics.UserActivityQuery{UserID: userID, ActivityType: activityType, ClientID: clientID, ReportID: reportID}
	var err error
	if from != "" {
		if q.From, _, err = analytics.ParseDate(from, c.location); err != nil {
			return fs.invalid("date-from", "%q is not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS)", from)
		}
	}
	if to != "" {
		var dateOnly bool
		if q.To, dateOnly, err = analytics.ParseDate(to, c.location); err != nil {
			return fs.invalid("date-to", "%q is not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS)", to)
		}
		if dateOnly {
			q.To = q.To.AddDate(0, 0, 1).Add(-time.Microsecond)
		}
	}
	if !q.From.IsZero() && !q.To.IsZero() && q.From.After(q.To) {
		return fs.invalid("date-from", "is after -date-to")
	}
	for name, v := range map[string]string{"client-id": clientID, "report-id": reportID} {
		if v != "" && !store.ValidUUID(v) {
			return fs.invalid(name, "%q is not a UUID", v)
		}
	}

	st, err := openStore(ctx, c.database, false, c.logger)
	if err != nil {
		return err
	}
	defer st.Close()
	svc, err := analytics.New(st, analytics.Config{Logger: c.logger, Location: c.location})
	if err != nil {
		return fmt.Errorf("configure analytics: %w", err)
	}
	w := stdout
	var f *os.File
	if output != "" {
		if f, err = os.Create(output); err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := svc.ExportUserActivity(ctx, cliPrincipal("analyticsd"), q, bw, format); err != nil {
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
		fmt.Fprintf(stderr, "Wrote %s.\n", output)
	}
	return st.Close()
}
