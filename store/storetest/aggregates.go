package storetest

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/advisoranalytics/advisor-analytics/store"
)

// aggModel is what the stored reports should add up to, kept in Go next to
// a store that receives the same upserts.
type aggModel struct {
	reports map[string]store.Report
	loc     *time.Location // the zone of the per-day checks; nil is UTC
}

func (m *aggModel) put(r store.Report) {
	if m.reports == nil {
		m.reports = map[string]store.Report{}
	}
	m.reports[r.ID] = cloneReport(r)
}

func cents(v float64) int64 {
	if v < 0 {
		return -int64(-v*100 + 0.5)
	}
	return int64(v*100 + 0.5)
}

// sorted turns counts into CountByKey rows, count descending and ties by
// key, without zero counts.
func sorted(m map[string]int64) []store.CountByKey {
	out := []store.CountByKey{}
	for k, n := range m {
		if n != 0 {
			out = append(out, store.CountByKey{Key: k, Count: n})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Count > out[j].Count || (out[i].Count == out[j].Count && out[i].Key < out[j].Key)
	})
	return out
}

type perClient struct {
	recs  int64
	cents int64
	cats  map[string]int64
	// reports by status, and the processing times of the completed ones
	// with both times
	reports, completed, failed, timed, processingUS int64
}

// aggWant is what the model expects of the aggregations, amounts in cents.
type aggWant struct {
	cats, imps, monthCats               map[string]int64
	clients                             map[string]*perClient
	all                                 perClient // every client's reports
	total, thisMonth, prevMonth, before int64
	recsThis, recsPrev, allRecs         int64
	monthRecs, monthCents               int64
}

// want computes the expected aggregations from the model's reports.
func (m *aggModel) want() aggWant {
	w := aggWant{cats: map[string]int64{}, imps: map[string]int64{}, monthCats: map[string]int64{},
		clients: map[string]*perClient{}}
	cats, imps, clients, monthCats := w.cats, w.imps, w.clients, w.monthCats
	for _, r := range m.reports {
		pc := clients[r.ClientID]
		if pc == nil {
			pc = &perClient{cats: map[string]int64{}}
			clients[r.ClientID] = pc
		}
		var rc int64
		for _, rec := range r.Recommendations {
			c := cents(rec.PotentialSavings)
			rc += c
			cats[string(rec.Category)]++
			imps[string(store.Impact(lower(string(rec.BusinessImpact))))]++
			pc.cats[string(rec.Category)]++
			if !r.CreatedAt.Before(DomainMonthStart) {
				monthCats[string(rec.Category)]++
			}
		}
		for _, p := range []*perClient{pc, &w.all} {
			p.reports++
			switch r.Status {
			case store.StatusCompleted:
				p.completed++
				if r.ProcessingStartedAt != nil && r.ProcessingCompletedAt != nil {
					p.timed++
					p.processingUS += r.ProcessingCompletedAt.Sub(*r.ProcessingStartedAt).Microseconds()
				}
			case store.StatusFailed:
				p.failed++
			}
		}
		n := int64(len(r.Recommendations))
		pc.recs += n
		w.allRecs += n
		pc.cents += rc
		w.total += rc
		switch {
		case !r.CreatedAt.Before(DomainMonthStart):
			w.thisMonth, w.recsThis = w.thisMonth+rc, w.recsThis+n
			w.monthRecs, w.monthCents = w.monthRecs+n, w.monthCents+rc
		case !r.CreatedAt.Before(DomainPrevMonthStart):
			w.prevMonth, w.recsPrev = w.prevMonth+rc, w.recsPrev+n
			w.before += rc
		default:
			w.before += rc
		}
	}
	return w
}

// check compares every aggregation over recommendations with the model.
func (m *aggModel) check(t *testing.T, s store.Store, step string) {
	t.Helper()
	w := m.want()
	checkCounts(t, s, step, w)
	checkSavings(t, s, step, w)
	checkPerformance(t, s, step, w)
	m.checkDays(t, s, step)
}

