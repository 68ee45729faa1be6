package analytics

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/advisoranalytics/advisor-analytics/store"
)

// writeRawResult writes the cached JSON b as a 200, or returns err, the
// error of computing it.
func writeRawResult(w http.ResponseWriter, b []byte, err error) error {
	if err != nil {
		return err
	}
	writeRaw(w, http.StatusOK, b)
	return nil
}

// writeJSONResult writes v as JSON with status, or returns err, the error
// of computing it.
func writeJSONResult(w http.ResponseWriter, status int, v any, err error) error {
	if err != nil {
		return err
	}
	return writeJSON(w, status, v)
}

// createdStatus is the status of a create-or-update: 201 when the record
// is new, 200 otherwise.
func createdStatus(created bool) int {
	if created {
		return http.StatusCreated
	}
	return http.StatusOK
}

func (s *Service) serveDashboard(w http.ResponseWriter, r *http.Request, p Principal) error {
	d, err := s.dashboardJSON(r.Context(), p)
	return writeJSONResult(w, http.StatusOK, d, err)
}

func (s *Service) serveMetrics(w http.ResponseWriter, r *http.Request, p Principal) error {
	c, err := s.metricsJSON(r.Context())
	return writeRawResult(w, c.b, err)
}

func (s *Service) serveTrends(w http.ResponseWriter, r *http.Request, p Principal) error {
	days, err := s.query(r).integer("days", trendsDaysDefault)
	if err != nil {
		return err
	}
	if days < 1 || days > trendsDaysMax {
		return badParam("days", "days must be an integer between 1 and %d", trendsDaysMax)
	}
	c, err := s.trendsJSON(r.Context(), days)
	return writeRawResult(w, c.b, err)
}

func (s *Service) serveCategories(w http.ResponseWriter, r *http.Request, p Principal) error {
	c, err := s.categoriesJSON(r.Context())
	return writeRawResult(w, c.b, err)
}

func (s *Service) serveRecent(w http.ResponseWriter, r *http.Request, p Principal) error {
	q := s.query(r)
	limit, err := q.integer("limit", recentLimitDefault)
	if err != nil {
		return err
	}
	clientID, err := q.uuid("client_id")
	if err != nil {
		return err
	}
	c, err := s.recentJSON(r.Context(), clientID, clampRecent(limit))
	return writeRawResult(w, c.b, err)
}

func (s *Service) serveClients(w http.ResponseWriter, r *http.Request, p Principal) error {
	q := s.query(r)
	limit, err := q.integer("limit", clientLimitDefault)
	if err != nil {
		return err
	}
	offset, err := q.integer("offset", 0)
	if err != nil {
		return err
	}
	cs, err := s.Clients(r.Context(), p, q.str("search"), limit, offset)
	return writeJSONResult(w, http.StatusOK, cs, err)
}

func (s *Service) serveClient(w http.ResponseWriter, r *http.Request, p Principal) error {
	c, err := s.Client(r.Context(), p, pathID(r, "clients/{id}"))
	return writeJSONResult(w, http.StatusOK, c, err)
}

func (s *Service) serveClientPerformance(w http.ResponseWriter, r *http.Request, p Principal) error {
	id, err := s.query(r).uuid("client_id")
	if err != nil {
		return err
	}
	c, err := s.clientPerformanceJSON(r.Context(), id)
	return writeRawResult(w, c.b, err)
}

func (s *Service) serveBusinessImpact(w http.ResponseWriter, r *http.Request, p Principal) error {
	c, err := s.businessImpactJSON(r.Context())
	return writeRawResult(w, c.b, err)
}

func (s *Service) serveCostInsights(w http.ResponseWriter, r *http.Request, p Principal) error {
	q := s.query(r)
	dr, err := q.dates()
	if err != nil {
		return err
	}
	cq := CostQuery{From: dr.From, To: dr.To}
	for _, v := range q.v["report_type"] {
		for _, t := range strings.Split(v, ",") {
			if t = strings.TrimSpace(t); t != "" {
				cq.Types = append(cq.Types, store.ReportType(t))
			}
		}
	}
	if len(cq.Types) > 2*len(store.ReportTypes) {
		return badParam("report_type", "too many report types")
	}
	c, err := s.costInsightsJSON(r.Context(), cq)
	return writeRawResult(w, c.b, err)
}

