package storedriver

import (
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/advisoranalytics/advisor-analytics/internal/text"
	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/internal/jsonenc"
)

// PrepareClientList validates the parameters of DomainReader.ClientList
// and returns the match as ClientMatch's pattern and the limit with its
// default (0 means store.ListLimitDefault).
func PrepareClientList(match string, limit, offset int) (pattern string, lim int, err error) {
	if lim, err = listWindow(limit, offset); err != nil {
		return "", 0, err
	}
	pattern, err = ClientMatch(match)
	return pattern, lim, err
}

// listWindow applies the window rules of an activity page (limit 0 means
// store.ListLimitDefault, at most store.ListLimitMax; offset ≥ 0), defined
// once by store.ActivityListParams.Normalize.
func listWindow(limit, offset int) (int, error) {
	p, err := store.ActivityListParams{Limit: limit, Offset: offset}.Normalize()
	return p.Limit, err
}

// RecentParams validates the limit and client of DomainReader.ReportRecent
// and returns the limit with its default (0 means store.RecentListDefault)
// and the client id lower-cased ("" for every client).
func RecentParams(limit int, clientID string) (int, string, error) {
	limit, err := ListLimit(limit, store.RecentListDefault)
	if err != nil || clientID == "" {
		return limit, "", err
	}
	id, err := ID("client_id", clientID)
	return limit, id, err
}

