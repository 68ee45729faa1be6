package storedriver_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/storedriver"
	"github.com/advisoranalytics/advisor-analytics/store/storetest"
	"github.com/google/go-cmp/cmp"
)

var now = time.Date(2025, 1, 15, 10, 30, 0, 123456789, time.UTC)

func TestPrepareActivity(t *testing.T) {
	long := strings.Repeat("é", 300)
	a := store.Activity{ActivityType: "login", Description: long, UserAgent: strings.Repeat("a", 600),
		ClientID: "3B241101-E2BB-4255-8CAF-4136C566A962"}
	if err := storedriver.PrepareActivity(&a, now); err != nil {
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
			if got := storetest.FieldOf(t, storedriver.PrepareActivity(&a, now)); got != tt.field {
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
	if err := storedriver.PrepareReport(&r, now); err != nil {
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
			if got := storetest.FieldOf(t, storedriver.PrepareReport(&r, now)); got != tt.field {
				t.Errorf("field = %q, want %q", got, tt.field)
			}
		})
	}
}

func TestPrepareClient(t *testing.T) {
	c := store.Client{ID: "3b241101-e2bb-4255-8caf-4136c566a962", CompanyName: "  Contoso "}
	if err := storedriver.PrepareClient(&c, now); err != nil {
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
		if got := storetest.FieldOf(t, storedriver.PrepareClient(&c, now)); got != tt.field {
			t.Errorf("PrepareClient(%+v) field = %q, want %q", tt.c, got, tt.field)
		}
	}
}

func TestCursorRoundTrip(t *testing.T) {
	at := time.Date(2025, 3, 9, 7, 0, 0, 123456000, time.UTC)
	id := "3b241101-e2bb-4255-8caf-4136c566a962"
	gotAt, gotID, err := storedriver.DecodeCursor(storedriver.EncodeCursor(at, id))
	if err != nil || !gotAt.Equal(at) || gotID != id {
		t.Fatalf("round trip = %v, %q, %v", gotAt, gotID, err)
	}
	for _, bad := range []string{"", "!!!", "bm90LWEtY3Vyc29y", storedriver.EncodeCursor(at, "x")} {
		if _, _, err := storedriver.DecodeCursor(bad); storetest.FieldOf(t, err) != "cursor" {
			t.Errorf("DecodeCursor(%q) = %v", bad, err)
		}
	}
}

// BenchmarkPrepareActivity validates an activity as the tracking
// middleware records it (a handful of short metadata values).
func BenchmarkPrepareActivity(b *testing.B) {
	now := time.Now()
	a := store.Activity{UserID: "u1", Username: "alice", ActivityType: "download_report", Description: "Downloaded report",
		ReportID: "22222222-0000-4000-8000-000000000001", Method: "GET", Path: "/api/v1/reports/22222222-0000-4000-8000-000000000001/download/pdf/",
		StatusCode: 200, Duration: 12 * time.Millisecond,
		Metadata: map[string]any{"path": "/api/v1/reports/22222222-0000-4000-8000-000000000001/download/pdf/", "method": "GET",
			"status_code": 200, "report_id": "22222222-0000-4000-8000-000000000001", "format": "pdf"}}
	b.ReportAllocs()
	for b.Loop() {
		x := a
		x.ID = ""
		if err := storedriver.PrepareActivity(&x, now); err != nil {
			b.Fatal(err)
		}
	}
}

