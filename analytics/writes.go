package analytics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"time"

	"github.com/advisoranalytics/advisor-analytics/internal/reqbody"
	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/storedriver"
)

// ActivityInput is the body of the activities route: an activity the
// caller records about themselves.
type ActivityInput struct {
	ActivityType string         `json:"activity_type"`
	Description  string         `json:"description"`
	ClientID     string         `json:"client_id"`
	ReportID     string         `json:"report_id"`
	Metadata     map[string]any `json:"metadata"`
}

// ActivityAccepted is the body of a 202 from the activities route.
type ActivityAccepted struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

// RecordActivity stores an activity of p (its user fields come from p)
// durably and returns once it is: appended and fsynced to the Recorder's
// spool (Config.Tracking.Recorder.SpoolDir), or committed to the store.
// Any authenticated principal. ErrNotStored when neither took it.
func (s *Service) RecordActivity(ctx context.Context, p Principal, in ActivityInput) (*ActivityAccepted, error) {
	return s.recordActivity(ctx, p, in, nil)
}

// recordActivity is RecordActivity; fill, when not nil, sets the request
// details (IP address, user agent) before the activity is validated.

func (s *Service) recordActivity(ctx context.Context, p Principal, in ActivityInput, fill func(*store.Activity)) (*ActivityAccepted, error) {
	if err := require(p, ""); err != nil {
		return nil, err
	}
	a := store.Activity{UserID: p.ID, Username: p.Username, FullName: p.FullName, ActivityType: in.ActivityType,
		Description: in.Description, ClientID: in.ClientID, ReportID: in.ReportID, Metadata: in.Metadata}
	if fill != nil {
		fill(&a)
	}
	if err := storedriver.PrepareActivity(&a, s.now()); err != nil {
		return nil, err
	}
	if err := s.track.rec.Record(ctx, a); err != nil {
		if _, ok := errors.AsType[*store.ValidationError](err); ok {
			return nil, err
		}
		s.log.WarnContext(ctx, "analytics: activity not stored", "error", err)
		return nil, ErrNotStored
	}
	return &ActivityAccepted{ID: a.ID, Status: "accepted"}, nil
}

// UserInput is the user of an ingested activity.
type UserInput struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	FullName string `json:"full_name"`
	Email    string `json:"email"`
}

// ActivityRecord is one activity of the ingest/activities route: a
// historical activity with its user, timestamps and fields.
type ActivityRecord struct {
	ID           string         `json:"id"`
	User         UserInput      `json:"user"`
	ActivityType string         `json:"activity_type"`
	Description  string         `json:"description"`
	ClientID     string         `json:"client_id"`
	ReportID     string         `json:"report_id"`
	IPAddress    string         `json:"ip_address"`
	UserAgent    string         `json:"user_agent"`
	Method       string         `json:"method"`
	Path         string         `json:"path"`
	StatusCode   int            `json:"status_code"`
	DurationMS   float64        `json:"duration_ms"`
	Metadata     map[string]any `json:"metadata"`
	CreatedAt    *time.Time     `json:"created_at"`
}

// IngestActivitiesInput is the body of the ingest/activities route.
type IngestActivitiesInput struct {
	Activities []ActivityRecord `json:"activities"`
}

// Ingested is the body of a successful ingest/activities call.
type Ingested struct {
	Count int `json:"count"`
}

// IngestActivities writes up to MaxIngestActivities historical activities
// in one transaction (all or nothing). Admin only.
func (s *Service) IngestActivities(ctx context.Context, p Principal, in IngestActivitiesInput) (*Ingested, error) {
	if err := require(p, RoleAdmin); err != nil {
		return nil, err
	}
	if len(in.Activities) == 0 {
		return nil, badBody("activities", "activities must hold at least one activity")
	}
	if len(in.Activities) > MaxIngestActivities {
		return nil, badBody("activities", "at most %d activities per call", MaxIngestActivities)
	}
	acts, err := s.ingestedActivities(0, in.Activities, s.now())
	if err != nil {
		return nil, err
	}
	n := len(acts)
	acts = append(acts, s.ingestAudit(ctx, p, [][]store.Activity{acts}, n))
	if err := s.st.ActivityInsertMany(ctx, acts); err != nil {
		return nil, fmt.Errorf("ingest %d activities: %w", n, err)
	}
	return &Ingested{Count: n}, nil
}

