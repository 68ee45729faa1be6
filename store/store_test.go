package store_test

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/google/go-cmp/cmp"
)

var now = time.Date(2025, 1, 15, 10, 30, 0, 123456789, time.UTC)

func TestNewIDIsValidV4(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		id := store.NewID()
		if !store.ValidUUID(id) {
			t.Fatalf("NewID() = %q, not a UUID", id)
		}
		if id[14] != '4' || !strings.ContainsRune("89ab", rune(id[19])) {
			t.Fatalf("NewID() = %q, not version 4 / RFC 4122 variant", id)
		}
		if seen[id] {
			t.Fatalf("NewID() repeated %q", id)
		}
		seen[id] = true
	}
}

func TestValidUUID(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"3b241101-e2bb-4255-8caf-4136c566a962", true},
		{"3B241101-E2BB-4255-8CAF-4136C566A962", true},
		{"3b241101e2bb42558caf4136c566a962", false},
		{"3b241101-e2bb-4255-8caf-4136c566a96", false},
		{"3b241101-e2bb-4255-8caf-4136c566a96g", false},
		{"3b241101_e2bb-4255-8caf-4136c566a962", false},
		{"", false},
		{"' OR 1=1 --", false},
	}
	for _, tt := range tests {
		if got := store.ValidUUID(tt.in); got != tt.want {
			t.Errorf("ValidUUID(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
	if got, ok := store.NormalizeUUID("3B241101-E2BB-4255-8CAF-4136C566A962"); !ok || got != "3b241101-e2bb-4255-8caf-4136c566a962" {
		t.Errorf("NormalizeUUID = %q, %v", got, ok)
	}
}

func field(t *testing.T, err error) string {
	t.Helper()
	ve, ok := store.AsValidation(err)
	if !ok {
		t.Fatalf("error %v is not a *ValidationError", err)
	}
	return ve.Field
}

func TestPrepareActivity(t *testing.T) {
	long := strings.Repeat("é", 300)
	a := store.Activity{ActivityType: "login", Description: long, UserAgent: strings.Repeat("a", 600),
		ClientID: "3B241101-E2BB-4255-8CAF-4136C566A962"}
	if err := store.PrepareActivity(&a, now); err != nil {
		t.Fatal(err)
	}
	if !store.ValidUUID(a.ID) {
		t.Errorf("ID = %q, want a new UUID", a.ID)
	}
	if got := utf8.RuneCountInString(a.Description); got != store.MaxDescriptionLen {
		t.Errorf("description cut to %d runes, want %d", got, store.MaxDescriptionLen)
	}
	if len(a.UserAgent) != store.MaxUserAgentLen {
		t.Errorf("user agent cut to %d, want %d", len(a.UserAgent), store.MaxUserAgentLen)
	}
	if a.ClientID != "3b241101-e2bb-4255-8caf-4136c566a962" {
		t.Errorf("client id not lower-cased: %q", a.ClientID)
	}
	if want := now.Truncate(time.Microsecond); !a.CreatedAt.Equal(want) {
		t.Errorf("CreatedAt = %v, want %v", a.CreatedAt, want)
	}

	bad := []struct {
		name  string
		a     store.Activity
		field string
	}{
		{"empty type", store.Activity{ActivityType: "  "}, "activity_type"},
		{"long type", store.Activity{ActivityType: strings.Repeat("x", 51)}, "activity_type"},
		{"bad id", store.Activity{ID: "nope", ActivityType: "login"}, "id"},
		{"bad client", store.Activity{ActivityType: "login", ClientID: "1"}, "client_id"},
		{"bad report", store.Activity{ActivityType: "login", ReportID: "x"}, "report_id"},
		{"bad status", store.Activity{ActivityType: "login", StatusCode: 1000}, "status_code"},
		{"negative duration", store.Activity{ActivityType: "login", Duration: -1}, "duration_ms"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.a
			if got := field(t, store.PrepareActivity(&a, now)); got != tt.field {
				t.Errorf("field = %q, want %q", got, tt.field)
			}
		})
	}
}

func TestPrepareReport(t *testing.T) {
	const id, client = "3b241101-e2bb-4255-8caf-4136c566a962", "5e2b1c4e-0f5a-4a8e-9d0e-2f1f6c1b7a10"
	ok := func() store.Report {
		return store.Report{ID: id, ClientID: client, ReportType: store.ReportCost,
			Recommendations: []store.Recommendation{{Category: store.CategoryCost, BusinessImpact: "High", PotentialSavings: 10.005}}}
	}
	r := ok()
	if err := store.PrepareReport(&r, now); err != nil {
		t.Fatal(err)
	}
	rec := r.Recommendations[0]
	if rec.ReportID != id || rec.BusinessImpact != store.ImpactHigh || rec.Currency != "USD" || !store.ValidUUID(rec.ID) {
		t.Errorf("recommendation not normalised: %+v", rec)
	}
	if r.Status != store.StatusPending {
		t.Errorf("status = %q, want pending", r.Status)
	}

	later := now.Add(time.Hour)
	tests := []struct {
		name   string
		mutate func(*store.Report)
		field  string
	}{
		{"bad id", func(r *store.Report) { r.ID = "1" }, "id"},
		{"bad client", func(r *store.Report) { r.ClientID = "" }, "client_id"},
		{"bad type", func(r *store.Report) { r.ReportType = "weekly" }, "report_type"},
		{"bad status", func(r *store.Report) { r.Status = "done" }, "status"},
		{"completed before started", func(r *store.Report) { r.ProcessingStartedAt = &later; r.ProcessingCompletedAt = &now }, "processing_completed_at"},
		{"negative size", func(r *store.Report) { n := int64(-1); r.CSVSizeBytes = &n }, "csv_size_bytes"},
		{"unknown category", func(r *store.Report) { r.Recommendations[0].Category = "speed" }, "recommendations[0].category"},
		{"unknown impact", func(r *store.Report) { r.Recommendations[0].BusinessImpact = "huge" }, "recommendations[0].business_impact"},
		{"negative savings", func(r *store.Report) { r.Recommendations[0].PotentialSavings = -1 }, "recommendations[0].potential_savings"},
		{"NaN savings", func(r *store.Report) { r.Recommendations[0].PotentialSavings = math.NaN() }, "recommendations[0].potential_savings"},
		{"bad currency", func(r *store.Report) { r.Recommendations[0].Currency = "dollars" }, "recommendations[0].currency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ok()
			tt.mutate(&r)
			if got := field(t, store.PrepareReport(&r, now)); got != tt.field {
				t.Errorf("field = %q, want %q", got, tt.field)
			}
		})
	}
}

