package store

import (
	"encoding/base64"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Field limits.
const (
	MaxActivityTypeLen = 50
	MaxDescriptionLen  = 255
	MaxUserAgentLen    = 500
	MaxCompanyNameLen  = 255
)

// PrepareClient validates c and normalises it in place (lower-case id, UTC
// time, zero CreatedAt = now).
func PrepareClient(c *Client, now time.Time) error {
	id, ok := NormalizeUUID(c.ID)
	if !ok {
		return Invalid("id", "must be a UUID")
	}
	c.ID = id
	c.CompanyName = strings.TrimSpace(c.CompanyName)
	if c.CompanyName == "" {
		return Invalid("company_name", "is required")
	}
	if utf8.RuneCountInString(c.CompanyName) > MaxCompanyNameLen {
		return Invalid("company_name", "must be at most %d characters", MaxCompanyNameLen)
	}
	if c.Industry == "" {
		c.Industry = IndustryOther
	}
	if !c.Industry.Valid() {
		return Invalid("industry", "unknown industry %q", c.Industry)
	}
	if c.Status == "" {
		c.Status = ClientActive
	}
	if !c.Status.Valid() {
		return Invalid("status", "unknown status %q", c.Status)
	}
	c.CreatedAt = utcOrNow(c.CreatedAt, now)
	return nil
}

// PrepareReport validates r with its recommendations and normalises them in
// place (lower-case ids, UTC times, new recommendation ids, default
// currency, savings rounded to the cent).
func PrepareReport(r *Report, now time.Time) error {
	id, ok := NormalizeUUID(r.ID)
	if !ok {
		return Invalid("id", "must be a UUID")
	}
	r.ID = id
	if r.ClientID, ok = NormalizeUUID(r.ClientID); !ok {
		return Invalid("client_id", "must be a UUID")
	}
	if !r.ReportType.Valid() {
		return Invalid("report_type", "unknown report type %q", r.ReportType)
	}
	if r.Status == "" {
		r.Status = StatusPending
	}
	if !r.Status.Valid() {
		return Invalid("status", "unknown status %q", r.Status)
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
			ve := err.(*ValidationError)
			ve.Field = fmt.Sprintf("recommendations[%d].%s", i, ve.Field)
			return ve
		}
	}
	return nil
}

func prepareRecommendation(rec *Recommendation, reportID string) error {
	if rec.ID == "" {
		rec.ID = NewID()
	} else if id, ok := NormalizeUUID(rec.ID); ok {
		rec.ID = id
	} else {
		return Invalid("id", "must be a UUID")
	}
	rec.ReportID = reportID
	if !rec.Category.Valid() {
		return Invalid("category", "unknown category %q", rec.Category)
	}
	rec.BusinessImpact = Impact(strings.ToLower(string(rec.BusinessImpact)))
	if !rec.BusinessImpact.Valid() {
		return Invalid("business_impact", "unknown business impact %q", rec.BusinessImpact)
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
func PrepareActivity(a *Activity, now time.Time) error {
	if a.ID == "" {
		a.ID = NewID()
	} else if id, ok := NormalizeUUID(a.ID); ok {
		a.ID = id
	} else {
		return Invalid("id", "must be a UUID")
	}
	if strings.TrimSpace(a.ActivityType) == "" {
		return Invalid("activity_type", "is required")
	}
	if len(a.ActivityType) > MaxActivityTypeLen {
		return Invalid("activity_type", "must be at most %d characters", MaxActivityTypeLen)
	}
	var ok bool
	if a.ClientID != "" {
		if a.ClientID, ok = NormalizeUUID(a.ClientID); !ok {
			return Invalid("client_id", "must be a UUID")
		}
	}
	if a.ReportID != "" {
		if a.ReportID, ok = NormalizeUUID(a.ReportID); !ok {
			return Invalid("report_id", "must be a UUID")
		}
	}
	if a.StatusCode < 0 || a.StatusCode > 999 {
		return Invalid("status_code", "must be between 0 and 999")
	}
	if a.Duration < 0 {
		return Invalid("duration_ms", "must not be negative")
	}
	a.Description = Truncate(a.Description, MaxDescriptionLen)
	a.UserAgent = Truncate(a.UserAgent, MaxUserAgentLen)
	a.Path = Truncate(a.Path, 2048)
	a.Method = Truncate(a.Method, 16)
	a.Username = Truncate(a.Username, 150)
	a.FullName = Truncate(a.FullName, 255)
	a.CreatedAt = utcOrNow(a.CreatedAt, now)
	return nil
}

// Truncate cuts s to at most n runes, never splitting a UTF-8 sequence.
// Invalid UTF-8 is replaced so the result is always valid text.
func Truncate(s string, n int) string {
	if len(s) <= n && utf8.ValidString(s) {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
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

// Activity list page sizes.
const (
	ListLimitDefault = 25   // ActivityListParams.Limit 0
	ListLimitMax     = 1000 // the largest ActivityListParams.Limit
)

// Normalize validates p and returns it with its defaults filled (Limit 0 →
// ListLimitDefault). Drivers call it so they refuse the same parameters.
func (p ActivityListParams) Normalize() (ActivityListParams, error) {
	switch {
	case p.Limit < 0 || p.Limit > ListLimitMax:
		return p, Invalid("limit", "must be between 1 and %d", ListLimitMax)
	case p.Offset < 0:
		return p, Invalid("offset", "must not be negative")
	case p.Cursor != "" && p.Offset != 0:
		return p, Invalid("offset", "must be 0 with a cursor")
	}
	if p.Limit == 0 {
		p.Limit = ListLimitDefault
	}
	return p, nil
}

// Normalize validates p and returns it with its defaults filled (an empty
// GroupBy → GroupByType). Drivers call it so they refuse the same
// parameters.
func (p ActivitySummaryParams) Normalize() (ActivitySummaryParams, error) {
	switch p.GroupBy {
	case "":
		p.GroupBy = GroupByType
	case GroupByType, GroupByUser, GroupByDay:
	default:
		return p, Invalid("group_by", "must be one of activity_type, user, day")
	}
	if p.Limit < 0 {
		return p, Invalid("limit", "must not be negative")
	}
	return p, nil
}

// EncodeCursor returns the opaque keyset cursor that follows the row
// (createdAt, id) in newest-first order.
func EncodeCursor(createdAt time.Time, id string) string {
	raw := strconv.FormatInt(createdAt.UnixMicro(), 36) + "." + id
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// DecodeCursor parses a cursor made by EncodeCursor. A malformed cursor is
// a *ValidationError on field "cursor".
func DecodeCursor(cursor string) (createdAt time.Time, id string, err error) {
	bad := Invalid("cursor", "malformed cursor")
	raw, derr := base64.RawURLEncoding.DecodeString(cursor)
	if derr != nil {
		return time.Time{}, "", bad
	}
	ts, rest, ok := strings.Cut(string(raw), ".")
	if !ok {
		return time.Time{}, "", bad
	}
	us, perr := strconv.ParseInt(ts, 36, 64)
	if perr != nil {
		return time.Time{}, "", bad
	}
	if id, ok = NormalizeUUID(rest); !ok {
		return time.Time{}, "", bad
	}
	return time.UnixMicro(us).UTC(), id, nil
}
