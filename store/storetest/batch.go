package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/advisoranalytics/advisor-analytics/store"
)

// upsertMany runs ReportUpsertMany on copies of reports and returns the
// copies (with the creation times the store wrote back).
func upsertMany(t *testing.T, s store.Store, owner string, reports ...store.Report) ([]store.Report, int, error) {
	t.Helper()
	batch := make([]*store.Report, len(reports))
	out := make([]store.Report, len(reports))
	for i := range reports {
		out[i] = cloneReport(reports[i])
		batch[i] = &out[i]
	}
	n, err := s.ReportUpsertMany(ctx(t), batch, owner)
	return out, n, err
}

// wantBatchError checks that err is a *store.BatchError at index wrapping
// target (or, when target is nil, a *store.ValidationError on field).
func wantBatchError(t *testing.T, err error, index int, target error, field string) {
	t.Helper()
	be, ok := errors.AsType[*store.BatchError](err)
	if !ok {
		t.Fatalf("error %v, want a *store.BatchError", err)
	}
	if be.Index != index {
		t.Errorf("BatchError.Index = %d, want %d (%v)", be.Index, index, err)
	}
	if target != nil {
		wantIs(t, err, target, "ReportUpsertMany")
		return
	}
	wantValidation(t, err, field, false)
}

// testReportUpsertMany writes reports in batches that create, replace
// (recommendations, day, type, status, author, client) and empty reports,
// and checks after each that every aggregation matches the reports as
// written; then that a batch with one bad report, a duplicate id or a
// report of another owner writes nothing.
func testReportUpsertMany(t *testing.T, s store.Store) {
	Seed(t, s, Dataset{Clients: DomainDataset().Clients})
	m := aggModel{}
	with := func(r store.Report, fn func(*store.Report)) store.Report { fn(&r); return r }
	steps := []struct {
		name    string
		created int
		reports []store.Report
	}{
		{"new reports", 5, []store.Report{
			aggReport(1, ClientContoso, "2025-03-02T10:00:00Z", "ccsrop"),
			aggReport(2, ClientFabrikam, "2025-02-10T10:00:00Z", "sspc"),
			aggReport(3, ClientContoso, "2025-01-05T10:00:00Z", "cccccccccc"),
			aggReport(4, ClientNorthwind, "2025-03-01T03:30:00Z", ""),
			aggReport(5, ClientTailspin, "2025-02-27T23:59:59Z", "psorc"),
		}},
		{"replaced and new in one batch", 1, []store.Report{
			aggReport(1, ClientTailspin, "2025-03-02T10:00:00Z", "c"),
			aggReport(6, ClientFabrikam, "2025-03-20T10:00:00Z", "rrooo"),
			with(aggReport(2, ClientFabrikam, "2025-03-21T10:00:00Z", "sspcroossppcc"),
				func(r *store.Report) { r.ReportType, r.Status = store.ReportSecurity, store.StatusFailed }),
			aggReport(3, ClientContoso, "2025-01-05T10:00:00Z", ""),
		}},
		{"authors and types move", 0, []store.Report{
			with(aggReport(3, ClientNorthwind, "2025-02-28T23:30:00Z", "psorc"), func(r *store.Report) { r.CreatedBy = "u9" }),
			with(aggReport(4, ClientNorthwind, "2025-03-01T03:30:00Z", "cc"), func(r *store.Report) { r.CreatedBy = "" }),
			with(aggReport(5, ClientTailspin, "2025-02-27T23:59:59Z", "psorc"), func(r *store.Report) {
				r.ReportType, r.Status, r.CreatedBy = store.ReportExecutive, store.StatusPending, "u7"
			}),
		}},
	}
	for _, st := range steps {
		written, created, err := upsertMany(t, s, "", st.reports...)
		must(t, err, st.name)
		if created != st.created {
			t.Errorf("%s: created = %d, want %d", st.name, created, st.created)
		}
		for _, r := range written {
			m.put(r)
		}
		m.check(t, s, st.name)
	}
	got, err := s.ReportGet(ctx(t), ID('b', 6))
	must(t, err, "ReportGet")
	diff(t, "a report written in a batch", preparedReport(t, m.reports[ID('b', 6)], got), got)

	// A replace without a creation time keeps the stored one.
	noTime := aggReport(6, ClientFabrikam, "2025-03-20T10:00:00Z", "p")
	noTime.CreatedAt = time.Time{}
	written, _, err := upsertMany(t, s, "", noTime)
	must(t, err, "replace without a creation time")
	if !written[0].CreatedAt.Equal(got.CreatedAt) {
		t.Errorf("creation time after a replace without one = %v, want the stored %v", written[0].CreatedAt, got.CreatedAt)
	}
	m.put(written[0])
	m.check(t, s, "replace without a creation time")

	checkRefusedBatches(t, s, m, with)

	// The owner may replace their own reports and create new ones.
	written, created, err := upsertMany(t, s, "u1", aggReport(1, ClientContoso, "2025-03-03T10:00:00Z", "oo"),
		aggReport(10, ClientContoso, "2025-03-04T10:00:00Z", "c"))
	must(t, err, "owner's batch")
	if created != 1 {
		t.Errorf("owner's batch: created = %d, want 1", created)
	}
	for _, r := range written {
		m.put(r)
	}
	m.check(t, s, "owner's batch")
	if _, n, err := upsertMany(t, s, ""); err != nil || n != 0 {
		t.Errorf("empty batch: created %d, err %v; want 0, nil", n, err)
	}
}

// checkRefusedBatches checks that nothing of a refused batch is written:
// the counters stay those of model m.
func checkRefusedBatches(t *testing.T, s store.Store, m aggModel, with func(store.Report, func(*store.Report)) store.Report) {
	t.Helper()
	refused := []struct {
		name    string
		owner   string
		index   int
		target  error
		field   string
		reports []store.Report
	}{
		{"unknown client", "", 1, nil, "client_id", []store.Report{
			aggReport(1, ClientContoso, "2025-03-03T10:00:00Z", "sss"), aggReport(7, ID('c', 99), "2025-03-03T10:00:00Z", "c")}},
		{"invalid recommendation", "", 2, nil, "recommendations[0].potential_savings", []store.Report{
			aggReport(7, ClientContoso, "2025-03-03T10:00:00Z", "sss"), aggReport(2, ClientContoso, "2025-03-03T10:00:00Z", "c"),
			with(aggReport(8, ClientContoso, "2025-03-03T10:00:00Z", "c"), func(r *store.Report) { r.Recommendations[0].PotentialSavings = -1 })}},
		{"duplicate id", "", 1, nil, "id", []store.Report{
			aggReport(7, ClientContoso, "2025-03-03T10:00:00Z", "sss"), aggReport(7, ClientContoso, "2025-03-04T10:00:00Z", "c")}},
		// Report 1 is u1's; report 2 is u2's.
		{"another owner's report", "u1", 1, store.ErrNotOwner, "", []store.Report{
			aggReport(1, ClientContoso, "2025-03-03T10:00:00Z", "oo"), aggReport(2, ClientContoso, "2025-03-03T10:00:00Z", "c")}},
	}
	for _, rf := range refused {
		_, _, err := upsertMany(t, s, rf.owner, rf.reports...)
		wantBatchError(t, err, rf.index, rf.target, rf.field)
		m.check(t, s, "after a refused batch: "+rf.name)
	}
	if _, err := s.ReportGet(ctx(t), ID('b', 7)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ReportGet of a report of refused batches: %v, want ErrNotFound", err)
	}
}