func TestPrepareClient(t *testing.T) {
	c := store.Client{ID: "3b241101-e2bb-4255-8caf-4136c566a962", CompanyName: "  Contoso "}
	if err := store.PrepareClient(&c, now); err != nil {
		t.Fatal(err)
	}
	want := store.Client{ID: c.ID, CompanyName: "Contoso", Industry: store.IndustryOther, Status: store.ClientActive,
		CreatedAt: now.Truncate(time.Microsecond)}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("PrepareClient (-want +got):\n%s", diff)
	}
	for _, tt := range []struct {
		c     store.Client
		field string
	}{
		{store.Client{ID: "x", CompanyName: "A"}, "id"},
		{store.Client{ID: c.ID}, "company_name"},
		{store.Client{ID: c.ID, CompanyName: "A", Industry: "mining"}, "industry"},
		{store.Client{ID: c.ID, CompanyName: "A", Status: "gone"}, "status"},
	} {
		c := tt.c
		if got := field(t, store.PrepareClient(&c, now)); got != tt.field {
			t.Errorf("PrepareClient(%+v) field = %q, want %q", tt.c, got, tt.field)
		}
	}
}

func TestCursorRoundTrip(t *testing.T) {
	at := time.Date(2025, 3, 9, 7, 0, 0, 123456000, time.UTC)
	id := "3b241101-e2bb-4255-8caf-4136c566a962"
	gotAt, gotID, err := store.DecodeCursor(store.EncodeCursor(at, id))
	if err != nil || !gotAt.Equal(at) || gotID != id {
		t.Fatalf("round trip = %v, %q, %v", gotAt, gotID, err)
	}
	for _, bad := range []string{"", "!!!", "bm90LWEtY3Vyc29y", store.EncodeCursor(at, "x")} {
		if _, _, err := store.DecodeCursor(bad); field(t, err) != "cursor" {
			t.Errorf("DecodeCursor(%q) = %v", bad, err)
		}
	}
}