func TestPrepareParams(t *testing.T) {
	from := time.Date(2025, 6, 1, 12, 0, 0, 1500, time.FixedZone("X", 3600))
	f := store.ActivityFilter{ClientID: "AAAAAAAA-0000-4000-8000-000000000001", From: from}
	lp, err := storedriver.PrepareListParams(store.ActivityListParams{ActivityFilter: f})
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2025, 6, 1, 11, 0, 0, 2000, time.UTC)
	if lp.Limit != store.ListLimitDefault || lp.ClientID != "aaaaaaaa-0000-4000-8000-000000000001" || !lp.From.Equal(want) || lp.From.Location() != time.UTC {
		t.Errorf("PrepareListParams = %+v", lp)
	}
	if lp.After != nil {
		t.Errorf("PrepareListParams without a cursor: After = %+v", lp.After)
	}
	at := time.Date(2025, 6, 1, 10, 0, 0, 123000, time.UTC)
	cp, err := storedriver.PrepareListParams(store.ActivityListParams{Cursor: storedriver.EncodeCursor(at, "BBBBBBBB-0000-4000-8000-000000000002")})
	if err != nil {
		t.Fatal(err)
	}
	if cp.After == nil || !cp.After.CreatedAt.Equal(at) || cp.After.ID != "bbbbbbbb-0000-4000-8000-000000000002" {
		t.Errorf("PrepareListParams with a cursor: After = %+v", cp.After)
	}
	sp, err := storedriver.PrepareSummaryParams(store.ActivitySummaryParams{ActivityFilter: f})
	if err != nil {
		t.Fatal(err)
	}
	if sp.GroupBy != store.GroupByType || sp.ClientID != lp.ClientID || !sp.From.Equal(want) {
		t.Errorf("PrepareSummaryParams = %+v", sp)
	}
	for _, err := range []error{
		func() error { _, err := storedriver.PrepareListParams(store.ActivityListParams{Limit: -1}); return err }(),
		func() error {
			_, err := storedriver.PrepareListParams(store.ActivityListParams{Cursor: "bm90LWEtY3Vyc29y"})
			return err
		}(),
		func() error {
			_, err := storedriver.PrepareListParams(store.ActivityListParams{ActivityFilter: store.ActivityFilter{ReportID: "x"}})
			return err
		}(),
		func() error {
			_, err := storedriver.PrepareSummaryParams(store.ActivitySummaryParams{GroupBy: "month"})
			return err
		}(),
		func() error {
			_, err := storedriver.PrepareSummaryParams(store.ActivitySummaryParams{ActivityFilter: store.ActivityFilter{ClientID: "x"}})
			return err
		}(),
	} {
		var ve *store.ValidationError
		if !errors.As(err, &ve) {
			t.Errorf("err = %v, want a *store.ValidationError", err)
		}
	}
}

func TestClientMatch(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"Contoso", "%contoso%"},
		{"100% A_B\\C", `%100\% a\_b\\c%`},
		{"Ümlaut ÄG", "%Ümlaut Äg%"},
	} {
		got, err := storedriver.ClientMatch(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ClientMatch(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"a\x00", "\xff", strings.Repeat("é", store.MaxCompanyNameLen/2+1)} {
		if _, err := storedriver.ClientMatch(in); err == nil {
			t.Errorf("ClientMatch(%q) accepted", in)
		}
	}
	for _, tc := range []struct{ limit, offset, want int }{{0, 0, store.ListLimitDefault}, {7, 3, 7}, {store.ListLimitMax, 0, store.ListLimitMax}} {
		if pattern, got, err := storedriver.PrepareClientList("Ab", tc.limit, tc.offset); err != nil || got != tc.want || pattern != "%ab%" {
			t.Errorf("PrepareClientList(Ab, %d, %d) = %q, %d, %v; want %%ab%%, %d", tc.limit, tc.offset, pattern, got, err, tc.want)
		}
	}
	for _, tc := range []struct {
		match         string
		limit, offset int
		field         string
	}{{"", -1, 0, "limit"}, {"", store.ListLimitMax + 1, 0, "limit"}, {"", 1, -1, "offset"}, {"\xff", 1, 0, "match"}} {
		_, _, err := storedriver.PrepareClientList(tc.match, tc.limit, tc.offset)
		if ve, ok := errors.AsType[*store.ValidationError](err); !ok || ve.Field != tc.field {
			t.Errorf("PrepareClientList(%q, %d, %d) = %v, want a validation error of %s", tc.match, tc.limit, tc.offset, err, tc.field)
		}
	}
}