// ClientMatch validates the match of DomainReader.ClientList and returns
// the LIKE pattern that finds it anywhere in a name: its ASCII letters
// lower-cased, and %, _ and \ escaped with \ (the pattern's escape
// character). A driver compares it with the name's ASCII letters
// lower-cased, other characters as they are. "" matches every name.
func ClientMatch(match string) (string, error) {
	if len(match) > store.MaxCompanyNameLen || !utf8.ValidString(match) || strings.IndexByte(match, 0) >= 0 {
		return "", Invalid("match", "must be UTF-8 text of at most %d bytes without NUL", store.MaxCompanyNameLen)
	}
	if match == "" {
		return "", nil
	}
	var b strings.Builder
	b.Grow(len(match) + 2)
	b.WriteByte('%')
	for i := 0; i < len(match); i++ {
		switch c := match[i]; {
		case c == '%' || c == '_' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case 'A' <= c && c <= 'Z':
			b.WriteByte(c + 'a' - 'A')
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('%')
	return b.String(), nil
}

// PrepareClient validates c and normalises it in place (lower-case id, UTC
// time, zero CreatedAt = now).
func PrepareClient(c *store.Client, now time.Time) error {
	id, ok := store.NormalizeUUID(c.ID)
	if !ok {
		return Invalid("id", "must be a UUID")
	}
	c.ID = id
	c.CompanyName = strings.TrimSpace(c.CompanyName)
	if c.CompanyName == "" {
		return Invalid("company_name", "is required")
	}
	if utf8.RuneCountInString(c.CompanyName) > store.MaxCompanyNameLen {
		return Invalid("company_name", "must be at most %d characters", store.MaxCompanyNameLen)
	}
	if err := enum(&c.Industry, store.IndustryOther, "industry", "industry"); err != nil {
		return err
	}
	if err := enum(&c.Status, store.ClientActive, "status", "status"); err != nil {
		return err
	}
	c.CreatedAt = utcOrNow(c.CreatedAt, now)
	return nil
}

// PrepareReport validates r with its recommendations and normalises them in
// place (lower-case ids, UTC times, new recommendation ids, default
// currency, savings rounded to the cent).
func PrepareReport(r *store.Report, now time.Time) error {
	id, ok := store.NormalizeUUID(r.ID)
	if !ok {
		return Invalid("id", "must be a UUID")
	}
	r.ID = id
	if r.ClientID, ok = store.NormalizeUUID(r.ClientID); !ok {
		return Invalid("client_id", "must be a UUID")
	}
	if err := enum(&r.ReportType, "", "report_type", "report type"); err != nil {
		return err
	}
	if err := enum(&r.Status, store.StatusPending, "status", "status"); err != nil {
		return err
	}
	r.CreatedAt = utcOrNow(r.CreatedAt, now)
	r.ProcessingStartedAt = utcPtr(r.ProcessingStartedAt)
	r.ProcessingCompletedAt = utcPtr(r.ProcessingCompletedAt)
	if r.ProcessingStartedAt != nil && r.ProcessingCompletedAt != nil && r.ProcessingCompletedAt.Before(*r.ProcessingStartedAt) {
		return Invalid("processing_completed_at", "is before processing_started_at")
	}
	if r.CSVSizeBytes != nil && *r.CSVSizeBytes < 0 {
		return Invalid("csv_size_bytes", "must not be negative")
	}
	for i := range r.Recommendations {
		if err := prepareRecommendation(&r.Recommendations[i], r.ID); err != nil {
			ve := err.(*store.ValidationError)
			ve.Field = fmt.Sprintf("recommendations[%d].%s", i, ve.Field)
			return ve
		}
	}
	return nil
}

// enum sets an empty *v to def (when def is not empty) and checks that *v
// is one of the type's values; what names the type in the reason.
func enum[T interface {
	~string
	Valid() bool
}](v *T, def T, field, what string) error {
	if *v == "" && def != "" {
		*v = def
	}
	if !(*v).Valid() {
		return Invalid(field, "unknown %s %q", what, *v)
	}
	return nil
}

func prepareRecommendation(rec *store.Recommendation, reportID string) error {
	if rec.ID == "" {
		rec.ID = store.NewID()
	} else if id, ok := store.NormalizeUUID(rec.ID); ok {
		rec.ID = id
	} else {
		return Invalid("id", "must be a UUID")
	}
	rec.ReportID = reportID
	if err := enum(&rec.Category, "", "category", "category"); err != nil {
		return err
	}
	rec.BusinessImpact = store.Impact(strings.ToLower(string(rec.BusinessImpact)))
	if err := enum(&rec.BusinessImpact, "", "business_impact", "business impact"); err != nil {
		return err
	}
	if math.IsNaN(rec.PotentialSavings) || math.IsInf(rec.PotentialSavings, 0) {
		return Invalid("potential_savings", "must be a finite number")
	}
	if rec.PotentialSavings < 0 {
		return Invalid("potential_savings", "must not be negative")
	}
	if rec.PotentialSavings > 1e12 {
		return Invalid("potential_savings", "is too large")
	}
	rec.PotentialSavings = math.Round(rec.PotentialSavings*100) / 100
	rec.Currency = strings.ToUpper(strings.TrimSpace(rec.Currency))
	if rec.Currency == "" {
		rec.Currency = "USD"
	}
	if len(rec.Currency) != 3 {
		return Invalid("currency", "must be a 3-letter ISO 4217 code")
	}
	return nil
}

// PrepareActivity validates a and normalises it in place: a new id when
// empty, lower-case UUIDs, UTC time (zero = now), description and user agent
// cut to their limits, nil metadata kept nil (stored as {}).
func PrepareActivity(a *store.Activity, now time.Time) error {
	if a.ID == "" {
		a.ID = store.NewID()
	} else if id, ok := store.NormalizeUUID(a.ID); ok {
		a.ID = id
	} else {
		return Invalid("id", "must be a UUID")
	}
	if strings.TrimSpace(a.ActivityType) == "" {
		return Invalid("activity_type", "is required")
	}
	if len(a.ActivityType) > store.MaxActivityTypeLen {
		return Invalid("activity_type", "must be at most %d characters", store.MaxActivityTypeLen)
	}
	var ok bool
	if a.ClientID != "" {
		if a.ClientID, ok = store.NormalizeUUID(a.ClientID); !ok {
			return Invalid("client_id", "must be a UUID")
		}
	}
	if a.ReportID != "" {
		if a.ReportID, ok = store.NormalizeUUID(a.ReportID); !ok {
			return Invalid("report_id", "must be a UUID")
		}
	}
	if a.StatusCode < 0 || a.StatusCode > 999 {
		return Invalid("status_code", "must be between 0 and 999")
	}
	if a.Duration < 0 {
		return Invalid("duration_ms", "must not be negative")
	}
	if err := CheckMetadata(a.Metadata); err != nil {
		return err
	}
	a.Description = text.Truncate(a.Description, store.MaxDescriptionLen)
	a.UserAgent = text.Truncate(a.UserAgent, store.MaxUserAgentLen)
	a.Path = text.Truncate(a.Path, 2048)
	a.Method = text.Truncate(a.Method, 16)
	a.Username = text.Truncate(a.Username, 150)
	a.FullName = text.Truncate(a.FullName, 255)
	a.CreatedAt = utcOrNow(a.CreatedAt, now)
	return nil
}

// CheckMetadata checks activity metadata against store.MaxMetadataBytes,
// store.MaxMetadataKeys and store.MaxMetadataDepth; a violation is a
// *store.ValidationError of field "metadata".
func CheckMetadata(m map[string]any) error {
	if len(m) == 0 {
		return nil
	}
	var keys, bound int
	if err := metadataShape(m, 1, &keys, &bound); err != nil {
		return err
	}
	if bound <= store.MaxMetadataBytes {
		return nil // even fully escaped, it fits
	}
	b, err := jsonenc.AppendObject(nil, m)
	if err != nil {
		return Invalid("metadata", "cannot be encoded as JSON: %v", err)
	}
	if len(b) > store.MaxMetadataBytes {
		return Invalid("metadata", "must be at most %d bytes of JSON, got %d", store.MaxMetadataBytes, len(b))
	}
	return nil
}

// metadataShape checks the nesting and the number of keys of v at depth,
// and adds to bound an upper limit of its encoded size (a large number for
// values it does not measure).
func metadataShape(v any, depth int, keys, bound *int) error {
	const unmeasured = store.MaxMetadataBytes + 1
	switch v := v.(type) {
	case nil, bool:
		*bound += 5
	case string:
		*bound += 6*len(v) + 2 // every byte escaped as \u00XX
	case float64, int, int64, int32, uint64:
		*bound += 24
	case map[string]any:
		if depth > store.MaxMetadataDepth {
			return Invalid("metadata", "must be nested at most %d levels deep", store.MaxMetadataDepth)
		}
		if *keys += len(v); *keys > store.MaxMetadataKeys {
			return Invalid("metadata", "must have at most %d keys in all", store.MaxMetadataKeys)
		}
		*bound += 2
		for k, x := range v {
			*bound += 6*len(k) + 4
			if err := metadataShape(x, depth+1, keys, bound); err != nil {
				return err
			}
		}
	case []any:
		if depth > store.MaxMetadataDepth {
			return Invalid("metadata", "must be nested at most %d levels deep", store.MaxMetadataDepth)
		}
		*bound += 2
		for _, x := range v {
			*bound++
			if err := metadataShape(x, depth+1, keys, bound); err != nil {
				return err
			}
		}
	default:
		*bound += unmeasured
	}
	return nil
}

func utcOrNow(t, now time.Time) time.Time {
	if t.IsZero() {
		t = now
	}
	return t.UTC().Truncate(time.Microsecond)
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil || t.IsZero() {
		return nil
	}
	u := t.UTC().Truncate(time.Microsecond)
	return &u
}

// ListParams is an ActivityListParams checked by PrepareListParams, with
// its cursor decoded.
type ListParams struct {
	store.ActivityListParams
	// After is set on a cursor page: the page holds the activities that
	// come after this key, older in (created_at, id) order.
	After *Key
}

// Key is the (created_at, id) key that orders activities.
type Key struct {
	CreatedAt time.Time
	ID        string
}

// PrepareListParams is p.Normalize, PrepareFilter on its filter and
// DecodeCursor on its cursor: what an ActivityList implementation does
// first.
func PrepareListParams(p store.ActivityListParams) (ListParams, error) {
	p, err := p.Normalize()
	lp := ListParams{ActivityListParams: p}
	if err != nil {
		return lp, err
	}
	if err := PrepareFilter(&lp.ActivityFilter); err != nil {
		return lp, err
	}
	if p.Cursor != "" {
		at, id, err := DecodeCursor(p.Cursor)
		if err != nil {
			return lp, err
		}
		lp.After = &Key{CreatedAt: at, ID: id}
	}
	return lp, nil
}

// PrepareSummaryParams is p.Normalize followed by PrepareFilter on its
// filter: what an ActivitySummary implementation does first.
func PrepareSummaryParams(p store.ActivitySummaryParams) (store.ActivitySummaryParams, error) {
	p, err := p.Normalize()
	if err != nil {
		return p, err
	}
	return p, PrepareFilter(&p.ActivityFilter)
}

// PrepareFilter validates f and normalises it in place: ClientID and
// ReportID in canonical form, From rounded up and To rounded down to the
// microsecond (the precision of stored times), both in UTC.
func PrepareFilter(f *store.ActivityFilter) error {
	var err error
	if f.ClientID != "" {
		if f.ClientID, err = ID("client_id", f.ClientID); err != nil {
			return err
		}
	}
	if f.ReportID != "" {
		if f.ReportID, err = ID("report_id", f.ReportID); err != nil {
			return err
		}
	}
	if !f.From.IsZero() {
		t := f.From.UTC()
		if tr := t.Truncate(time.Microsecond); tr.Before(t) {
			t = tr.Add(time.Microsecond)
		}
		f.From = t
	}
	if !f.To.IsZero() {
		f.To = f.To.UTC().Truncate(time.Microsecond)
	}
	return nil
}

// PrepareReports applies PrepareReport to every report of a batch and
// refuses a batch that names one report twice. It returns, for each
// report, whether its CreatedAt was zero (a replace keeps the stored
// creation time). An error is a *store.BatchError with the report's index.
func PrepareReports(reports []*store.Report, now time.Time) (keepCreated []bool, err error) {
	keepCreated = make([]bool, len(reports))
	seen := make(map[string]int, len(reports))
	for i, r := range reports {
		keepCreated[i] = r.CreatedAt.IsZero()
		if err := PrepareReport(r, now); err != nil {
			return nil, &store.BatchError{Index: i, Err: err}
		}
		if j, dup := seen[r.ID]; dup {
			return nil, &store.BatchError{Index: i, Err: Invalid("id", "report %s is already at index %d of the batch", r.ID, j)}
		}
		seen[r.ID] = i
	}
	return keepCreated, nil
}

// WrapBatch returns wrap(err); a *store.BatchError keeps its index around
// its wrapped cause. It is nil for a nil err.
func WrapBatch(err error, wrap func(error) error) error {
	if be, ok := err.(*store.BatchError); ok {
		return &store.BatchError{Index: be.Index, Err: wrap(be.Err)}
	}
	if err == nil {
		return nil
	}
	return wrap(err)
}

// Unbatch returns the cause of a *store.BatchError, or err: the error of a
// batch of one.
func Unbatch(err error) error {
	if be, ok := err.(*store.BatchError); ok {
		return be.Err
	}
	return err
}

// UpsertReports is the frame of a driver's ReportUpsertMany: it prepares
// the reports (PrepareReports), lets write store them given whether each
// keeps its stored creation time, and passes every error through wrap,
// keeping a *store.BatchError's index.
func UpsertReports(reports []*store.Report, now time.Time, write func(keepCreated []bool) (int, error), wrap func(error) error) (int, error) {
	keep, err := PrepareReports(reports, now)
	if err == nil {
		var n int
		if n, err = write(keep); err == nil {
			return n, nil
		}
	}
	return 0, WrapBatch(err, wrap)
}
