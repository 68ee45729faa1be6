package storetest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/storedriver"
)

func runDomain(t *testing.T, open OpenFunc) {
	parallel(t, open, "Client", testClient)
	parallel(t, open, "ClientUpdateKeepsReports", testClientUpdateKeepsReports)
	parallel(t, open, "ClientList", testClientList)
	parallel(t, open, "ReportRoundTrip", testReportRoundTrip)
	parallel(t, open, "ReportReplace", testReportReplace)
	parallel(t, open, "ReportConcurrentUpserts", testReportConcurrentUpserts)
	t.Run("ReportInvalid", func(t *testing.T) { testReportInvalid(t, open) })
	parallel(t, open, "ReportSavingsToTheCent", testReportSavingsCents)
	parallel(t, open, "ReportMetrics", testReportMetrics)
	parallel(t, open, "RecommendationCounts", testRecommendationCounts)
	parallel(t, open, "ReportDailyCounts", testReportDailyCounts)
	parallel(t, open, "ReportRecent", testReportRecent)
	parallel(t, open, "ClientPerformance", testClientPerformance)
	parallel(t, open, "CostFigures", testCostFigures)
	parallel(t, open, "CostFiguresUnbounded", testCostFiguresUnbounded)
	parallel(t, open, "ReportWindowStats", testReportWindowStats)
	parallel(t, open, "CompletionRules", testCompletionRules)
	parallel(t, open, "EmptyAggregations", testEmptyAggregations)
	parallel(t, open, "AggregatesFollowUpserts", testAggregatesFollowUpserts)
	parallel(t, open, "AggregatesConcurrentReports", testAggregatesConcurrentReports)
	parallel(t, open, "ReportNULText", testReportNULText)
	parallel(t, open, "ReportUpsertMany", testReportUpsertMany)
}

// ignoreUpdatedAt leaves the store-set Client.UpdatedAt out of diffs.
var ignoreUpdatedAt = cmpopts.IgnoreFields(store.Client{}, "UpdatedAt")

// testClientList checks the order of ClientList (names compared byte by
// byte, then ids), its window and its parameter checks.
func testClientList(t *testing.T, s store.Store) {
	got, err := s.ClientList(ctx(t), "", 0, 0)
	must(t, err, "ClientList of no clients")
	if got == nil || len(got) != 0 {
		t.Fatalf("ClientList of no clients = %#v, want an empty slice", got)
	}
	created := ts("2025-03-04T05:06:07.000008Z")
	names := []string{"Fabrikam", "adatum", "Contoso", "Ünicode Oy", "Contoso", "Contoso Ltd", "Zeta"}
	for i, name := range names {
		c := store.Client{ID: ID('c', len(names)-i), CompanyName: name, Industry: store.IndustryRetail,
			Status: store.ClientInactive, CreatedAt: created}
		must(t, s.ClientUpsert(ctx(t), &c), "ClientUpsert")
	}
	// Upper case before lower case, and the two Contosos by id.
	want := []string{"Contoso " + ID('c', 3), "Contoso " + ID('c', 5), "Contoso Ltd " + ID('c', 2),
		"Fabrikam " + ID('c', 7), "Zeta " + ID('c', 1), "adatum " + ID('c', 6), "Ünicode Oy " + ID('c', 4)}
	keys := func(cs []store.Client) []string {
		out := make([]string, len(cs))
		for i, c := range cs {
			out[i] = c.CompanyName + " " + c.ID
		}
		return out
	}
	got, err = s.ClientList(ctx(t), "", 0, 0)
	must(t, err, "ClientList")
	diff(t, "clients in name order", want, keys(got))
	if len(got) > 0 {
		diff(t, "a listed client", store.Client{ID: ID('c', 3), CompanyName: "Contoso", Industry: store.IndustryRetail,
			Status: store.ClientInactive, CreatedAt: created}, got[0], ignoreUpdatedAt)
		wantUTC(t, "listed client", got[0].CreatedAt, got[0].UpdatedAt)
	}
	for _, w := range []struct{ limit, offset, from, to int }{{2, 0, 0, 2}, {2, 3, 3, 5}, {5, 4, 4, 7}, {3, 7, 7, 7}, {1, 100, 7, 7}} {
		got, err := s.ClientList(ctx(t), "", w.limit, w.offset)
		must(t, err, "ClientList window")
		diff(t, fmt.Sprintf("limit %d offset %d", w.limit, w.offset), want[w.from:w.to], keys(got))
	}
	// More clients than the default limit: limit 0 returns ListLimitDefault.
	for i := range store.ListLimitDefault {
		c := store.Client{ID: ID('d', i+1), CompanyName: fmt.Sprintf("Many %02d", i)}
		must(t, s.ClientUpsert(ctx(t), &c), "ClientUpsert")
	}
	got, err = s.ClientList(ctx(t), "", 0, 0)
	must(t, err, "ClientList default limit")
	if len(got) != store.ListLimitDefault {
		t.Errorf("ClientList(0, 0) returned %d clients, want %d", len(got), store.ListLimitDefault)
	}
	got, err = s.ClientList(ctx(t), "", store.ListLimitMax, 0)
	must(t, err, "ClientList largest limit")
	if len(got) != len(names)+store.ListLimitDefault {
		t.Errorf("ClientList(%d, 0) returned %d clients, want %d", store.ListLimitMax, len(got), len(names)+store.ListLimitDefault)
	}
	for _, tc := range []struct {
		match         string
		limit, offset int
		field         string
	}{
		{"", -1, 0, "limit"}, {"", store.ListLimitMax + 1, 0, "limit"}, {"", 10, -1, "offset"},
		{"a\x00b", 0, 0, "match"}, {"\xff", 0, 0, "match"}, {strings.Repeat("a", store.MaxCompanyNameLen+1), 0, 0, "match"},
	} {
		_, err := s.ClientList(ctx(t), tc.match, tc.limit, tc.offset)
		wantValidation(t, err, tc.field, false)
	}
	testClientListMatch(t, s)
}