// checkDays compares the per-day report counts and the report figures of
// the metrics, on local-midnight bounds of the model's zone, with the
// model.
func (m *aggModel) checkDays(t *testing.T, s store.Store, step string) {
	t.Helper()
	loc := m.loc
	if loc == nil {
		loc = time.UTC
	}
	from, to := time.Date(2024, 12, 1, 0, 0, 0, 0, loc), time.Date(2025, 5, 1, 0, 0, 0, 0, loc)
	month, prev := time.Date(2025, 3, 1, 0, 0, 0, 0, loc), time.Date(2025, 2, 1, 0, 0, 0, 0, loc)
	type key struct{ day, typ string }
	days := map[key]int64{}
	type figures struct {
		Total, Before, Completed, This, Prev int64
		RecsThis, RecsPrev                   int64
		Savings, SavingsBefore               float64
		SavingsThis, SavingsPrev             float64
		Users, UsersBefore                   int64
	}
	var want figures
	first := map[string]time.Time{} // the first report of each author
	var total, before, this, prevCents int64
	for _, r := range m.reports {
		c := r.CreatedAt
		if !c.Before(from) && c.Before(to) {
			days[key{c.In(loc).Format(time.DateOnly), string(r.ReportType)}]++
		}
		var rc int64
		for _, rec := range r.Recommendations {
			rc += cents(rec.PotentialSavings)
		}
		n := int64(len(r.Recommendations))
		want.Total++
		total += rc
		if f, ok := first[r.CreatedBy]; r.CreatedBy != "" && (!ok || c.Before(f)) {
			first[r.CreatedBy] = c
		}
		if r.Status == store.StatusCompleted {
			want.Completed++
		}
		switch {
		case !c.Before(month):
			want.This, want.RecsThis, this = want.This+1, want.RecsThis+n, this+rc
		case !c.Before(prev):
			want.Prev, want.RecsPrev, prevCents = want.Prev+1, want.RecsPrev+n, prevCents+rc
			want.Before, before = want.Before+1, before+rc
		default:
			want.Before, before = want.Before+1, before+rc
		}
	}
	want.Savings, want.SavingsBefore, want.SavingsThis, want.SavingsPrev = amount(total), amount(before), amount(this), amount(prevCents)
	for _, f := range first {
		want.Users++
		if f.Before(month) {
			want.UsersBefore++
		}
	}
	wantDays := []store.ReportDayCount{}
	for k, n := range days {
		wantDays = append(wantDays, store.ReportDayCount{Day: k.day, ReportType: store.ReportType(k.typ), Count: n})
	}
	sort.Slice(wantDays, func(i, j int) bool {
		a, b := wantDays[i], wantDays[j]
		return a.Day < b.Day || (a.Day == b.Day && a.ReportType < b.ReportType)
	})
	gotDays, err := s.ReportDailyCounts(ctx(t), from, to, m.loc)
	must(t, err, step+": ReportDailyCounts")
	diff(t, step+": daily counts in "+loc.String(), wantDays, gotDays, cmpopts.EquateEmpty())

	met, err := s.ReportMetrics(ctx(t), store.ReportMetricsParams{MonthStart: month.UTC(), PrevMonthStart: prev.UTC()})
	must(t, err, step+": ReportMetrics")
	diff(t, step+": metrics report figures in "+loc.String(), want, figures{met.TotalReports, met.ReportsBeforeMonth,
		met.CompletedReports, met.ReportsThisMonth, met.ReportsPrevMonth, met.RecommendationsThisMonth,
		met.RecommendationsPrevMonth, met.TotalSavings, met.SavingsBeforeMonth, met.SavingsThisMonth, met.SavingsPrevMonth,
		met.ActiveUsers, met.ActiveUsersBeforeMonth})
}

func amount(c int64) float64 { return float64(c) / 100 }

func checkCounts(t *testing.T, s store.Store, step string, w aggWant) {
	t.Helper()
	gotCats, err := s.RecommendationCategoryCounts(ctx(t))
	must(t, err, step+": RecommendationCategoryCounts")
	diff(t, step+": category counts", sorted(w.cats), gotCats, cmpopts.EquateEmpty())
	gotImps, err := s.RecommendationImpactCounts(ctx(t))
	must(t, err, step+": RecommendationImpactCounts")
	diff(t, step+": impact counts", sorted(w.imps), gotImps, cmpopts.EquateEmpty())
}

