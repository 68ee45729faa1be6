package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/advisoranalytics/advisor-analytics/analytics"
	"github.com/advisoranalytics/advisor-analytics/internal/reqbody"
	"github.com/advisoranalytics/advisor-analytics/internal/text"
	"github.com/advisoranalytics/advisor-analytics/store"
)

// Kinds of records analyticsd import reads.
const (
	importActivities = "activities"
	importReports    = "reports"
)

// maxImportLine bounds one NDJSON line (a report with its
// recommendations is the largest record).
const maxImportLine = 64 << 20

// ndjsonArgs are the import flags and file.
type ndjsonArgs struct {
	c         commonFlags
	kind      string
	batch     int
	createdBy string
	progress  time.Duration
	file      string
}

func runImport(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	a, err := parseImport(args, env, stderr)
	if err != nil {
		return err
	}
	return withInput(ctx, &a.c, a.file, func(_ store.Store, svc *analytics.Service, src io.Reader, size int64) error {
		im := &ndjsonImport{svc: svc, p: cliPrincipal(a.createdBy), args: a, out: stderr, size: size,
			start: time.Now(), src: &progressReader{r: src}}
		im.lastShown = im.start
		n, err := im.run(ctx)
		if err != nil {
			if n > 0 {
				fmt.Fprintf(stderr, "%d %s before the error are stored.\n", n, a.kind)
			}
			return fmt.Errorf("%s: %w", a.file, err)
		}
		took := time.Since(im.start)
		fmt.Fprintf(stdout, "Imported %d %s from %s in %s (%.0f/s).\n", n, a.kind, a.file,
			took.Round(time.Millisecond), float64(n)/max(took.Seconds(), 1e-9))
		return nil
	})
}

// parseImport reads and checks the import flags.
func parseImport(args []string, env func(string) string, stderr io.Writer) (*ndjsonArgs, error) {
	var a ndjsonArgs
	fs := newFlagSet("import", "analyticsd import -kind activities|reports [flags] FILE",
		"Backfill activities or reports from an NDJSON file (one JSON object per line).\n"+
			"An activity line has the shape of one element of POST ingest/activities/ (the\n"+
			"NDJSON that 'analyticsd export -format ndjson' writes is accepted too); a report\n"+
			"line has the shape of the body of POST ingest/reports/. Lines are written in\n"+
			"batches of -batch records, each batch all or nothing; the import stops at the\n"+
			"first line that cannot be stored and names it. FILE \"-\" reads standard input.", env, stderr)
	a.c.register(fs)
	fs.StringVar(&a.kind, "kind", "", "what each line holds: activities or reports (required)")
	fs.IntVar(&a.batch, "batch", 0, fmt.Sprintf("records per transaction (default %d activities or %d reports; at most %d or %d)",
		analytics.MaxIngestActivities, 100, analytics.MaxIngestActivities, analytics.MaxIngestReports))
	fs.StringVar(&a.createdBy, "created-by", "analyticsd", "user id recorded as the author of the reports and in the audit trail")
	fs.DurationVar(&a.progress, "progress", time.Second, "how often progress is written to standard error (0 turns it off)")
	if err := fs.parse(interleave(args)); err != nil {
		return nil, err
	}
	if fs.NArg() != 1 {
		fmt.Fprintf(stderr, "import needs exactly one FILE argument, got %d\nRun 'analyticsd import -h' for help.\n", fs.NArg())
		return nil, errUsage
	}
	a.file = fs.Arg(0)
	if err := a.c.validate(fs, stderr); err != nil {
		return nil, err
	}
	limit := 0
	switch a.kind {
	case importActivities:
		limit = analytics.MaxIngestActivities
	case importReports:
		limit = analytics.MaxIngestReports
	case "":
		return nil, fs.invalid("kind", "is required: activities or reports")
	default:
		return nil, fs.invalid("kind", "unknown kind %q; use activities or reports", a.kind)
	}
	switch {
	case a.batch == 0 && a.kind == importActivities:
		a.batch = analytics.MaxIngestActivities
	case a.batch == 0:
		a.batch = 100
	case a.batch < 1 || a.batch > limit:
		return nil, fs.invalid("batch", "must be between 1 and %d for %s, got %d", limit, a.kind, a.batch)
	}
	if a.progress < 0 {
		return nil, fs.invalid("progress", "must not be negative, got %s", a.progress)
	}
	if strings.TrimSpace(a.createdBy) == "" {
		return nil, fs.invalid("created-by", "must not be empty")
	}
	return &a, nil
}

// importedActivity is an activity line: an element of ingest/activities,
// or a line of an NDJSON export, whose time is "timestamp".
type importedActivity struct {
	analytics.ActivityRecord
	Timestamp *time.Time `json:"timestamp"`
}