// activityQuery parses the user-activity parameters.
func (s *Service) activityQuery(r *http.Request, paging bool) (UserActivityQuery, error) {
	q := s.query(r)
	var out UserActivityQuery
	var err error
	if paging {
		if out.Limit, err = q.integer("limit", activityLimitDefault); err != nil {
			return out, err
		}
		if out.Offset, err = q.integer("offset", 0); err != nil {
			return out, err
		}
		out.Cursor = q.str("cursor")
	}
	dr, err := q.dates()
	if err != nil {
		return out, err
	}
	out.From, out.To = dr.From, dr.To
	out.UserID = q.str("user_id")
	out.ActivityType = q.str("activity_type")
	if out.ClientID, err = q.uuid("client_id"); err != nil {
		return out, err
	}
	if out.ReportID, err = q.uuid("report_id"); err != nil {
		return out, err
	}
	return out, nil
}

func (s *Service) serveUserActivity(w http.ResponseWriter, r *http.Request, p Principal) error {
	q, err := s.activityQuery(r, true)
	if err != nil {
		return err
	}
	page, err := s.UserActivity(r.Context(), p, q)
	return writeJSONResult(w, http.StatusOK, page, err)
}

func (s *Service) serveActivityHistory(w http.ResponseWriter, r *http.Request, p Principal) error {
	q, err := s.activityQuery(r, true)
	if err != nil {
		return err
	}
	page, err := s.ActivityHistory(r.Context(), p, q)
	return writeJSONResult(w, http.StatusOK, page, err)
}

func (s *Service) serveEntityHistory(w http.ResponseWriter, r *http.Request, p Principal) error {
	q := s.query(r)
	limit, err := q.integer("limit", activityLimitDefault)
	if err != nil {
		return err
	}
	et, id := q.str("entity_type"), q.str("entity_id")
	if et == "" {
		return badParam("entity_type", "entity_type is required")
	}
	if id == "" {
		return badParam("entity_id", "entity_id is required")
	}
	h, err := s.EntityHistory(r.Context(), p, et, id, limit)
	return writeJSONResult(w, http.StatusOK, h, err)
}

func (s *Service) serveExport(w http.ResponseWriter, r *http.Request, p Principal) error {
	q, err := s.activityQuery(r, false)
	if err != nil {
		return err
	}
	// Check scoping and take an export slot before the status line is
	// written.
	f, format, release, err := s.startExport(p, q, s.query(r).str("format"))
	if err != nil {
		return err
	}
	defer release()
	ctype := "text/csv; charset=utf-8"
	if format == FormatNDJSON {
		ctype = "application/x-ndjson"
	}
	name := fmt.Sprintf("user-activity-%s.%s", s.now().UTC().Format("20060102T150405Z"), format)
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return nil
	}
	w.WriteHeader(http.StatusOK)
	// Each batch of rows must reach the client within the stall timeout,
	// which replaces the server's write timeout for the export.
	rc := http.NewResponseController(w)
	stall := s.cfg.ExportStallTimeout
	extend := func() { _ = rc.SetWriteDeadline(time.Now().Add(stall)) }
	cw := &clientWriter{w: w}
	if err := s.export(r.Context(), f, cw, format, extend); err != nil {
		// The status line is gone: cut the response short so the client
		// sees an incomplete transfer rather than a clean end. A client
		// that went away or stopped reading is not a server error.
		if cw.err != nil || r.Context().Err() != nil {
			s.log.InfoContext(r.Context(), "analytics: export ended early: the client went away or stopped reading",
				"request_id", w.Header().Get("X-Request-ID"), "err", err)
		} else {
			s.log.ErrorContext(r.Context(), "analytics: export failed mid-stream", "request_id", w.Header().Get("X-Request-ID"), "err", err)
		}
		panic(http.ErrAbortHandler)
	}
	return nil
}

// clientWriter writes to a response and keeps the first write error: an
// error of the client's connection, not of the store.
type clientWriter struct {
	w   http.ResponseWriter
	err error
}

func (c *clientWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}

