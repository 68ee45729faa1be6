package postgres_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/advisoranalytics/advisor-analytics/store"
)

// TestReportUpsertText stores report text PostgreSQL cannot hold as given
// (NUL characters, bytes that are not UTF-8) cleaned, and refuses a
// currency that would need cleaning, naming the field.
func TestReportUpsertText(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := t.Context()
	const client = "c0000000-0000-4000-8000-000000000001"
	must(t, s.ClientUpsert(ctx, &store.Client{ID: client, CompanyName: "Con\x00toso \xff", Industry: store.IndustryRetail}))
	c, err := s.ClientGet(ctx, client)
	must(t, err)
	if c.CompanyName != "Contoso \uFFFD" {
		t.Errorf("company name stored as %q", c.CompanyName)
	}
	r := store.Report{ID: "a0000000-0000-4000-8000-000000000001", ClientID: client, CreatedBy: "u\x001",
		ReportType: store.ReportCost, CreatedAt: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC),
		Recommendations: []store.Recommendation{{Category: store.CategoryCost, Recommendation: "Resize\x00 VM \xc3",
			SubscriptionID: "s\x00", SubscriptionName: "\xffname", ResourceGroup: "rg\x00", ResourceName: "vm\xfe",
			ResourceType: "t\x00", PotentialSavings: 1}}}
	must(t, s.ReportUpsert(ctx, &r))
	got, err := s.ReportGet(ctx, r.ID)
	must(t, err)
	rec := got.Recommendations[0]
	want := []string{"u1", "Resize VM \uFFFD", "s", "\uFFFDname", "rg", "vm\uFFFD", "t"}
	if d := cmp.Diff(want, []string{got.CreatedBy, rec.Recommendation, rec.SubscriptionID, rec.SubscriptionName,
		rec.ResourceGroup, rec.ResourceName, rec.ResourceType}); d != "" {
		t.Errorf("stored text (-want +got):\n%s", d)
	}

	for _, cur := range []string{"U\x00S", "\xffUS"} {
		bad := r
		bad.Recommendations = []store.Recommendation{{Category: store.CategoryCost, Currency: cur}}
		err := s.ReportUpsert(ctx, &bad)
		ve, ok := errors.AsType[*store.ValidationError](err)
		if !ok || ve.Field != "recommendations[0].currency" {
			t.Errorf("currency %q: got %v, want a validation error on recommendations[0].currency", cur, err)
		}
	}
}