// ndjsonImport reads NDJSON records and writes them in batches.
type ndjsonImport struct {
	svc  *analytics.Service
	p    analytics.Principal
	args *ndjsonArgs
	src  *progressReader // counting only
	size int64           // -1 when unknown

	activities []analytics.ActivityRecord
	reports    []analytics.ReportInput
	lines      []int // the line of each record of the batch

	stored    int
	out       io.Writer
	start     time.Time
	lastShown time.Time
}

// run imports every line and returns how many records are stored.
func (im *ndjsonImport) run(ctx context.Context) (int, error) {
	sc := bufio.NewScanner(im.src)
	sc.Buffer(make([]byte, 0, 256<<10), maxImportLine)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		if err := im.add(b, line); err != nil {
			return im.stored, fmt.Errorf("line %d: %w", line, err)
		}
		if len(im.lines) == im.args.batch {
			if err := im.flush(ctx); err != nil {
				return im.stored, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return im.stored, fmt.Errorf("line %d: longer than %s", line+1, humanBytes(maxImportLine))
		}
		return im.stored, err
	}
	if err := im.flush(ctx); err != nil {
		return im.stored, err
	}
	if im.stored == 0 {
		return 0, fmt.Errorf("no %s found: the file is empty", im.args.kind)
	}
	return im.stored, nil
}

// add decodes one line into the pending batch.
func (im *ndjsonImport) add(b []byte, line int) error {
	if text.HasNULEscape(b) {
		return errors.New("strings must not contain NUL characters (\\u0000)")
	}
	var err error
	if im.args.kind == importActivities {
		var a importedActivity
		if err = reqbody.Decode(b, &a); err == nil {
			if a.CreatedAt == nil {
				a.CreatedAt = a.Timestamp
			}
			im.activities = append(im.activities, a.ActivityRecord)
		}
	} else {
		var r analytics.ReportInput
		if err = reqbody.Decode(b, &r); err == nil {
			im.reports = append(im.reports, r)
		}
	}
	if errors.Is(err, reqbody.ErrTrailingData) {
		return errors.New("more than one JSON value on the line")
	}
	if err != nil {
		return fmt.Errorf("not a JSON %s record: %w", map[string]string{importActivities: "activity", importReports: "report"}[im.args.kind], err)
	}
	im.lines = append(im.lines, line)
	return nil
}

// flush writes the pending batch in one transaction.
func (im *ndjsonImport) flush(ctx context.Context) error {
	if len(im.lines) == 0 {
		return nil
	}
	var err error
	if im.args.kind == importActivities {
		_, err = im.svc.IngestActivities(ctx, im.p, analytics.IngestActivitiesInput{Activities: im.activities})
	} else {
		_, err = im.svc.IngestReports(ctx, im.p, analytics.IngestReportsInput{Reports: im.reports})
	}
	if err != nil {
		return im.explain(err)
	}
	im.stored += len(im.lines)
	im.activities, im.reports, im.lines = im.activities[:0], im.reports[:0], im.lines[:0]
	im.showProgress()
	return nil
}

// explain names the line of the record a batch error is about.
func (im *ndjsonImport) explain(err error) error {
	first, last := im.lines[0], im.lines[len(im.lines)-1]
	var field, detail string
	if ae, ok := errors.AsType[*analytics.Error](err); ok {
		field, detail = ae.Field, ae.Detail
	} else if ve, ok := errors.AsType[*store.ValidationError](err); ok {
		field, detail = ve.Field, ve.Reason
	} else if errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("lines %d to %d: a record with the same id is already stored (was the file imported before?): %w", first, last, err)
	} else {
		return fmt.Errorf("lines %d to %d: %w", first, last, err)
	}
	where := fmt.Sprintf("lines %d to %d", first, last)
	if rest, ok := strings.CutPrefix(field, im.args.kind+"["); ok {
		if end := strings.IndexByte(rest, ']'); end > 0 {
			if i, perr := strconv.Atoi(rest[:end]); perr == nil && i >= 0 && i < len(im.lines) {
				where, field = fmt.Sprintf("line %d", im.lines[i]), strings.TrimPrefix(rest[end+1:], ".")
			}
		}
	}
	if field != "" {
		return fmt.Errorf("%s: %s: %s", where, field, detail)
	}
	return fmt.Errorf("%s: %s", where, detail)
}

// showProgress writes the count, the share of the file read and the rate
// at most once per -progress.
func (im *ndjsonImport) showProgress() {
	now := time.Now()
	if im.args.progress <= 0 || now.Sub(im.lastShown) < im.args.progress {
		return
	}
	im.lastShown = now
	rate := float64(im.stored) / max(now.Sub(im.start).Seconds(), 1e-9)
	read := humanBytes(im.src.n)
	if im.size > 0 {
		read = fmt.Sprintf("%s of %s (%d%%)", read, humanBytes(im.size), im.src.n*100/im.size)
	}
	fmt.Fprintf(im.out, "  %d %s stored, read %s, %.0f/s\n", im.stored, im.args.kind, read, rate)
}
