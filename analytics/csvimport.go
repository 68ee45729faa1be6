package analytics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/advisoranalytics/advisor-analytics/internal/advisorcsv"
	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/storedriver"
)

// CSVImport says where an Advisor CSV export goes.
type CSVImport struct {
	ClientID   string           // UUID of an existing client; required
	ReportType store.ReportType // "" means detailed
}

// skippedRow is a CSV row that was not imported.
type skippedRow struct {
	Row    int    `json:"row"`
	Reason string `json:"reason"`
}

// CSVImported is the body of a successful Advisor CSV import.
type CSVImported struct {
	ReportID     string       `json:"report_id"`
	RowsImported int          `json:"rows_imported"`
	RowsSkipped  []skippedRow `json:"rows_skipped"`
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// ImportAdvisorCSV reads an Azure Advisor "Download as CSV" export from r
// and stores it as one completed report of the caller with its
// recommendations (rows that cannot be stored are skipped and listed).
// Analyst or above. A file that is not an Advisor export is a 400; cached
// analytics are invalidated. At most Config.ImportsTotal imports run at
// once; one more returns ErrTooManyImports.
func (s *Service) ImportAdvisorCSV(ctx context.Context, p Principal, in CSVImport, r io.Reader) (*CSVImported, error) {
	if err := require(p, RoleAnalyst); err != nil {
		return nil, err
	}
	if in.ClientID == "" {
		return nil, badParam("client_id", "client_id is required")
	}
	cid, ok := store.NormalizeUUID(in.ClientID)
	if !ok {
		return nil, badParam("client_id", "client_id must be a UUID")
	}
	rt := in.ReportType
	if rt == "" {
		rt = store.ReportDetailed
	}
	if !rt.Valid() {
		return nil, badParam("report_type", "Invalid report_type %q. Must be one of: cost, security, operations, detailed, executive", string(rt))
	}
	if _, err := s.st.ClientGet(ctx, cid); err != nil {
		if isNotFound(err) {
			return nil, badParam("client_id", "client %s does not exist", cid)
		}
		return nil, fmt.Errorf("get client: %w", err)
	}
	if !s.imports.acquire("") {
		return nil, ErrTooManyImports
	}
	defer s.imports.release("")
	started := s.now()
	cr := &countingReader{r: r}
	res, err := advisorcsv.Parse(cr, advisorcsv.Config{MaxBytes: s.cfg.MaxIngestBytes})
	if err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe), errors.Is(err, advisorcsv.ErrTooLarge):
			return nil, ErrBodyTooLarge
		case errors.Is(err, advisorcsv.ErrNotAdvisorCSV):
			return nil, badBody("file", "The file is not an Azure Advisor CSV export.")
		}
		return nil, badBody("file", "The file cannot be read.")
	}
	size := cr.n
	done := s.now()
	rep := store.Report{ID: store.NewID(), ClientID: cid, CreatedBy: p.ID, ReportType: rt, Status: store.StatusCompleted,
		CreatedAt: started, ProcessingStartedAt: &started, ProcessingCompletedAt: &done, CSVSizeBytes: &size,
		Recommendations: res.Recommendations}
	if err := storedriver.PrepareReport(&rep, done); err != nil {
		return nil, err
	}
	if err := s.st.ReportUpsert(ctx, &rep); err != nil {
		return nil, fmt.Errorf("store imported report: %w", err)
	}
	s.invalidateAfterWrite(ctx)
	s.audit(ctx, p, AdminAction{Action: ActionImportAdvisorCSV, Description: "Imported an Advisor CSV as report " + rep.ID, ClientID: cid, ReportID: rep.ID,
		Targets: map[string]any{"rows_imported": len(rep.Recommendations), "rows_skipped": len(res.Skipped)}})
	out := &CSVImported{ReportID: rep.ID, RowsImported: len(rep.Recommendations), RowsSkipped: make([]skippedRow, 0, len(res.Skipped))}
	for _, sk := range res.Skipped {
		out.RowsSkipped = append(out.RowsSkipped, skippedRow{Row: sk.Row, Reason: sk.Reason})
	}
	return out, nil
}

func (s *Service) serveAdvisorCSV(w http.ResponseWriter, r *http.Request, p Principal) error {
	q := s.query(r)
	in := CSVImport{ClientID: q.str("client_id"), ReportType: store.ReportType(q.str("report_type"))}
	body := http.MaxBytesReader(w, r.Body, s.cfg.MaxIngestBytes)
	var src io.Reader = body
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if strings.HasPrefix(mt, "multipart/") {
		boundary := params["boundary"]
		if boundary == "" {
			return badBody("file", "multipart body without boundary")
		}
		mr := newMultipartReader(body, boundary)
		part, err := findFilePart(mr)
		if err != nil {
			return err
		}
		defer part.Close()
		src = part
	}
	out, err := s.ImportAdvisorCSV(r.Context(), p, in, src)
	return writeJSONResult(w, http.StatusCreated, out, err)
}
