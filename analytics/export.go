package analytics

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/advisoranalytics/advisor-analytics/store"
)

// Export formats.
const (
	FormatCSV    = "csv"
	FormatNDJSON = "ndjson"
)

// exportFlushEvery is how many rows are written between flushes.
const exportFlushEvery = 500

// exportColumns are the CSV columns of an activity export, in order.
var exportColumns = []string{"id", "timestamp", "user_id", "username", "full_name", "activity_type", "description",
	"client_id", "report_id", "ip_address", "user_agent", "method", "path", "status_code", "duration_ms", "metadata"}

// exportRecord is one NDJSON line of an activity export.
type exportRecord struct {
	activityItem
	IPAddress  *string `json:"ip_address"`
	UserAgent  string  `json:"user_agent"`
	Method     string  `json:"method"`
	Path       string  `json:"path"`
	StatusCode int     `json:"status_code"`
	DurationMS int64   `json:"duration_ms"`
}

// flusher is implemented by writers that can push buffered data out
// (http.ResponseWriter through http.Flusher).
type flusher interface{ Flush() }

// ExportUserActivity writes every activity matching q (paging fields are
// ignored) to w as CSV (with a header row) or NDJSON, newest first, with
// the scoping of UserActivity. Rows are read from the store in keyset pages
// (store.IteratePageSize rows) and no database connection is held while w
// is written, so memory stays constant and a slow w pins nothing (the
// built-in stores also let the page reads of all exports together hold at
// most half of their connections, so exports never starve other reads); w is
// flushed every few hundred rows when it has a Flush method. The checks
// run before anything is written. At most Config.ExportsPerPrincipal
// exports of one principal and Config.ExportsTotal in all run at once;
// one more returns ErrTooManyExports.
func (s *Service) ExportUserActivity(ctx context.Context, p Principal, q UserActivityQuery, w io.Writer, format string) error {
	if err := require(p, ""); err != nil {
		return err
	}
	f, format, release, err := s.startExport(p, q, format)
	if err != nil {
		return err
	}
	defer release()
	return s.export(ctx, f, w, format, nil)
}

// startExport checks the format (empty is CSV) and the scoping of an
// export of q by p and takes one of p's export slots; release gives it
// back.
func (s *Service) startExport(p Principal, q UserActivityQuery, format string) (f store.ActivityFilter, _ string, release func(), err error) {
	if format == "" {
		format = FormatCSV
	}
	if format != FormatCSV && format != FormatNDJSON {
		return f, "", nil, badParam("format", "Invalid format. Must be one of: csv, ndjson")
	}
	if f, err = s.scopedFilter(p, q); err != nil {
		return f, "", nil, err
	}
	if !s.exports.acquire(p.ID) {
		return f, "", nil, ErrTooManyExports
	}
	return f, format, func() { s.exports.release(p.ID) }, nil
}

// export writes the activities of f to w in format. beforeBatch, when not
// nil, is called before each batch of exportFlushEvery rows is written.
func (s *Service) export(ctx context.Context, f store.ActivityFilter, w io.Writer, format string, beforeBatch func()) error {
	var err error
	bw := bufio.NewWriterSize(w, 32<<10)
	var aw activityWriter = &ndjsonExport{enc: json.NewEncoder(bw)}
	if beforeBatch != nil {
		beforeBatch()
	}
	if format == FormatCSV {
		if aw, err = newCSVExport(bw); err != nil {
			return fmt.Errorf("write export: %w", err)
		}
	}
	fl, _ := w.(flusher)
	flush := func() error {
		if err := aw.flush(); err != nil {
			return err
		}
		if err := bw.Flush(); err != nil {
			return err
		}
		if fl != nil {
			fl.Flush()
		}
		return nil
	}
	n := 0
	err = s.st.ActivityIterate(ctx, f, func(a *store.Activity) error {
		if err := aw.write(a); err != nil {
			return err
		}
		if n++; n%exportFlushEvery == 0 {
			if err := flush(); err != nil {
				return err
			}
			if beforeBatch != nil {
				beforeBatch()
			}
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return fmt.Errorf("export activities: %w", err)
	}
	return nil
}

// activityWriter writes the activities of an export in one format.
type activityWriter interface {
	write(a *store.Activity) error
	// flush hands what the writer buffers to the underlying writer.
	flush() error
}

// csvExport writes an export as CSV, exportColumns first.
type csvExport struct {
	cw  *csv.Writer
	row []string
}

func newCSVExport(w io.Writer) (*csvExport, error) {
	e := &csvExport{cw: csv.NewWriter(w), row: make([]string, len(exportColumns))}
	return e, e.cw.Write(exportColumns)
}

func (e *csvExport) write(a *store.Activity) error {
	md := []byte("{}")
	if len(a.Metadata) > 0 {
		var err error
		if md, err = json.Marshal(a.Metadata); err != nil {
			return err
		}
	}
	full := a.FullName
	if full == "" {
		full = a.Username
	}
	// Every text column is neutralised, whatever the store validates: the
	// export must stay safe to open in a spreadsheet.
	row := e.row
	row[0], row[1], row[2], row[3], row[4] = csvSafe(a.ID), a.CreatedAt.UTC().Format(timestampLayout), csvSafe(a.UserID), csvSafe(a.Username), csvSafe(full)
	row[5], row[6], row[7], row[8], row[9] = csvSafe(a.ActivityType), csvSafe(a.Description), csvSafe(a.ClientID), csvSafe(a.ReportID), csvSafe(a.IPAddress)
	row[10], row[11], row[12] = csvSafe(a.UserAgent), csvSafe(a.Method), csvSafe(a.Path)
	row[13], row[14], row[15] = strconv.Itoa(a.StatusCode), strconv.FormatInt(a.Duration.Milliseconds(), 10), string(md)
	return e.cw.Write(row)
}

func (e *csvExport) flush() error {
	e.cw.Flush()
	return e.cw.Error()
}

// ndjsonExport writes an export as one JSON object per line.
type ndjsonExport struct{ enc *json.Encoder }

func (e *ndjsonExport) write(a *store.Activity) error {
	return e.enc.Encode(exportRecord{activityItem: toActivityItem(a), IPAddress: nullable(a.IPAddress), UserAgent: a.UserAgent,
		Method: a.Method, Path: a.Path, StatusCode: a.StatusCode, DurationMS: a.Duration.Milliseconds()})
}

func (e *ndjsonExport) flush() error { return nil }

// csvSafe neutralises spreadsheet formulas: a cell starting with = + - @
// or a tab/carriage return gets a leading apostrophe.
func csvSafe(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}