func checkSavings(t *testing.T, s store.Store, step string, w aggWant) {
	t.Helper()
	met, err := s.ReportMetrics(ctx(t), store.ReportMetricsParams{MonthStart: DomainMonthStart, PrevMonthStart: DomainPrevMonthStart})
	must(t, err, step+": ReportMetrics")
	type money struct {
		Total, Before, This, Prev float64
		RecsThis, RecsPrev        int64
	}
	diff(t, step+": metrics savings and recommendations",
		money{amount(w.total), amount(w.before), amount(w.thisMonth), amount(w.prevMonth), w.recsThis, w.recsPrev},
		money{met.TotalSavings, met.SavingsBeforeMonth, met.SavingsThisMonth, met.SavingsPrevMonth,
			met.RecommendationsThisMonth, met.RecommendationsPrevMonth})

	cost, err := s.CostFigures(ctx(t), store.CostParams{To: ts("2030-01-01T00:00:00Z")})
	must(t, err, step+": CostFigures")
	if cost.TotalSavings != amount(w.total) {
		t.Errorf("%s: CostFigures total %v, want %v", step, cost.TotalSavings, amount(w.total))
	}

	ws, err := s.ReportWindowStats(ctx(t), DomainMonthStart, ts("2030-01-01T00:00:00Z"))
	must(t, err, step+": ReportWindowStats")
	type window struct {
		Recs    int64
		Savings float64
		Cats    []store.CountByKey
	}
	wc := []store.CountByKey{}
	for k, n := range ws.CategoryCounts {
		wc = append(wc, store.CountByKey{Key: k, Count: n})
	}
	sort.Slice(wc, func(i, j int) bool {
		return wc[i].Count > wc[j].Count || (wc[i].Count == wc[j].Count && wc[i].Key < wc[j].Key)
	})
	diff(t, step+": window stats from the month start", window{w.monthRecs, amount(w.monthCents), sorted(w.monthCats)},
		window{ws.Recommendations, ws.Savings, wc}, cmpopts.EquateEmpty())
}