// testClientListMatch checks ClientList's match: a part of the name, ASCII
// letters without case, other characters as they are, the LIKE wildcards
// as themselves, with the window applied to the matching clients.
func testClientListMatch(t *testing.T, s store.Store) {
	for i, name := range []string{"100% Cloud", "100 Percent", "a_b Holdings", "axb Holdings", `Back\slash`, "Ümlaut GmbH", "ümlaut AG"} {
		c := store.Client{ID: ID('e', i+1), CompanyName: name}
		must(t, s.ClientUpsert(ctx(t), &c), "ClientUpsert")
	}
	for _, tc := range []struct {
		match         string
		limit, offset int
		want          []string
	}{
		{"contoso", 0, 0, []string{"Contoso", "Contoso", "Contoso Ltd"}},
		{"CONTOSO L", 0, 0, []string{"Contoso Ltd"}},
		{"contoso", 1, 1, []string{"Contoso"}},
		{"contoso", 10, 2, []string{"Contoso Ltd"}},
		{"contoso", 10, 3, []string{}},
		{"%", 0, 0, []string{"100% Cloud"}},
		{"0%", 0, 0, []string{"100% Cloud"}},
		{"_", 0, 0, []string{"a_b Holdings"}},
		{`\`, 0, 0, []string{`Back\slash`}},
		{`k\s`, 0, 0, []string{`Back\slash`}},
		{"Ümlaut", 0, 0, []string{"Ümlaut GmbH"}},
		{"ümlaut", 0, 0, []string{"ümlaut AG"}},
		{"MLAUT", 0, 0, []string{"Ümlaut GmbH", "ümlaut AG"}},
		{"no such client", 0, 0, []string{}},
	} {
		got, err := s.ClientList(ctx(t), tc.match, tc.limit, tc.offset)
		must(t, err, "ClientList with a match")
		names := make([]string, len(got))
		for i, c := range got {
			names[i] = c.CompanyName
		}
		diff(t, fmt.Sprintf("match %q limit %d offset %d", tc.match, tc.limit, tc.offset), tc.want, names)
	}
}

func testClient(t *testing.T, s store.Store) {
	_, err := s.ClientGet(ctx(t), ClientContoso)
	wantIs(t, err, store.ErrNotFound, "ClientGet of a missing client")
	// A malformed id is a parameter error on both getters, not a miss.
	_, err = s.ClientGet(ctx(t), "not-a-uuid")
	wantValidation(t, err, "id", false)
	_, err = s.ReportGet(ctx(t), "not-a-uuid")
	wantValidation(t, err, "id", false)

	c := store.Client{ID: strings.ToUpper(ClientContoso), CompanyName: "  Contoso  ", Industry: store.IndustryTechnology,
		Status: store.ClientActive, CreatedAt: time.Date(2025, 1, 10, 4, 0, 0, 0, newYork())}
	must(t, s.ClientUpsert(ctx(t), &c), "ClientUpsert")
	got, err := s.ClientGet(ctx(t), ClientContoso)
	must(t, err, "ClientGet")
	want := &store.Client{ID: ClientContoso, CompanyName: "Contoso", Industry: store.IndustryTechnology,
		Status: store.ClientActive, CreatedAt: ts("2025-01-10T09:00:00Z")}
	diff(t, "client", want, got, ignoreUpdatedAt)
	wantUTC(t, "client", got.CreatedAt, got.UpdatedAt)
	if got.UpdatedAt.IsZero() {
		t.Errorf("UpdatedAt not set")
	}
	// Upper-case ids find the same client.
	if _, err := s.ClientGet(ctx(t), strings.ToUpper(ClientContoso)); err != nil {
		t.Errorf("ClientGet with an upper-case id: %v", err)
	}

	// Update by id.
	upd := store.Client{ID: ClientContoso, CompanyName: "Contoso Ltd", Industry: store.IndustryFinance,
		Status: store.ClientSuspended, CreatedAt: ts("2025-01-10T09:00:00Z")}
	must(t, s.ClientUpsert(ctx(t), &upd), "ClientUpsert update")
	got, err = s.ClientGet(ctx(t), ClientContoso)
	must(t, err, "ClientGet")
	diff(t, "updated client", &store.Client{ID: ClientContoso, CompanyName: "Contoso Ltd", Industry: store.IndustryFinance,
		Status: store.ClientSuspended, CreatedAt: ts("2025-01-10T09:00:00Z")}, got, ignoreUpdatedAt)

	// Defaults: industry other, status active, zero CreatedAt = now.
	before := time.Now().Add(-time.Minute)
	d := store.Client{ID: ClientFabrikam, CompanyName: "Fabrikam"}
	must(t, s.ClientUpsert(ctx(t), &d), "ClientUpsert defaults")
	got, err = s.ClientGet(ctx(t), ClientFabrikam)
	must(t, err, "ClientGet")
	if got.Industry != store.IndustryOther || got.Status != store.ClientActive {
		t.Errorf("defaults: industry %q status %q, want other, active", got.Industry, got.Status)
	}
	if got.CreatedAt.Before(before) || got.CreatedAt.After(time.Now().Add(time.Minute)) {
		t.Errorf("zero CreatedAt stored as %v, want now", got.CreatedAt)
	}

	for _, tc := range []struct {
		c     store.Client
		field string
	}{
		{store.Client{ID: "nope", CompanyName: "X"}, "id"},
		{store.Client{ID: ClientNorthwind, CompanyName: "   "}, "company_name"},
		{store.Client{ID: ClientNorthwind, CompanyName: "X", Industry: "mining"}, "industry"},
		{store.Client{ID: ClientNorthwind, CompanyName: "X", Status: "gone"}, "status"},
	} {
		wantValidation(t, s.ClientUpsert(ctx(t), &tc.c), tc.field, false)
	}
	_, err = s.ClientGet(ctx(t), ClientNorthwind)
	wantIs(t, err, store.ErrNotFound, "ClientGet after refused upserts")
	// A refused update leaves the client as it was.
	bad := store.Client{ID: ClientContoso, CompanyName: "Renamed", Status: "gone"}
	wantValidation(t, s.ClientUpsert(ctx(t), &bad), "status", false)
	got, err = s.ClientGet(ctx(t), ClientContoso)
	must(t, err, "ClientGet")
	if got.CompanyName != "Contoso Ltd" {
		t.Errorf("refused update changed the client: %+v", got)
	}
}

// preparedReport returns r normalised as the contract says (with the ids
// of recommendations taken from got, which the store assigned).
func preparedReport(t *testing.T, r store.Report, got *store.Report) *store.Report {
	t.Helper()
	r = cloneReport(r)
	if got != nil && len(got.Recommendations) == len(r.Recommendations) {
		for i := range r.Recommendations {
			if r.Recommendations[i].ID == "" {
				r.Recommendations[i].ID = got.Recommendations[i].ID
			}
		}
	}
	must(t, storedriver.PrepareReport(&r, time.Time{}), "PrepareReport")
	return &r
}

func testClientUpdateKeepsReports(t *testing.T, s store.Store) {
	d := DomainDataset()
	Seed(t, s, d)
	c := d.Clients[0]
	c.CompanyName = "Contoso Renamed"
	must(t, s.ClientUpsert(ctx(t), &c), "ClientUpsert")
	perf, err := s.ClientPerformance(ctx(t), ClientContoso)
	must(t, err, "ClientPerformance")
	if perf.TotalReports != 3 || perf.TotalRecommendations != 8 {
		t.Errorf("after updating the client: %d reports, %d recommendations; want 3, 8", perf.TotalReports, perf.TotalRecommendations)
	}
	recent, err := s.ReportRecent(ctx(t), "", 100)
	must(t, err, "ReportRecent")
	for _, r := range recent {
		if r.ClientID == ClientContoso && r.ClientName != "Contoso Renamed" {
			t.Errorf("report %s: client name %q, want the new name", r.ID, r.ClientName)
		}
	}
}

func testReportRoundTrip(t *testing.T, s store.Store) {
	d := DomainDataset()
	Seed(t, s, Dataset{Clients: d.Clients})
	for n, r := range d.Reports {
		in := cloneReport(r)
		in.ID = strings.ToUpper(in.ID)
		if len(in.Recommendations) > 0 {
			in.Recommendations[0].ID = strings.ToUpper(ID('e', n))
			in.Recommendations[0].Currency = " eur "
			in.Recommendations[0].BusinessImpact = store.Impact(strings.ToUpper(string(in.Recommendations[0].BusinessImpact)))
		}
		must(t, s.ReportUpsert(ctx(t), &in), "ReportUpsert "+r.ID)
		got, err := s.ReportGet(ctx(t), r.ID)
		must(t, err, "ReportGet "+r.ID)
		for i, rec := range got.Recommendations {
			if !store.ValidUUID(rec.ID) {
				t.Errorf("report %s recommendation %d: id %q is not a UUID", r.ID, i, rec.ID)
			}
		}
		in.ID = r.ID
		want := preparedReport(t, in, got)
		diff(t, "report "+r.ID, want, got, cmpopts.EquateEmpty())
		times := []time.Time{got.CreatedAt}
		if got.ProcessingStartedAt != nil {
			times = append(times, *got.ProcessingStartedAt)
		}
		if got.ProcessingCompletedAt != nil {
			times = append(times, *got.ProcessingCompletedAt)
		}
		wantUTC(t, "report "+r.ID, times...)
	}
	_, err := s.ReportGet(ctx(t), DomainReport(99))
	wantIs(t, err, store.ErrNotFound, "ReportGet of a missing report")

	// Zero CreatedAt means now; the zero status is pending.
	before := time.Now().Add(-time.Minute)
	r := store.Report{ID: DomainReport(30), ClientID: ClientTailspin, ReportType: store.ReportSecurity}
	must(t, s.ReportUpsert(ctx(t), &r), "ReportUpsert with defaults")
	got, err := s.ReportGet(ctx(t), DomainReport(30))
	must(t, err, "ReportGet")
	if got.CreatedAt.Before(before) || got.CreatedAt.After(time.Now().Add(time.Minute)) || got.Status != store.StatusPending {
		t.Errorf("defaults: created %v, status %q; want now, pending", got.CreatedAt, got.Status)
	}
}

func testReportReplace(t *testing.T, s store.Store) {
	d := DomainDataset()
	Seed(t, s, d)
	r := cloneReport(d.Reports[0]) // report 1: 3 recommendations
	r.Status = store.StatusFailed
	r.CSVSizeBytes = nil
	r.Recommendations = []store.Recommendation{rec(store.CategoryPerformance, store.ImpactLow, 7.25)}
	must(t, s.ReportUpsert(ctx(t), &r), "ReportUpsert replace")
	got, err := s.ReportGet(ctx(t), r.ID)
	must(t, err, "ReportGet")
	diff(t, "replaced report", preparedReport(t, r, got), got, cmpopts.EquateEmpty())

	counts, err := s.RecommendationCategoryCounts(ctx(t))
	must(t, err, "RecommendationCategoryCounts")
	// Was cost 6, security 3, operational_excellence 1, performance 1,
	// reliability 1; report 1 took away cost 2, security 1 and added a
	// performance.
	diff(t, "categories after replace", []store.CountByKey{
		{Key: "cost", Count: 4}, {Key: "performance", Count: 2}, {Key: "security", Count: 2},
		{Key: "operational_excellence", Count: 1}, {Key: "reliability", Count: 1},
	}, counts)

	// Re-upserting what was read (recommendations with their ids) is a
	// no-op.
	again := cloneReport(*got)
	must(t, s.ReportUpsert(ctx(t), &again), "ReportUpsert of the stored report")
	got2, err := s.ReportGet(ctx(t), r.ID)
	must(t, err, "ReportGet")
	diff(t, "report upserted as read", got, got2)

	// Replacing with no recommendations empties them.
	r.Recommendations = nil
	must(t, s.ReportUpsert(ctx(t), &r), "ReportUpsert without recommendations")
	got, err = s.ReportGet(ctx(t), r.ID)
	must(t, err, "ReportGet")
	if len(got.Recommendations) != 0 {
		t.Errorf("%d recommendations left, want 0", len(got.Recommendations))
	}
	perf, err := s.ClientPerformance(ctx(t), "")
	must(t, err, "ClientPerformance")
	if perf.TotalRecommendations != 9 || perf.TotalReports != 9 {
		t.Errorf("after emptying report 1: %d recommendations over %d reports, want 9 over 9", perf.TotalRecommendations, perf.TotalReports)
	}
}

func testReportConcurrentUpserts(t *testing.T, s store.Store) {
	Seed(t, s, Dataset{Clients: DomainDataset().Clients})
	const writers = 6
	versions := make([]store.Report, writers)
	var wg sync.WaitGroup
	errs := make(chan error, writers*3)
	for w := range writers {
		r := store.Report{ID: DomainReport(70), ClientID: ClientContoso, ReportType: store.ReportCost, Status: store.StatusCompleted,
			CreatedAt: ts("2025-03-02T10:00:00Z")}
		for i := range w + 1 {
			r.Recommendations = append(r.Recommendations, rec(store.CategoryCost, store.ImpactHigh, float64(w*100+i)))
		}
		versions[w] = r
		wg.Go(func() {
			for range 3 {
				v := cloneReport(r)
				if err := s.ReportUpsert(ctx(t), &v); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent ReportUpsert of one report: %v", err)
	}
	got, err := s.ReportGet(ctx(t), DomainReport(70))
	must(t, err, "ReportGet")
	n := len(got.Recommendations)
	if n < 1 || n > writers {
		t.Fatalf("%d recommendations, want those of one version (1…%d)", n, writers)
	}
	want := preparedReport(t, versions[n-1], got)
	diff(t, "report after concurrent upserts (one whole version)", want, got)
	cats, err := s.RecommendationCategoryCounts(ctx(t))
	must(t, err, "RecommendationCategoryCounts")
	diff(t, "recommendations stored", []store.CountByKey{{Key: "cost", Count: int64(n)}}, cats)
}

func testReportInvalid(t *testing.T, open OpenFunc) {
	newReport := func() store.Report {
		return store.Report{ID: DomainReport(50), ClientID: ClientContoso, CreatedBy: "u1", ReportType: store.ReportCost,
			Status: store.StatusCompleted, CreatedAt: ts("2025-03-02T10:00:00Z"), Recommendations: []store.Recommendation{
				rec(store.CategoryCost, store.ImpactHigh, 1), rec(store.CategorySecurity, store.ImpactLow, 2),
				rec(store.CategoryCost, store.ImpactHigh, 3), rec(store.CategoryCost, store.ImpactHigh, 4)}}
	}
	cases := []struct {
		name  string
		bad   func(r *store.Report)
		field string
	}{
		{"NegativeSavings", func(r *store.Report) { r.Recommendations[2].PotentialSavings = -0.01 }, "recommendations[2].potential_savings"},
		{"UnknownCategory", func(r *store.Report) { r.Recommendations[2].Category = "bogus" }, "recommendations[2].category"},
		{"UnknownImpact", func(r *store.Report) { r.Recommendations[2].BusinessImpact = "huge" }, "recommendations[2].business_impact"},
		{"BadCurrency", func(r *store.Report) { r.Recommendations[2].Currency = "DOLLARS" }, "recommendations[2].currency"},
		{"BadRecommendationID", func(r *store.Report) { r.Recommendations[2].ID = "x" }, "recommendations[2].id"},
		{"UnknownClient", func(r *store.Report) { r.ClientID = ID('c', 77) }, "client_id"},
		{"MalformedClient", func(r *store.Report) { r.ClientID = "contoso" }, "client_id"},
		{"UnknownType", func(r *store.Report) { r.ReportType = "weekly" }, "report_type"},
		{"UnknownStatus", func(r *store.Report) { r.Status = "lost" }, "status"},
		{"CompletedBeforeStarted", func(r *store.Report) {
			r.ProcessingStartedAt = ptr(ts("2025-03-02T10:00:00Z"))
			r.ProcessingCompletedAt = ptr(ts("2025-03-02T09:00:00Z"))
		}, "processing_completed_at"},
		{"NegativeCSVSize", func(r *store.Report) { r.CSVSizeBytes = ptr[int64](-1) }, "csv_size_bytes"},
	}
	for _, tc := range cases {
		parallel(t, open, tc.name, func(t *testing.T, s store.Store) {
			d := DomainDataset()
			Seed(t, s, d)
			before, err := s.ClientPerformance(ctx(t), "")
			must(t, err, "ClientPerformance")

			// A new report: nothing of it is written.
			r := newReport()
			tc.bad(&r)
			wantValidation(t, s.ReportUpsert(ctx(t), &r), tc.field, false)
			_, err = s.ReportGet(ctx(t), r.ID)
			wantIs(t, err, store.ErrNotFound, "ReportGet of a refused report")

			// An existing report: left exactly as it was.
			existing, err := s.ReportGet(ctx(t), DomainReport(1))
			must(t, err, "ReportGet")
			r = newReport()
			r.ID = DomainReport(1)
			tc.bad(&r)
			wantValidation(t, s.ReportUpsert(ctx(t), &r), tc.field, false)
			got, err := s.ReportGet(ctx(t), DomainReport(1))
			must(t, err, "ReportGet")
			diff(t, "report after a refused replacement", existing, got)

			after, err := s.ClientPerformance(ctx(t), "")
			must(t, err, "ClientPerformance")
			diff(t, "aggregates after refused writes", before, after)
		})
	}
}

func testReportSavingsCents(t *testing.T, s store.Store) {
	Seed(t, s, Dataset{Clients: DomainDataset().Clients})
	// Ten times 0.10 plus 0.20 and 0.0049 (rounded to 0.00) and 12.3456
	// (rounded to 12.35): floating-point sums would drift.
	var recs []store.Recommendation
	for range 10 {
		recs = append(recs, rec(store.CategoryCost, store.ImpactHigh, 0.10))
	}
	recs = append(recs, rec(store.CategoryCost, store.ImpactHigh, 0.20), rec(store.CategoryCost, store.ImpactHigh, 0.0049),
		rec(store.CategorySecurity, store.ImpactHigh, 12.3456))
	r := store.Report{ID: DomainReport(60), ClientID: ClientContoso, ReportType: store.ReportCost, Status: store.StatusCompleted,
		CreatedAt: ts("2025-03-02T10:00:00Z"), Recommendations: recs}
	must(t, s.ReportUpsert(ctx(t), &r), "ReportUpsert")
	got, err := s.ReportGet(ctx(t), r.ID)
	must(t, err, "ReportGet")
	var amounts []float64
	for _, rc := range got.Recommendations {
		amounts = append(amounts, rc.PotentialSavings)
	}
	diff(t, "stored amounts", []float64{0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.2, 0, 12.35}, amounts)

	const total = 13.55
	perf, err := s.ClientPerformance(ctx(t), ClientContoso)
	must(t, err, "ClientPerformance")
	if perf.TotalSavings != total {
		t.Errorf("ClientPerformance.TotalSavings = %v, want exactly %v", perf.TotalSavings, total)
	}
	m, err := s.ReportMetrics(ctx(t), store.ReportMetricsParams{MonthStart: DomainMonthStart, PrevMonthStart: DomainPrevMonthStart})
	must(t, err, "ReportMetrics")
	if m.TotalSavings != total || m.SavingsThisMonth != total {
		t.Errorf("ReportMetrics savings %v / %v, want exactly %v", m.TotalSavings, m.SavingsThisMonth, total)
	}
	cf, err := s.CostFigures(ctx(t), store.CostParams{MonthsFrom: DomainPrevMonthStart, To: ts("2025-04-01T00:00:00Z")})
	must(t, err, "CostFigures")
	diff(t, "cost figures", &store.CostFigures{TotalSavings: total, Months: []store.MonthAmount{{Month: "2025-03", Amount: total}}}, cf)
	ws, err := s.ReportWindowStats(ctx(t), DomainMonthStart, ts("2025-04-01T00:00:00Z"))
	must(t, err, "ReportWindowStats")
	if ws.Savings != total {
		t.Errorf("ReportWindowStats.Savings = %v, want exactly %v", ws.Savings, total)
	}
}

func testReportMetrics(t *testing.T, s store.Store) {
	Seed(t, s, DomainDataset())
	p := store.ReportMetricsParams{MonthStart: DomainMonthStart, PrevMonthStart: DomainPrevMonthStart}
	want := &store.ReportMetrics{
		TotalReports:                    9,
		ReportsBeforeMonth:              3,       // 1, 2, 3
		CompletedReports:                4,       // 1, 2, 4, 6
		ActiveUsers:                     4,       // u1…u4
		ActiveUsersBeforeMonth:          2,       // u1, u2
		TotalSavings:                    1500.61, // 100.40 + 50.05 + 1234.56 + 10.31 + 5.30 + 99.99
		SavingsBeforeMonth:              1385.01, // 100.40 + 50.05 + 1234.56
		AvgGenerationSeconds:            56.25,   // (30 + 60 + 120 + 15) / 4
		AvgGenerationSecondsBeforeMonth: 45,      // (30 + 60) / 2
		ReportsThisMonth:                6,       // 4, 5, 6, 7, 8, 9
		ReportsPrevMonth:                2,       // 2, 3
		RecommendationsThisMonth:        6,       // 2 + 3 + 1
		RecommendationsPrevMonth:        3,       // 2 + 1
		SavingsThisMonth:                115.60,  // 10.31 + 5.30 + 99.99
		SavingsPrevMonth:                1284.61, // 50.05 + 1234.56
		ActiveClients:                   3,       // Contoso, Fabrikam, Tailspin
		ClientsThisMonth:                2,       // Northwind, Tailspin
		ClientsPrevMonth:                1,       // Fabrikam
	}
	got, err := s.ReportMetrics(ctx(t), p)
	must(t, err, "ReportMetrics")
	diff(t, "metrics", want, got)

	// A sample of the 2 most recently completed: reports 6 and 4, and
	// before the month reports 2 and 1.
	p.GenerationSample = 2
	got, err = s.ReportMetrics(ctx(t), p)
	must(t, err, "ReportMetrics sample 2")
	if got.AvgGenerationSeconds != 67.5 || got.AvgGenerationSecondsBeforeMonth != 45 {
		t.Errorf("sample 2: avg %v before month %v, want 67.5, 45", got.AvgGenerationSeconds, got.AvgGenerationSecondsBeforeMonth)
	}
	p.GenerationSample = 1
	got, err = s.ReportMetrics(ctx(t), p)
	must(t, err, "ReportMetrics sample 1")
	if got.AvgGenerationSeconds != 15 || got.AvgGenerationSecondsBeforeMonth != 60 {
		t.Errorf("sample 1: avg %v before month %v, want 15, 60", got.AvgGenerationSeconds, got.AvgGenerationSecondsBeforeMonth)
	}

	// April: March becomes the previous month.
	got, err = s.ReportMetrics(ctx(t), store.ReportMetricsParams{MonthStart: ts("2025-04-01T00:00:00Z"), PrevMonthStart: DomainMonthStart})
	must(t, err, "ReportMetrics April")
	diff(t, "metrics in April", &store.ReportMetrics{
		TotalReports: 9, ReportsBeforeMonth: 9, CompletedReports: 4, ActiveUsers: 4, ActiveUsersBeforeMonth: 4,
		TotalSavings: 1500.61, SavingsBeforeMonth: 1500.61, AvgGenerationSeconds: 56.25, AvgGenerationSecondsBeforeMonth: 56.25,
		ReportsThisMonth: 0, ReportsPrevMonth: 6, RecommendationsThisMonth: 0, RecommendationsPrevMonth: 6,
		SavingsThisMonth: 0, SavingsPrevMonth: 115.60, ActiveClients: 3, ClientsThisMonth: 0, ClientsPrevMonth: 2,
	}, got)
}

func testRecommendationCounts(t *testing.T, s store.Store) {
	Seed(t, s, DomainDataset())
	cats, err := s.RecommendationCategoryCounts(ctx(t))
	must(t, err, "RecommendationCategoryCounts")
	diff(t, "categories", []store.CountByKey{
		{Key: "cost", Count: 6}, {Key: "security", Count: 3},
		{Key: "operational_excellence", Count: 1}, {Key: "performance", Count: 1}, {Key: "reliability", Count: 1},
	}, cats)
	imps, err := s.RecommendationImpactCounts(ctx(t))
	must(t, err, "RecommendationImpactCounts")
	diff(t, "impacts", []store.CountByKey{
		{Key: "high", Count: 6}, {Key: "medium", Count: 3}, {Key: "low", Count: 2}, {Key: "", Count: 1},
	}, imps)

	// Ties by key: a report adding one low and one "" ties them at 3 and 2.
	r := store.Report{ID: DomainReport(40), ClientID: ClientTailspin, ReportType: store.ReportCost, CreatedAt: ts("2025-03-26T00:00:00Z"),
		Recommendations: []store.Recommendation{rec(store.CategoryReliability, store.ImpactLow, 1), rec(store.CategoryReliability, "", 1),
			rec(store.CategoryPerformance, "", 1)}}
	must(t, s.ReportUpsert(ctx(t), &r), "ReportUpsert")
	imps, err = s.RecommendationImpactCounts(ctx(t))
	must(t, err, "RecommendationImpactCounts")
	diff(t, "impacts with ties", []store.CountByKey{
		{Key: "high", Count: 6}, {Key: "", Count: 3}, {Key: "low", Count: 3}, {Key: "medium", Count: 3},
	}, imps)
	cats, err = s.RecommendationCategoryCounts(ctx(t))
	must(t, err, "RecommendationCategoryCounts")
	diff(t, "categories with ties", []store.CountByKey{
		{Key: "cost", Count: 6}, {Key: "reliability", Count: 3}, {Key: "security", Count: 3},
		{Key: "performance", Count: 2}, {Key: "operational_excellence", Count: 1},
	}, cats)
}

func testReportDailyCounts(t *testing.T, s store.Store) {
	Seed(t, s, DomainDataset())
	ny := newYork()
	cases := []struct {
		name     string
		from, to time.Time
		loc      *time.Location
		want     []store.ReportDayCount
	}{
		{"NewYork", time.Date(2025, 2, 28, 0, 0, 0, 0, ny), time.Date(2025, 4, 1, 0, 0, 0, 0, ny), ny, []store.ReportDayCount{
			{Day: "2025-02-28", ReportType: store.ReportDetailed, Count: 1}, // report 4, 2025-03-01T04:30Z
			{Day: "2025-03-10", ReportType: store.ReportExecutive, Count: 1},
			{Day: "2025-03-15", ReportType: store.ReportCost, Count: 2},     // reports 6 and 8
			{Day: "2025-03-15", ReportType: store.ReportSecurity, Count: 1}, // report 9, 2025-03-16T03:00Z
			{Day: "2025-03-25", ReportType: store.ReportOperations, Count: 1},
		}},
		{"UTC", DomainMonthStart, ts("2025-04-01T00:00:00Z"), nil, []store.ReportDayCount{
			{Day: "2025-03-01", ReportType: store.ReportDetailed, Count: 1},
			{Day: "2025-03-10", ReportType: store.ReportExecutive, Count: 1},
			{Day: "2025-03-15", ReportType: store.ReportCost, Count: 2},
			{Day: "2025-03-16", ReportType: store.ReportSecurity, Count: 1},
			{Day: "2025-03-25", ReportType: store.ReportOperations, Count: 1},
		}},
		// [from, to): report 6 at from is in, report 9 at to is out.
		{"HalfOpen", ts("2025-03-15T18:00:00Z"), ts("2025-03-16T03:00:00Z"), time.UTC, []store.ReportDayCount{
			{Day: "2025-03-15", ReportType: store.ReportCost, Count: 2},
		}},
		{"Empty", ts("2024-01-01T00:00:00Z"), ts("2024-02-01T00:00:00Z"), nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ReportDailyCounts(ctx(t), tc.from, tc.to, tc.loc)
			must(t, err, "ReportDailyCounts")
			diff(t, "daily counts", tc.want, got, cmpopts.EquateEmpty())
		})
	}
}

func testReportRecent(t *testing.T, s store.Store) {
	d := DomainDataset()
	// Two more reports created at the same instant as report 7: ties by id.
	for _, n := range []int{10, 11} {
		d.Reports = append(d.Reports, store.Report{ID: DomainReport(n), ClientID: ClientFabrikam, ReportType: store.ReportCost,
			Status: store.StatusPending, CreatedAt: ts("2025-03-25T23:00:00Z")})
	}
	Seed(t, s, d)
	got, err := s.ReportRecent(ctx(t), "", 4)
	must(t, err, "ReportRecent")
	type row struct{ ID, Client string }
	var rows []row
	for _, r := range got {
		rows = append(rows, row{r.ID, r.ClientName})
		if r.Recommendations != nil {
			t.Errorf("report %s: recommendations loaded by ReportRecent", r.ID)
		}
	}
	diff(t, "recent reports", []row{
		{DomainReport(11), "Fabrikam"}, {DomainReport(10), "Fabrikam"}, {DomainReport(7), "Tailspin"}, {DomainReport(9), "Northwind"},
	}, rows)
	// Full records, all of them.
	got, err = s.ReportRecent(ctx(t), "", 100)
	must(t, err, "ReportRecent")
	if len(got) != 11 {
		t.Fatalf("ReportRecent(100): %d reports, want 11", len(got))
	}
	r7 := cloneReport(d.Reports[6])
	r7.Recommendations = nil
	diff(t, "report 7", store.ReportWithClient{Report: *preparedReport(t, r7, nil), ClientName: "Tailspin"}, got[2])
	if got[10].ID != DomainReport(1) {
		t.Errorf("oldest report is %s, want %s", got[10].ID, DomainReport(1))
	}

	// One client's: the same order, that client's alone (an upper-case id
	// finds them too), none for an unknown client.
	var want []string
	for _, r := range got {
		if r.ClientID == ClientFabrikam {
			want = append(want, r.ID)
		}
	}
	if len(want) < 3 {
		t.Fatalf("the dataset has %d reports of Fabrikam, want at least 3", len(want))
	}
	for _, tc := range []struct {
		client string
		limit  int
		want   []string
	}{
		{ClientFabrikam, 100, want},
		{strings.ToUpper(ClientFabrikam), 2, want[:2]},
		{ID('f', 99), 100, nil},
	} {
		got, err := s.ReportRecent(ctx(t), tc.client, tc.limit)
		must(t, err, "ReportRecent of a client")
		var ids []string
		for _, r := range got {
			ids = append(ids, r.ID)
			if r.ClientName != "Fabrikam" {
				t.Errorf("report %s of client %q has client name %q", r.ID, tc.client, r.ClientName)
			}
		}
		diff(t, "reports of "+tc.client, tc.want, ids)
	}
	_, err = s.ReportRecent(ctx(t), "not-a-uuid", 10)
	wantValidation(t, err, "client_id", false)
}

func testClientPerformance(t *testing.T, s store.Store) {
	Seed(t, s, DomainDataset())
	cases := []struct {
		name   string
		client string
		want   *store.ClientPerformance
	}{
		{"Contoso", ClientContoso, &store.ClientPerformance{
			TotalReports: 3, CompletedReports: 3, FailedReports: 0, AvgProcessingSeconds: 35, // (30 + 60 + 15) / 3
			TotalRecommendations: 8, TotalSavings: 155.75, // 100.40 + 50.05 + 5.30
			Categories: []store.CountByKey{{Key: "cost", Count: 4}, {Key: "security", Count: 2}, {Key: "operational_excellence", Count: 1}, {Key: "reliability", Count: 1}},
		}},
		{"NorthwindUpperCase", strings.ToUpper(ClientNorthwind), &store.ClientPerformance{
			TotalReports: 3, FailedReports: 1,
		}},
		{"All", "", &store.ClientPerformance{
			TotalReports: 9, CompletedReports: 4, FailedReports: 2, AvgProcessingSeconds: 56.25,
			TotalRecommendations: 12, TotalSavings: 1500.61,
			Categories: []store.CountByKey{{Key: "cost", Count: 6}, {Key: "security", Count: 3}, {Key: "operational_excellence", Count: 1}, {Key: "performance", Count: 1}, {Key: "reliability", Count: 1}},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ClientPerformance(ctx(t), tc.client)
			must(t, err, "ClientPerformance")
			diff(t, "performance", tc.want, got, cmpopts.EquateEmpty())
		})
	}
	_, err := s.ClientPerformance(ctx(t), ID('c', 99))
	wantIs(t, err, store.ErrNotFound, "ClientPerformance of an unknown client")
	_, err = s.ClientPerformance(ctx(t), "not-a-uuid")
	wantValidation(t, err, "client_id", false)
}

func testCostFigures(t *testing.T, s store.Store) {
	Seed(t, s, DomainDataset())
	ny := newYork()
	april := ts("2025-04-01T00:00:00Z")
	cases := []struct {
		name string
		p    store.CostParams
		want *store.CostFigures
	}{
		{"All", store.CostParams{MonthsFrom: ts("2025-01-01T00:00:00Z"), To: april}, &store.CostFigures{
			TotalSavings: 1500.61, Months: []store.MonthAmount{{Month: "2025-01", Amount: 100.40}, {Month: "2025-02", Amount: 1284.61}, {Month: "2025-03", Amount: 115.60}},
		}},
		{"AllUnboundedTo", store.CostParams{MonthsFrom: ts("2025-01-01T00:00:00Z")}, &store.CostFigures{
			TotalSavings: 1500.61, Months: []store.MonthAmount{{Month: "2025-01", Amount: 100.40}, {Month: "2025-02", Amount: 1284.61}, {Month: "2025-03", Amount: 115.60}},
		}},
		// Report 4 (2025-03-01T04:30Z) is on 2025-02-28 in New York.
		{"NewYorkMonths", store.CostParams{MonthsFrom: time.Date(2025, 1, 1, 0, 0, 0, 0, ny).UTC(), To: april, Location: ny}, &store.CostFigures{
			TotalSavings: 1500.61, Months: []store.MonthAmount{{Month: "2025-01", Amount: 100.40}, {Month: "2025-02", Amount: 1294.92}, {Month: "2025-03", Amount: 105.29}},
		}},
		// The trend starts at MonthsFrom; the total does not.
		{"MonthsFromLater", store.CostParams{MonthsFrom: DomainMonthStart, To: april}, &store.CostFigures{
			TotalSavings: 1500.61, Months: []store.MonthAmount{{Month: "2025-03", Amount: 115.60}},
		}},
		{"CostOnly", store.CostParams{Types: []store.ReportType{store.ReportCost}, MonthsFrom: ts("2025-01-01T00:00:00Z"), To: april}, &store.CostFigures{
			TotalSavings: 1340.26, Months: []store.MonthAmount{{Month: "2025-01", Amount: 100.40}, {Month: "2025-02", Amount: 1234.56}, {Month: "2025-03", Amount: 5.30}},
		}},
		// From and To inclusive: report 6 is created exactly at To.
		{"RangeAndTypes", store.CostParams{From: DomainPrevMonthStart, To: ts("2025-03-15T18:00:00Z"),
			Types: []store.ReportType{store.ReportCost, store.ReportSecurity}, MonthsFrom: DomainPrevMonthStart}, &store.CostFigures{
			TotalSavings: 1289.91, Months: []store.MonthAmount{{Month: "2025-02", Amount: 1284.61}, {Month: "2025-03", Amount: 5.30}},
		}},
		{"FromInclusive", store.CostParams{From: ts("2025-03-25T23:00:00Z"), MonthsFrom: DomainMonthStart, To: april}, &store.CostFigures{
			TotalSavings: 99.99, Months: []store.MonthAmount{{Month: "2025-03", Amount: 99.99}},
		}},
		{"Nothing", store.CostParams{Types: []store.ReportType{store.ReportExecutive}, MonthsFrom: ts("2025-01-01T00:00:00Z"), To: april}, &store.CostFigures{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.CostFigures(ctx(t), tc.p)
			must(t, err, "CostFigures")
			diff(t, "cost figures", tc.want, got, cmpopts.EquateEmpty())
		})
	}
}

// testCostFiguresUnbounded checks that a query without an upper bound
// (which a store may answer from per-day counters) matches the same query
// bounded far in the future (answered from the reports), in UTC and in
// another zone, with midnight and other lower bounds.
func testCostFiguresUnbounded(t *testing.T, s store.Store) {
	Seed(t, s, DomainDataset())
	ny := newYork()
	far := ts("2100-01-01T00:00:00Z")
	for _, p := range []store.CostParams{
		{},
		{MonthsFrom: ts("2025-01-01T00:00:00Z")},
		{MonthsFrom: DomainMonthStart, Types: []store.ReportType{store.ReportCost}},
		{From: DomainPrevMonthStart, MonthsFrom: DomainPrevMonthStart, Types: []store.ReportType{store.ReportCost, store.ReportSecurity}},
		{From: ts("2025-03-25T23:00:00Z"), MonthsFrom: DomainMonthStart},
		{MonthsFrom: time.Date(2025, 1, 1, 0, 0, 0, 0, ny).UTC(), Location: ny},
		{From: time.Date(2025, 2, 1, 0, 0, 0, 0, ny).UTC(), MonthsFrom: time.Date(2025, 2, 1, 0, 0, 0, 0, ny).UTC(), Location: ny},
	} {
		got, err := s.CostFigures(ctx(t), p)
		must(t, err, "CostFigures")
		bounded := p
		bounded.To = far
		want, err := s.CostFigures(ctx(t), bounded)
		must(t, err, "CostFigures")
		diff(t, fmt.Sprintf("cost figures of %+v", p), want, got, cmpopts.EquateEmpty())
	}
}

func testReportWindowStats(t *testing.T, s store.Store) {
	Seed(t, s, DomainDataset())
	cases := []struct {
		name     string
		from, to time.Time
		want     *store.WindowStats
	}{
		{"EarlyMarch", DomainMonthStart, ts("2025-03-17T00:00:00Z"), &store.WindowStats{
			ReportsCreated: 5, ReportsCompleted: 2, ReportsFailed: 1, // 4, 5, 6, 8, 9
			ReportTypeCounts: map[string]int64{"detailed": 1, "executive": 1, "cost": 2, "security": 1},
			CategoryCounts:   map[string]int64{"performance": 1, "cost": 3, "operational_excellence": 1},
			Recommendations:  5, Savings: 15.61, NewClients: 1,
			AvgCSVSizeBytes: 1250, AvgProcessingSeconds: 67.5, TotalReports: 8,
		}},
		{"LateMarch", ts("2025-03-17T00:00:00Z"), ts("2025-04-01T00:00:00Z"), &store.WindowStats{
			ReportsCreated: 1, ReportTypeCounts: map[string]int64{"operations": 1}, CategoryCounts: map[string]int64{"security": 1},
			Recommendations: 1, Savings: 99.99, NewClients: 1, AvgCSVSizeBytes: 4096, TotalReports: 9,
		}},
		// [from, to): report 6 at from is in, report 9 at to is out.
		{"HalfOpen", ts("2025-03-15T18:00:00Z"), ts("2025-03-16T03:00:00Z"), &store.WindowStats{
			ReportsCreated: 2, ReportsCompleted: 1, ReportTypeCounts: map[string]int64{"cost": 2},
			CategoryCounts: map[string]int64{"cost": 2, "operational_excellence": 1}, Recommendations: 3, Savings: 5.30,
			AvgCSVSizeBytes: 500, AvgProcessingSeconds: 15, TotalReports: 7,
		}},
		{"Empty", ts("2024-01-01T00:00:00Z"), ts("2024-02-01T00:00:00Z"), &store.WindowStats{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ReportWindowStats(ctx(t), tc.from, tc.to)
			must(t, err, "ReportWindowStats")
			diff(t, "window stats", tc.want, got, cmpopts.EquateEmpty())
		})
	}
}

// testCompletionRules pins what "completed" means in the processing-time
// averages: status completed with both timestamps, placed in time by
// processing_completed_at.
func testCompletionRules(t *testing.T, s store.Store) {
	d := DomainDataset()
	at := func(v string) *time.Time { return ptr(ts(v)) }
	d.Reports = append(d.Reports,
		// Created in early March, completed in late March: 1200 s.
		store.Report{ID: DomainReport(20), ClientID: ClientContoso, ReportType: store.ReportCost, Status: store.StatusCompleted,
			CreatedAt: ts("2025-03-16T23:50:00Z"), ProcessingStartedAt: at("2025-03-16T23:50:00Z"), ProcessingCompletedAt: at("2025-03-17T00:10:00Z")},
		// Failed, with both timestamps: not in any average.
		store.Report{ID: DomainReport(21), ClientID: ClientContoso, ReportType: store.ReportCost, Status: store.StatusFailed,
			CreatedAt: ts("2025-03-20T00:00:00Z"), ProcessingStartedAt: at("2025-03-20T00:00:00Z"), ProcessingCompletedAt: at("2025-03-20T00:00:05Z")},
		// Completed without a start time: counted as completed, not averaged.
		store.Report{ID: DomainReport(22), ClientID: ClientContoso, ReportType: store.ReportCost, Status: store.StatusCompleted,
			CreatedAt: ts("2025-03-21T00:00:00Z"), ProcessingCompletedAt: at("2025-03-21T00:01:00Z")},
	)
	Seed(t, s, d)

	m, err := s.ReportMetrics(ctx(t), store.ReportMetricsParams{MonthStart: DomainMonthStart, PrevMonthStart: DomainPrevMonthStart, GenerationSample: 1})
	must(t, err, "ReportMetrics")
	if m.AvgGenerationSeconds != 1200 || m.CompletedReports != 6 {
		t.Errorf("sample 1: avg %v over %d completed, want 1200 (report 20) over 6", m.AvgGenerationSeconds, m.CompletedReports)
	}
	m, err = s.ReportMetrics(ctx(t), store.ReportMetricsParams{MonthStart: DomainMonthStart, PrevMonthStart: DomainPrevMonthStart})
	must(t, err, "ReportMetrics")
	if m.AvgGenerationSeconds != 285 { // (30 + 60 + 120 + 15 + 1200) / 5
		t.Errorf("avg generation %v, want 285", m.AvgGenerationSeconds)
	}

	perf, err := s.ClientPerformance(ctx(t), ClientContoso)
	must(t, err, "ClientPerformance")
	if perf.CompletedReports != 5 || perf.FailedReports != 1 || perf.AvgProcessingSeconds != 326.25 { // (30 + 60 + 15 + 1200) / 4
		t.Errorf("Contoso: %d completed, %d failed, avg %v; want 5, 1, 326.25", perf.CompletedReports, perf.FailedReports, perf.AvgProcessingSeconds)
	}

	for _, tc := range []struct {
		from, to       time.Time
		completed      int64
		avgProcSeconds float64
	}{
		{DomainMonthStart, ts("2025-03-17T00:00:00Z"), 3, 67.5},           // reports 4, 6, 20 created; 4 and 6 completed in the window
		{ts("2025-03-17T00:00:00Z"), ts("2025-04-01T00:00:00Z"), 1, 1200}, // report 22 created; report 20 completed in the window
	} {
		w, err := s.ReportWindowStats(ctx(t), tc.from, tc.to)
		must(t, err, "ReportWindowStats")
		if w.ReportsCompleted != tc.completed || w.AvgProcessingSeconds != tc.avgProcSeconds {
			t.Errorf("[%v, %v): %d completed, avg %v; want %d, %v", tc.from, tc.to, w.ReportsCompleted, w.AvgProcessingSeconds, tc.completed, tc.avgProcSeconds)
		}
	}
}

func testEmptyAggregations(t *testing.T, s store.Store) {
	m, err := s.ReportMetrics(ctx(t), store.ReportMetricsParams{MonthStart: DomainMonthStart, PrevMonthStart: DomainPrevMonthStart})
	must(t, err, "ReportMetrics")
	diff(t, "metrics of an empty store", &store.ReportMetrics{}, m)
	cats, err := s.RecommendationCategoryCounts(ctx(t))
	must(t, err, "RecommendationCategoryCounts")
	imps, err := s.RecommendationImpactCounts(ctx(t))
	must(t, err, "RecommendationImpactCounts")
	recent, err := s.ReportRecent(ctx(t), "", 10)
	must(t, err, "ReportRecent")
	if len(cats)+len(imps)+len(recent) != 0 {
		t.Errorf("empty store: %v %v %v", cats, imps, recent)
	}
	perf, err := s.ClientPerformance(ctx(t), "")
	must(t, err, "ClientPerformance")
	diff(t, "performance of an empty store", &store.ClientPerformance{}, perf, cmpopts.EquateEmpty())
	sum, err := s.ActivitySummary(ctx(t), store.ActivitySummaryParams{GroupBy: store.GroupByUser})
	must(t, err, "ActivitySummary")
	diff(t, "summary of an empty store", &store.ActivitySummary{}, sum, cmpopts.EquateEmpty())
	n, err := s.ActivityDistinctUsers(ctx(t), time.Time{})
	must(t, err, "ActivityDistinctUsers")
	if n != 0 {
		t.Errorf("distinct users of an empty store: %d", n)
	}
}