func (c *clientWriter) Flush() {
	if err := http.NewResponseController(c.w).Flush(); err != nil && c.err == nil && !errors.Is(err, http.ErrNotSupported) {
		c.err = err
	}
}

func (s *Service) serveSummary(w http.ResponseWriter, r *http.Request, p Principal) error {
	q := s.query(r)
	gb := q.str("group_by")
	if err := checkGroupBy(gb); err != nil {
		return err
	}
	dr, err := q.dates()
	if err != nil {
		return err
	}
	sum, err := s.ActivitySummary(r.Context(), p, gb, dr)
	return writeJSONResult(w, http.StatusOK, sum, err)
}

func (s *Service) serveMetricsHistory(w http.ResponseWriter, r *http.Request, p Principal) error {
	q := s.query(r)
	per := q.str("period")
	if err := checkPeriod(per); err != nil {
		return err
	}
	dr, err := q.dates()
	if err != nil {
		return err
	}
	h, err := s.MetricsHistory(r.Context(), p, per, dr)
	return writeJSONResult(w, http.StatusOK, h, err)
}

func (s *Service) serveJobs(w http.ResponseWriter, r *http.Request, p Principal) error {
	list, err := s.Jobs(r.Context(), p)
	return writeJSONResult(w, http.StatusOK, jobsBody(list), err)
}

func (s *Service) serveInvalidate(w http.ResponseWriter, r *http.Request, p Principal) error {
	out, err := s.InvalidateCache(r.Context(), p)
	return writeJSONResult(w, http.StatusOK, out, err)
}

func (s *Service) serveErase(w http.ResponseWriter, r *http.Request, p Principal) error {
	out, err := s.EraseUserActivities(r.Context(), p, pathID(r, "users/{id}/activities"))
	return writeJSONResult(w, http.StatusOK, out, err)
}

func (s *Service) serveHealth(w http.ResponseWriter, r *http.Request, p Principal) error {
	c, err := s.systemHealthJSON(r.Context())
	return writeRawResult(w, c.b, err)
}

func (s *Service) serveRecordActivity(w http.ResponseWriter, r *http.Request, p Principal) error {
	var in ActivityInput
	if err := readJSON(w, r, s.cfg.MaxBodyBytes, s.cfg.BodyReadTimeout, &in); err != nil {
		return err
	}
	out, err := s.recordActivity(r.Context(), p, in, func(a *store.Activity) { s.fillFromRequest(a, r) })
	return writeJSONResult(w, http.StatusAccepted, out, err)
}

func (s *Service) serveIngestActivities(w http.ResponseWriter, r *http.Request, p Principal) error {
	data, err := readBody(w, r, s.cfg.MaxIngestBytes, 0)
	if err != nil {
		return err
	}
	if out, err, ok := s.ingestActivitiesBody(r.Context(), p, data); ok {
		return writeJSONResult(w, http.StatusCreated, out, err)
	}
	var in IngestActivitiesInput
	if err := decodeBody(data, &in); err != nil {
		return err
	}
	out, err := s.IngestActivities(r.Context(), p, in)
	return writeJSONResult(w, http.StatusCreated, out, err)
}

func (s *Service) serveIngestClient(w http.ResponseWriter, r *http.Request, p Principal) error {
	var in ClientInput
	if err := readJSON(w, r, s.cfg.MaxBodyBytes, s.cfg.BodyReadTimeout, &in); err != nil {
		return err
	}
	out, created, err := s.IngestClient(r.Context(), p, in)
	return writeJSONResult(w, createdStatus(created), out, err)
}

func (s *Service) serveIngestReports(w http.ResponseWriter, r *http.Request, p Principal) error {
	var in IngestReportsInput
	if err := readJSON(w, r, s.cfg.MaxIngestBytes, 0, &in); err != nil {
		return err
	}
	out, err := s.IngestReports(r.Context(), p, in)
	return writeJSONResult(w, http.StatusCreated, out, err)
}

func (s *Service) serveIngestReport(w http.ResponseWriter, r *http.Request, p Principal) error {
	var in ReportInput
	if err := readJSON(w, r, s.cfg.MaxIngestBytes, 0, &in); err != nil {
		return err
	}
	out, created, err := s.IngestReport(r.Context(), p, in)
	return writeJSONResult(w, createdStatus(created), out, err)
}