// ingestedActivities checks and converts records, the first of which is
// activity number first of the call.
func (s *Service) ingestedActivities(first int, records []ActivityRecord, now time.Time) ([]store.Activity, error) {
	acts := make([]store.Activity, len(records))
	for i, r := range records {
		field := func(f string) string { return fmt.Sprintf("activities[%d].%s", first+i, f) }
		if r.User.ID != "" && !s.cfg.ValidUserID(r.User.ID) {
			return nil, badBody(field("user.id"), "user id is not valid")
		}
		if r.DurationMS < 0 || r.DurationMS > float64(24*time.Hour/time.Millisecond) {
			return nil, badBody(field("duration_ms"), "duration_ms must be between 0 and 86400000")
		}
		if r.IPAddress != "" && !validIP(r.IPAddress) {
			return nil, badBody(field("ip_address"), "ip_address must be an IP address")
		}
		a := store.Activity{ID: r.ID, UserID: r.User.ID, Username: r.User.Username, FullName: r.User.FullName,
			ActivityType: r.ActivityType, Description: r.Description, ClientID: r.ClientID, ReportID: r.ReportID,
			IPAddress: r.IPAddress, UserAgent: r.UserAgent, Method: r.Method, Path: r.Path, StatusCode: r.StatusCode,
			Duration: time.Duration(r.DurationMS * float64(time.Millisecond)), Metadata: r.Metadata}
		if r.CreatedAt != nil {
			a.CreatedAt = *r.CreatedAt
		}
		if err := storedriver.PrepareActivity(&a, now); err != nil {
			if ve, ok := errors.AsType[*store.ValidationError](err); ok {
				return nil, badBody(field(ve.Field), "%s", ve.Reason)
			}
			return nil, err
		}
		acts[i] = a
	}
	return acts, nil
}

// ingestAudit is the audit entry of n ingested activities, held in chunks,
// naming the first auditMaxIDs. It is written in the same store call as
// them, the last of them: the audit trail holds it exactly when they were
// written, and the ingest costs one transaction, not two.
func (s *Service) ingestAudit(ctx context.Context, p Principal, chunks [][]store.Activity, n int) store.Activity {
	ids := make([]string, 0, min(n, auditMaxIDs))
	for _, c := range chunks {
		for i := 0; i < len(c) && len(ids) < auditMaxIDs; i++ {
			ids = append(ids, c[i].ID)
		}
	}
	return s.adminActivity(ctx, p, AdminAction{Action: ActionIngestActivities, Description: fmt.Sprintf("Ingested %d activities", n),
		Targets: map[string]any{"count": n, "activity_ids": ids, "activity_ids_truncated": n > auditMaxIDs}})
}

// ingestChunk is how many activities of an ingest/activities body are
// decoded and written at a time.
const ingestChunk = 1000

// errIngestInput marks an ingest/activities body that the streamed write
// could not decode or found invalid: the whole body is decoded again and
// checked as one, whose error is answered.
type errIngestInput struct{ err error }

func (e errIngestInput) Error() string { return e.err.Error() }