func TestTruncateKeepsValidUTF8(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"hello", 10, "hello"},
		{"héllo", 2, "hé"},
		{"ab\xffcd", 10, "ab\uFFFDcd"},
		{"日本語テキスト", 3, "日本語"},
	}
	for _, tt := range tests {
		if got := store.Truncate(tt.in, tt.n); got != tt.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

func TestTitleCaseAndLabels(t *testing.T) {
	if got := store.TitleCase("operational_excellence"); got != "Operational Excellence" {
		t.Errorf("TitleCase = %q", got)
	}
	if got := store.ReportCost.Label(); got != "Cost Optimization" {
		t.Errorf("Label = %q", got)
	}
	if got := store.TitleCase("élan_vital"); got != "Élan Vital" {
		t.Errorf("TitleCase = %q", got)
	}
	if store.Period("hourly").Valid() || !store.PeriodWeekly.Valid() {
		t.Error("Period.Valid misbehaves")
	}
	err := fmt.Errorf("sqlite: get client: %w", store.Invalid("client_id", "must be a UUID"))
	if ve, ok := store.AsValidation(err); !ok || ve.Field != "client_id" || err.Error() != "sqlite: get client: invalid client_id: must be a UUID" {
		t.Errorf("AsValidation(%v) = %v, %v", err, ve, ok)
	}
	if _, ok := store.AsValidation(errors.New("x")); ok {
		t.Error("AsValidation accepted a plain error")
	}
}

func TestActivityListParamsNormalize(t *testing.T) {
	got, err := store.ActivityListParams{}.Normalize()
	if err != nil || got.Limit != store.ListLimitDefault {
		t.Errorf("zero params = %+v, %v; want Limit %d", got, err, store.ListLimitDefault)
	}
	if got, err := (store.ActivityListParams{Limit: store.ListLimitMax, Offset: 5}).Normalize(); err != nil || got.Limit != store.ListLimitMax || got.Offset != 5 {
		t.Errorf("largest limit = %+v, %v", got, err)
	}
	for _, tt := range []struct {
		p     store.ActivityListParams
		field string
	}{
		{store.ActivityListParams{Limit: -1}, "limit"},
		{store.ActivityListParams{Limit: store.ListLimitMax + 1}, "limit"},
		{store.ActivityListParams{Offset: -1}, "offset"},
		{store.ActivityListParams{Offset: 1, Cursor: "x"}, "offset"},
	} {
		_, err := tt.p.Normalize()
		if got := field(t, err); got != tt.field {
			t.Errorf("Normalize(%+v) field = %q, want %q", tt.p, got, tt.field)
		}
	}
}

func TestActivitySummaryParamsNormalize(t *testing.T) {
	got, err := store.ActivitySummaryParams{}.Normalize()
	if err != nil || got.GroupBy != store.GroupByType {
		t.Errorf("zero params = %+v, %v; want GroupBy %q", got, err, store.GroupByType)
	}
	for _, g := range []store.SummaryGroup{store.GroupByType, store.GroupByUser, store.GroupByDay} {
		if got, err := (store.ActivitySummaryParams{GroupBy: g, Limit: 20}).Normalize(); err != nil || got.GroupBy != g {
			t.Errorf("GroupBy %q = %+v, %v", g, got, err)
		}
	}
	for _, tt := range []struct {
		p     store.ActivitySummaryParams
		field string
	}{
		{store.ActivitySummaryParams{GroupBy: "client"}, "group_by"},
		{store.ActivitySummaryParams{Limit: -1}, "limit"},
	} {
		_, err := tt.p.Normalize()
		if got := field(t, err); got != tt.field {
			t.Errorf("Normalize(%+v) field = %q, want %q", tt.p, got, tt.field)
		}
	}
}