func checkPerformance(t *testing.T, s store.Store, step string, w aggWant) {
	t.Helper()
	type perf struct {
		Reports, Completed, Failed int64
		AvgSeconds                 float64
		Recs                       int64
		Savings                    float64
		Cats                       []store.CountByKey
	}
	wantPerf := func(pc *perClient) perf {
		p := perf{pc.reports, pc.completed, pc.failed, 0, pc.recs, amount(pc.cents), sorted(pc.cats)}
		if pc.timed > 0 {
			p.AvgSeconds = float64(pc.processingUS) / float64(pc.timed) / 1e6
		}
		return p
	}
	gotPerf := func(p *store.ClientPerformance) perf {
		return perf{p.TotalReports, p.CompletedReports, p.FailedReports, p.AvgProcessingSeconds,
			p.TotalRecommendations, p.TotalSavings, p.Categories}
	}
	// Averages are compared to the microsecond.
	opts := []cmp.Option{cmpopts.EquateEmpty(), cmpopts.EquateApprox(0, 1e-6)}
	all, err := s.ClientPerformance(ctx(t), "")
	must(t, err, step+": ClientPerformance of all")
	every := w.all
	every.recs, every.cents, every.cats = w.allRecs, w.total, w.cats
	diff(t, step+": performance of all", wantPerf(&every), gotPerf(all), opts...)
	for _, id := range []string{ClientContoso, ClientFabrikam, ClientNorthwind, ClientTailspin} {
		pc := w.clients[id]
		if pc == nil {
			pc = &perClient{}
		}
		got, err := s.ClientPerformance(ctx(t), id)
		must(t, err, step+": ClientPerformance "+id)
		diff(t, step+": performance of "+id, wantPerf(pc), gotPerf(got), opts...)
	}
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// aggReport returns report n of client with recommendations made from
// spec: one per character, the category from its position in "csrop"
// (cost, security, reliability, operational excellence, performance) and
// amounts chosen so float sums would drift (0.1, 0.2, 1e9 + 0.01, …).
func aggReport(n int, client string, created string, spec string) store.Report {
	cats := map[byte]store.Category{'c': store.CategoryCost, 's': store.CategorySecurity, 'r': store.CategoryReliability,
		'o': store.CategoryOperationalExcellence, 'p': store.CategoryPerformance}
	impacts := []store.Impact{store.ImpactHigh, store.ImpactMedium, store.ImpactLow, "", "High"}
	amounts := []float64{0.1, 0.2, 1e9 + 0.01, 19.99, 0, 0.07, 123456.78}
	r := store.Report{ID: ID('b', n), ClientID: client, CreatedBy: fmt.Sprintf("u%d", n%3), ReportType: store.ReportCost,
		Status: store.StatusCompleted, CreatedAt: ts(created)}
	if n%2 == 1 { // processed for a time that differs between reports
		started := r.CreatedAt.Add(time.Minute)
		done := started.Add(time.Duration(n*37+len(spec))*time.Second + time.Duration(n)*time.Microsecond)
		r.ProcessingStartedAt, r.ProcessingCompletedAt = &started, &done
	}
	for i := 0; i < len(spec); i++ {
		r.Recommendations = append(r.Recommendations,
			rec(cats[spec[i]], impacts[(n+i)%len(impacts)], amounts[(n*3+i)%len(amounts)]))
	}
	return r
}

// testAggregatesFollowUpserts replaces reports with fewer, more and
// different recommendations, moves them between clients and months, and
// checks after each step that every aggregation over recommendations
// (counts by category and impact, savings to the cent, per client and per
// window) matches the reports as written.
func testAggregatesFollowUpserts(t *testing.T, s store.Store) {
	aggregatesFollowUpserts(t, s, nil)
}

// aggregatesFollowUpserts is testAggregatesFollowUpserts with the per-day
// checks in loc (nil is UTC).
func aggregatesFollowUpserts(t *testing.T, s store.Store, loc *time.Location) {
	Seed(t, s, Dataset{Clients: DomainDataset().Clients})
	m := aggModel{loc: loc}
	m.check(t, s, "empty")
	with := func(r store.Report, fn func(*store.Report)) store.Report { fn(&r); return r }
	steps := []struct {
		name string
		r    store.Report
	}{
		{"new report", aggReport(1, ClientContoso, "2025-03-02T10:00:00Z", "ccsrop")},
		{"second report", aggReport(2, ClientFabrikam, "2025-02-10T10:00:00Z", "sspc")},
		{"old report", aggReport(3, ClientContoso, "2025-01-05T10:00:00Z", "cccccccccc")},
		{"fewer recommendations", aggReport(1, ClientContoso, "2025-03-02T10:00:00Z", "c")},
		{"more recommendations", aggReport(2, ClientFabrikam, "2025-02-10T10:00:00Z", "sspcroossppcc")},
		{"different categories", aggReport(3, ClientContoso, "2025-01-05T10:00:00Z", "rrrooo")},
		{"moved to another client", aggReport(1, ClientTailspin, "2025-03-02T10:00:00Z", "cp")},
		{"moved to another month", aggReport(2, ClientFabrikam, "2025-03-20T10:00:00Z", "sspcroossppcc")},
		{"emptied", aggReport(3, ClientContoso, "2025-01-05T10:00:00Z", "")},
		{"refilled", aggReport(3, ClientNorthwind, "2025-02-27T23:59:59Z", "psorc")},
		{"type changed", with(aggReport(2, ClientFabrikam, "2025-03-20T10:00:00Z", "sspcroossppcc"),
			func(r *store.Report) { r.ReportType = store.ReportSecurity })},
		{"failed", with(aggReport(2, ClientFabrikam, "2025-03-20T10:00:00Z", "sspcroossppcc"),
			func(r *store.Report) { r.ReportType, r.Status = store.ReportSecurity, store.StatusFailed })},
		{"moved to another day", with(aggReport(2, ClientFabrikam, "2025-03-21T10:00:00Z", "sspc"),
			func(r *store.Report) { r.ReportType, r.Status = store.ReportSecurity, store.StatusFailed })},
		// 03:30Z is the evening before in the Americas, the same day in
		// Asia: a local-day boundary in most zones.
		{"moved over a local midnight", aggReport(1, ClientTailspin, "2025-03-01T03:30:00Z", "cp")},
		{"type and day changed at once", with(aggReport(3, ClientNorthwind, "2025-02-28T23:30:00Z", "psorc"),
			func(r *store.Report) { r.ReportType = store.ReportExecutive })},
		{"kept its day, pending", with(aggReport(3, ClientNorthwind, "2025-02-28T23:30:00Z", "psorc"),
			func(r *store.Report) { r.ReportType, r.Status = store.ReportExecutive, store.StatusPending })},
		// Report 3 was the first of u0: u0's first report becomes a later one.
		{"another author", with(aggReport(3, ClientNorthwind, "2025-02-28T23:30:00Z", "psorc"),
			func(r *store.Report) { r.CreatedBy = "u9" })},
		{"no author", with(aggReport(3, ClientNorthwind, "2025-02-28T23:30:00Z", "psorc"),
			func(r *store.Report) { r.CreatedBy = "" })},
		{"an author's only report leaves", with(aggReport(1, ClientTailspin, "2025-03-01T03:30:00Z", "cp"),
			func(r *store.Report) { r.CreatedBy = "u2" })},
		{"an author's first report moves into the month", with(aggReport(2, ClientFabrikam, "2025-03-22T10:00:00Z", "sspc"),
			func(r *store.Report) { r.CreatedBy = "u7" })},
	}
	for i, st := range steps {
		r := cloneReport(st.r)
		must(t, s.ReportUpsert(ctx(t), &r), st.name)
		m.put(r)
		m.check(t, s, fmt.Sprintf("step %d (%s)", i+1, st.name))
	}
	// Upserting a report as read (same recommendation ids) changes nothing.
	got, err := s.ReportGet(ctx(t), ID('b', 2))
	must(t, err, "ReportGet")
	again := cloneReport(*got)
	must(t, s.ReportUpsert(ctx(t), &again), "ReportUpsert as read")
	m.check(t, s, "upserted as read")
	// A refused upsert leaves the aggregates alone.
	bad := aggReport(1, ClientTailspin, "2025-03-02T10:00:00Z", "ccc")
	bad.Recommendations[2].PotentialSavings = -1
	if err := s.ReportUpsert(ctx(t), &bad); err == nil {
		t.Fatal("ReportUpsert with a negative saving: no error")
	}
	bad = aggReport(1, ID('c', 99), "2025-03-02T10:00:00Z", "ccc")
	if err := s.ReportUpsert(ctx(t), &bad); err == nil {
		t.Fatal("ReportUpsert for an unknown client: no error")
	}
	m.check(t, s, "after refused upserts")
}

// testAggregatesConcurrentReports upserts different reports from several
// goroutines at once, each several times with changing recommendations,
// and checks that the aggregations add up to the last version of each.
func testAggregatesConcurrentReports(t *testing.T, s store.Store) {
	Seed(t, s, Dataset{Clients: DomainDataset().Clients})
	clients := []string{ClientContoso, ClientFabrikam, ClientNorthwind, ClientTailspin}
	specs := []string{"csrop", "cc", "ssspp", "o", "", "rrcs"}
	const writers, rounds = 8, 4
	final := make([]store.Report, writers)
	var wg sync.WaitGroup
	errs := make(chan error, writers*rounds)
	for w := range writers {
		wg.Go(func() {
			for i := range rounds {
				created := time.Date(2025, time.Month(1+(w+i)%4), 10, 12, 0, 0, 0, time.UTC).Format(time.RFC3339)
				r := aggReport(100+w, clients[(w+i)%len(clients)], created, specs[(w*2+i)%len(specs)])
				final[w] = cloneReport(r)
				if err := s.ReportUpsert(ctx(t), &r); err != nil {
					errs <- fmt.Errorf("writer %d round %d: %w", w, i, err)
					return
				}
				final[w] = r
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent ReportUpsert of different reports: %v", err)
	}
	var m aggModel
	for _, r := range final {
		m.put(r)
	}
	m.check(t, s, "after concurrent upserts")
}

// testReportNULText upserts a report whose text holds NUL characters: the
// store either keeps the text (with or without the NULs) or refuses it
// with a *store.ValidationError, never another error.
func testReportNULText(t *testing.T, s store.Store) {
	Seed(t, s, Dataset{Clients: DomainDataset().Clients})
	r := aggReport(1, ClientContoso, "2025-03-02T10:00:00Z", "cs")
	r.CreatedBy = "u\x001"
	r.Recommendations[0].Recommendation = "Resize\x00 VM"
	r.Recommendations[1].ResourceName = "vm\x00"
	err := s.ReportUpsert(ctx(t), &r)
	if err != nil {
		if _, ok := errors.AsType[*store.ValidationError](err); !ok {
			t.Fatalf("ReportUpsert with NUL characters: got %v, want success or a *store.ValidationError", err)
		}
		return
	}
	got, err := s.ReportGet(ctx(t), r.ID)
	must(t, err, "ReportGet")
	for _, f := range []struct{ got, with, without string }{
		{got.CreatedBy, "u\x001", "u1"},
		{got.Recommendations[0].Recommendation, "Resize\x00 VM", "Resize VM"},
		{got.Recommendations[1].ResourceName, "vm\x00", "vm"},
	} {
		if f.got != f.with && f.got != f.without {
			t.Errorf("stored %q, want %q or %q", f.got, f.with, f.without)
		}
	}
}