// ingestActivitiesBody writes the activities of an ingest/activities body
// (data) chunk by chunk, decoding and checking each while the store writes
// the one before, in one transaction. It reports false, having written
// nothing, when the body is not a plain {"activities": [...]} of at most
// MaxIngestActivities, when any of it does not decode or is invalid, or
// when p may not ingest: the caller then decodes the whole body and calls
// IngestActivities, which answers exactly as it always does. A failure of
// the store is answered as IngestActivities answers it, unless the rest of
// the body does not decode or is invalid (which IngestActivities answers
// first).
func (s *Service) ingestActivitiesBody(ctx context.Context, p Principal, data []byte) (out *Ingested, err error, ok bool) {
	if s.wholeIngest || require(p, RoleAdmin) != nil {
		return nil, nil, false
	}
	sp, ok := reqbody.NewArraySplitter(data, "activities", ingestChunk)
	if !ok {
		return nil, nil, false
	}
	now := s.now()
	// The body is split a group at a time by the goroutine that decodes, so
	// the first chunk is written while the rest is split. A malformed end,
	// or more than MaxIngestActivities, is found on the way, and the write
	// is then rolled back as for an invalid activity.
	type group struct {
		json []byte
		n    int // its activities
	}
	var groups []group // split so far: the goroutine's until it has ended
	// split reports whether there is a group g (the groups are taken in
	// order), splitting it off the body when it is the next.
	split := func(g int) (more bool, err error) {
		if g < len(groups) {
			return true, nil
		}
		next, n, ok := sp.Next()
		if !ok || sp.Count() > MaxIngestActivities {
			return false, errIngestInput{errors.New("the body is not an activities array of at most the maximum")}
		}
		if next != nil {
			groups = append(groups, group{next, n})
		}
		return next != nil, nil
	}
	decode := func(g int) ([]store.Activity, error) {
		var records []ActivityRecord
		if !reqbody.DecodeFast(groups[g].json, &records) || len(records) != groups[g].n {
			return nil, errIngestInput{errors.New("an ingest body chunk does not decode")}
		}
		acts, err := s.ingestedActivities(g*ingestChunk, records, now)
		if err != nil {
			return nil, errIngestInput{err}
		}
		return acts, nil
	}
	type chunk struct {
		acts []store.Activity
		err  error
	}
	decoded := make(chan chunk, 1)
	stop := make(chan struct{})
	go func() {
		defer close(decoded)
		for g := 0; ; g++ {
			more, err := split(g)
			if err == nil && !more {
				return
			}
			var acts []store.Activity
			if err == nil {
				acts, err = decode(g)
			}
			select {
			case decoded <- chunk{acts, err}:
			case <-stop:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	var taken [][]store.Activity
	audited := false // the audit entry is the last chunk (see ingestAudit)
	err = storedriver.InsertChunks(ctx, s.st, func() ([]store.Activity, error) {
		c := <-decoded // the zero chunk once closed: the end, the body split
		if c.acts != nil {
			taken = append(taken, c.acts)
		} else if c.err == nil && !audited {
			audited = true
			return []store.Activity{s.ingestAudit(ctx, p, taken, sp.Count())}, nil
		}
		return c.acts, c.err
	})
	close(stop)
	for range decoded {
	}
	if _, bad := errors.AsType[errIngestInput](err); bad {
		return nil, nil, false
	}
	if err != nil {
		// The store's error is the answer when the rest of the body is
		// good; else the whole body's decoding words what is wrong.
		for g := len(taken); ; g++ {
			more, serr := split(g)
			if serr != nil {
				return nil, nil, false
			}
			if !more {
				break
			}
			if _, derr := decode(g); derr != nil {
				return nil, nil, false
			}
		}
		return nil, fmt.Errorf("ingest %d activities: %w", sp.Count(), err), true
	}
	return &Ingested{Count: sp.Count()}, nil, true
}

// ClientInput is the body of the ingest/clients route.
type ClientInput struct {
	ID          string     `json:"id"`
	CompanyName string     `json:"company_name"`
	Industry    string     `json:"industry"`
	Status      string     `json:"status"`
	CreatedAt   *time.Time `json:"created_at"`
}

// ClientOut is a stored client.
type ClientOut struct {
	ID          string    `json:"id"`
	CompanyName string    `json:"company_name"`
	Industry    string    `json:"industry"`
	Status      string    `json:"status"`
	CreatedAt   Timestamp `json:"created_at"`
}

// IngestClient creates or updates a client by id (a new id when empty).
// created reports whether the client is new. Manager or admin. Cached
// analytics are invalidated.
func (s *Service) IngestClient(ctx context.Context, p Principal, in ClientInput) (out *ClientOut, created bool, err error) {
	if err := require(p, RoleManager); err != nil {
		return nil, false, err
	}
	c := store.Client{ID: in.ID, CompanyName: in.CompanyName, Industry: store.Industry(in.Industry), Status: store.ClientStatus(in.Status)}
	if c.ID == "" {
		c.ID = store.NewID()
	}
	if in.CreatedAt != nil {
		c.CreatedAt = *in.CreatedAt
	}
	if err := storedriver.PrepareClient(&c, s.now()); err != nil {
		return nil, false, err
	}
	old, err := s.st.ClientGet(ctx, c.ID)
	exists, err := found(err, "client")
	if err != nil {
		return nil, false, err
	}
	if exists && in.CreatedAt == nil {
		c.CreatedAt = old.CreatedAt // keep the creation time of an existing client
	}
	created = !exists
	if err := s.st.ClientUpsert(ctx, &c); err != nil {
		return nil, false, fmt.Errorf("upsert client: %w", err)
	}
	s.invalidateAfterWrite(ctx)
	s.audit(ctx, p, AdminAction{Action: ActionIngestClient, Description: "Ingested client " + c.ID, ClientID: c.ID,
		Targets: map[string]any{"created": created}})
	return toClientOut(&c), created, nil
}

func toClientOut(c *store.Client) *ClientOut {
	return &ClientOut{ID: c.ID, CompanyName: c.CompanyName, Industry: string(c.Industry), Status: string(c.Status), CreatedAt: ts(c.CreatedAt)}
}

// RecommendationInput is one recommendation of a report body.
type RecommendationInput struct {
	Category         string  `json:"category"`
	BusinessImpact   string  `json:"business_impact"`
	Recommendation   string  `json:"recommendation"`
	SubscriptionID   string  `json:"subscription_id"`
	SubscriptionName string  `json:"subscription_name"`
	ResourceGroup    string  `json:"resource_group"`
	ResourceName     string  `json:"resource_name"`
	ResourceType     string  `json:"resource_type"`
	PotentialSavings float64 `json:"potential_savings"`
	Currency         string  `json:"currency"`
}

// ReportInput is the body of the ingest/reports route. CreatedBy omitted
// means the caller; an explicit null means nobody.
type ReportInput struct {
	ID                    string                `json:"id"`
	ClientID              string                `json:"client_id"`
	CreatedBy             json.RawMessage       `json:"created_by"`
	ReportType            string                `json:"report_type"`
	Status                string                `json:"status"`
	CreatedAt             *time.Time            `json:"created_at"`
	ProcessingStartedAt   *time.Time            `json:"processing_started_at"`
	ProcessingCompletedAt *time.Time            `json:"processing_completed_at"`
	CSVSizeBytes          *int64                `json:"csv_size_bytes"`
	Recommendations       []RecommendationInput `json:"recommendations"`
}

// ReportOut is a stored report.
type ReportOut struct {
	ID                    string     `json:"id"`
	ClientID              string     `json:"client_id"`
	CreatedBy             *string    `json:"created_by"`
	ReportType            string     `json:"report_type"`
	Status                string     `json:"status"`
	CreatedAt             Timestamp  `json:"created_at"`
	ProcessingStartedAt   *Timestamp `json:"processing_started_at"`
	ProcessingCompletedAt *Timestamp `json:"processing_completed_at"`
	CSVSizeBytes          *int64     `json:"csv_size_bytes"`
	Recommendations       int        `json:"recommendations"`
}

// IngestReport creates or replaces a report with its recommendations (a
// new id when empty). created reports whether the report is new. Analyst
// or above. Callers below manager may only name themselves in created_by
// (or leave it out) and only replace reports they created: anything else
// is ErrForbidden (403) naming the field. Cached analytics are
// invalidated.
func (s *Service) IngestReport(ctx context.Context, p Principal, in ReportInput) (out *ReportOut, created bool, err error) {
	if err := require(p, RoleAnalyst); err != nil {
		return nil, false, err
	}
	r, err := s.reportFromInput(p, in, "")
	if err != nil {
		return nil, false, err
	}
	n, err := s.upsertReports(ctx, p, []*store.Report{r}, func(int) string { return "" })
	if err != nil {
		return nil, false, err
	}
	created = n == 1
	s.invalidateAfterWrite(ctx)
	s.audit(ctx, p, AdminAction{Action: ActionIngestReport, Description: "Ingested report " + r.ID, ClientID: r.ClientID, ReportID: r.ID,
		Targets: map[string]any{"created": created}})
	return reportOut(r), created, nil
}

// IngestReportsInput is the body of the ingest/reports/batch route.
type IngestReportsInput struct {
	Reports []ReportInput `json:"reports"`
}

// ReportsIngested is the body of a successful ingest/reports/batch call:
// how many reports were written, how many of them are new, and each as
// stored, in the order of the request.
type ReportsIngested struct {
	Count   int         `json:"count"`
	Created int         `json:"created"`
	Reports []ReportOut `json:"reports"`
}

// IngestReports creates or replaces up to MaxIngestReports reports with
// their recommendations in one transaction: all or nothing. The rules of
// IngestReport apply to each report; an error names the report by its
// index ("reports[3].client_id"). The counters are moved once for the
// whole batch and cached analytics are invalidated once.
func (s *Service) IngestReports(ctx context.Context, p Principal, in IngestReportsInput) (*ReportsIngested, error) {
	if err := require(p, RoleAnalyst); err != nil {
		return nil, err
	}
	if len(in.Reports) == 0 {
		return nil, badBody("reports", "reports must hold at least one report")
	}
	if len(in.Reports) > MaxIngestReports {
		return nil, badBody("reports", "at most %d reports per call", MaxIngestReports)
	}
	rs := make([]*store.Report, len(in.Reports))
	for i := range in.Reports {
		r, err := s.reportFromInput(p, in.Reports[i], fmt.Sprintf("reports[%d].", i))
		if err != nil {
			return nil, err
		}
		rs[i] = r
	}
	created, err := s.upsertReports(ctx, p, rs, func(i int) string { return fmt.Sprintf("reports[%d].", i) })
	if err != nil {
		return nil, err
	}
	s.invalidateAfterWrite(ctx)
	out := &ReportsIngested{Count: len(rs), Created: created, Reports: make([]ReportOut, len(rs))}
	ids := make([]string, 0, min(len(rs), auditMaxIDs))
	for i, r := range rs {
		out.Reports[i] = *reportOut(r)
		if i < auditMaxIDs {
			ids = append(ids, r.ID)
		}
	}
	s.audit(ctx, p, AdminAction{Action: ActionIngestReports, Description: fmt.Sprintf("Ingested %d reports", len(rs)),
		Targets: map[string]any{"count": len(rs), "created": created, "report_ids": ids, "report_ids_truncated": len(rs) > auditMaxIDs}})
	return out, nil
}

// reportFromInput checks a report body (its created_by against the
// caller's role) and returns the report to write; prefix goes before the
// field an error names.
func (s *Service) reportFromInput(p Principal, in ReportInput, prefix string) (*store.Report, error) {
	r := &store.Report{ID: in.ID, ClientID: in.ClientID, ReportType: store.ReportType(in.ReportType), Status: store.ReportStatus(in.Status),
		ProcessingStartedAt: in.ProcessingStartedAt, ProcessingCompletedAt: in.ProcessingCompletedAt, CSVSizeBytes: in.CSVSizeBytes}
	switch by := string(in.CreatedBy); by {
	case "":
		r.CreatedBy = p.ID
	case "null":
	default:
		if err := json.Unmarshal(in.CreatedBy, &r.CreatedBy); err != nil {
			return nil, badBody(prefix+"created_by", "created_by must be a string or null")
		}
		if r.CreatedBy != "" && !s.cfg.ValidUserID(r.CreatedBy) {
			return nil, badBody(prefix+"created_by", "created_by is not a valid user id")
		}
	}
	if !p.AtLeast(RoleManager) && r.CreatedBy != p.ID {
		return nil, notOwner(prefix+"created_by", "created_by must be your own user id: only a manager or an admin may create a report in another user's name or in nobody's")
	}
	if r.ID == "" {
		r.ID = store.NewID()
	}
	if in.CreatedAt != nil {
		r.CreatedAt = *in.CreatedAt
	}
	r.Recommendations = make([]store.Recommendation, len(in.Recommendations))
	for i, rec := range in.Recommendations {
		r.Recommendations[i] = store.Recommendation{Category: store.Category(rec.Category), BusinessImpact: store.Impact(rec.BusinessImpact),
			Recommendation: rec.Recommendation, SubscriptionID: rec.SubscriptionID, SubscriptionName: rec.SubscriptionName,
			ResourceGroup: rec.ResourceGroup, ResourceName: rec.ResourceName, ResourceType: rec.ResourceType,
			PotentialSavings: rec.PotentialSavings, Currency: rec.Currency}
	}
	return r, nil
}

// upsertReports writes reports in one store call. Callers below manager
// may only replace reports they created: the store checks that in the
// same step as the write. prefix(i) goes before the field an error about
// report i names.
func (s *Service) upsertReports(ctx context.Context, p Principal, rs []*store.Report, prefix func(int) string) (int, error) {
	owner := ""
	if !p.AtLeast(RoleManager) {
		owner = p.ID
	}
	created, err := s.st.ReportUpsertMany(ctx, rs, owner)
	be, ok := errors.AsType[*store.BatchError](err)
	switch {
	case err == nil:
		return created, nil
	case !ok:
		return 0, fmt.Errorf("upsert %d reports: %w", len(rs), err)
	case errors.Is(be.Err, store.ErrNotOwner):
		return 0, notOwner(prefix(be.Index)+"id", "report %s was not created by you: only a manager or an admin may replace it", rs[be.Index].ID)
	}
	if ve, ok := errors.AsType[*store.ValidationError](be.Err); ok {
		return 0, &store.ValidationError{Field: prefix(be.Index) + ve.Field, Reason: ve.Reason}
	}
	return 0, fmt.Errorf("upsert report %s: %w", rs[be.Index].ID, be.Err)
}

// notOwner is the 403 of a write to a report the caller does not own.
func notOwner(field, format string, args ...any) *Error {
	return &Error{Status: http.StatusForbidden, Detail: fmt.Sprintf(format, args...), Summary: "Forbidden", Field: field}
}

func reportOut(r *store.Report) *ReportOut {
	return &ReportOut{ID: r.ID, ClientID: r.ClientID, CreatedBy: nullable(r.CreatedBy), ReportType: string(r.ReportType),
		Status: string(r.Status), CreatedAt: ts(r.CreatedAt), ProcessingStartedAt: tsPtr(r.ProcessingStartedAt),
		ProcessingCompletedAt: tsPtr(r.ProcessingCompletedAt), CSVSizeBytes: r.CSVSizeBytes, Recommendations: len(r.Recommendations)}
}

// invalidateAfterWrite clears the cached analytics after a successful
// write; a failure to reach the other replicas is logged, not returned
// (the write itself succeeded and the entries expire on their own).
func (s *Service) invalidateAfterWrite(ctx context.Context) {
	if err := s.invalidate(ctx); err != nil {
		s.log.WarnContext(ctx, "analytics: invalidate cache after write", "err", err)
	}
}

func validIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}
