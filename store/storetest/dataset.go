package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/advisoranalytics/advisor-analytics/store"
)

// Dataset is a set of records to load into a store with Seed.
type Dataset struct {
	Clients    []store.Client
	Reports    []store.Report
	Activities []store.Activity
}

// Seed writes d into s (clients, then reports, then activities in one
// batch) and fails t on the first error.
func Seed(t testing.TB, s store.Store, d Dataset) {
	t.Helper()
	ctx := t.Context()
	for i := range d.Clients {
		c := d.Clients[i]
		if err := s.ClientUpsert(ctx, &c); err != nil {
			t.Fatalf("seed client %s: %v", c.ID, err)
		}
	}
	for i := range d.Reports {
		r := cloneReport(d.Reports[i])
		if err := s.ReportUpsert(ctx, &r); err != nil {
			t.Fatalf("seed report %s: %v", r.ID, err)
		}
	}
	if len(d.Activities) > 0 {
		if err := s.ActivityInsertMany(ctx, slices.Clone(d.Activities)); err != nil {
			t.Fatalf("seed %d activities: %v", len(d.Activities), err)
		}
	}
}

func cloneReport(r store.Report) store.Report {
	r.Recommendations = slices.Clone(r.Recommendations)
	return r
}

// ID returns a fixed, valid UUID made from a namespace letter and a number,
// so datasets are reproducible: ID('c', 1) = "c0000000-0000-4000-8000-000000000001".
func ID(ns byte, n int) string {
	return fmt.Sprintf("%c0000000-0000-4000-8000-%012x", ns, n)
}

// Ids of the domain dataset.
var (
	ClientContoso   = ID('c', 1)
	ClientFabrikam  = ID('c', 2)
	ClientNorthwind = ID('c', 3)
	ClientTailspin  = ID('c', 4)
)

// DomainMonthStart and DomainPrevMonthStart are the month boundaries the
// domain dataset is built around (UTC): "this month" is March 2025.
var (
	DomainMonthStart     = time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	DomainPrevMonthStart = time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)
)

// DomainReport returns the id of report n (1…9) of the domain dataset.
func DomainReport(n int) string { return ID('a', n) }

func rec(cat store.Category, impact store.Impact, savings float64) store.Recommendation {
	return store.Recommendation{Category: cat, BusinessImpact: impact, PotentialSavings: savings,
		Recommendation: "Do " + string(cat), SubscriptionID: "sub-1", SubscriptionName: "Production",
		ResourceGroup: "rg-" + string(cat), ResourceName: "res", ResourceType: "Microsoft.Compute/virtualMachines"}
}

// DomainDataset returns four clients and nine reports with twelve
// recommendations around March 2025, the dataset the aggregation cases are
// computed on by hand. Every call returns fresh copies.
//
//	report client    by  type        status      created (UTC)      processing   csv   savings
//	1      Contoso   u1  cost        completed   2025-01-15 10:00   30 s         1000  100.10 0.10 0.20
//	2      Contoso   u2  security    completed   2025-02-03 09:00   60 s         3000  50.05 0
//	3      Fabrikam  u1  cost        failed      2025-02-20 15:00   started      -     1234.56
//	4      Fabrikam  -   detailed    completed   2025-03-01 04:30   120 s        2000  10.01 0.30
//	5      Northwind u3  executive   pending     2025-03-10 12:00   -            -     -
//	6      Contoso   u2  cost        completed   2025-03-15 18:00   15 s         -     0.10 0.20 5
//	7      Tailspin  u4  operations  processing  2025-03-25 23:00   started      4096  99.99
//	8      Northwind u3  cost        cancelled   2025-03-15 20:00   -            500   -
//	9      Northwind u3  security    failed      2025-03-16 03:00   started      -     -
func DomainDataset() Dataset {
	clients := []store.Client{
		{ID: ClientContoso, CompanyName: "Contoso", Industry: store.IndustryTechnology, Status: store.ClientActive, CreatedAt: ts("2025-01-10T09:00:00Z")},
		{ID: ClientFabrikam, CompanyName: "Fabrikam", Industry: store.IndustryFinance, Status: store.ClientActive, CreatedAt: ts("2025-02-14T12:00:00Z")},
		{ID: ClientNorthwind, CompanyName: "Northwind", Industry: store.IndustryRetail, Status: store.ClientInactive, CreatedAt: ts("2025-03-05T08:00:00Z")},
		{ID: ClientTailspin, CompanyName: "Tailspin", Industry: store.IndustryHealthcare, Status: store.ClientActive, CreatedAt: ts("2025-03-20T08:00:00Z")},
	}
	at := func(s string) *time.Time { return ptr(ts(s)) }
	reports := []store.Report{
		{ID: DomainReport(1), ClientID: ClientContoso, CreatedBy: "u1", ReportType: store.ReportCost, Status: store.StatusCompleted,
			CreatedAt: ts("2025-01-15T10:00:00Z"), ProcessingStartedAt: at("2025-01-15T10:00:00Z"), ProcessingCompletedAt: at("2025-01-15T10:00:30Z"),
			CSVSizeBytes: ptr[int64](1000), Recommendations: []store.Recommendation{
				rec(store.CategoryCost, store.ImpactHigh, 100.10), rec(store.CategoryCost, store.ImpactMedium, 0.10), rec(store.CategorySecurity, store.ImpactHigh, 0.20)}},
		{ID: DomainReport(2), ClientID: ClientContoso, CreatedBy: "u2", ReportType: store.ReportSecurity, Status: store.StatusCompleted,
			CreatedAt: ts("2025-02-03T09:00:00Z"), ProcessingStartedAt: at("2025-02-03T09:00:00Z"), ProcessingCompletedAt: at("2025-02-03T09:01:00Z"),
			CSVSizeBytes: ptr[int64](3000), Recommendations: []store.Recommendation{
				rec(store.CategorySecurity, store.ImpactLow, 50.05), rec(store.CategoryReliability, "", 0)}},
		{ID: DomainReport(3), ClientID: ClientFabrikam, CreatedBy: "u1", ReportType: store.ReportCost, Status: store.StatusFailed,
			CreatedAt: ts("2025-02-20T15:00:00Z"), ProcessingStartedAt: at("2025-02-20T15:00:00Z"),
			Recommendations: []store.Recommendation{rec(store.CategoryCost, store.ImpactHigh, 1234.56)}},
		{ID: DomainReport(4), ClientID: ClientFabrikam, ReportType: store.ReportDetailed, Status: store.StatusCompleted,
			CreatedAt: ts("2025-03-01T04:30:00Z"), ProcessingStartedAt: at("2025-03-01T04:30:00Z"), ProcessingCompletedAt: at("2025-03-01T04:32:00Z"),
			CSVSizeBytes: ptr[int64](2000), Recommendations: []store.Recommendation{
				rec(store.CategoryPerformance, store.ImpactMedium, 10.01), rec(store.CategoryCost, store.ImpactLow, 0.30)}},
		{ID: DomainReport(5), ClientID: ClientNorthwind, CreatedBy: "u3", ReportType: store.ReportExecutive, Status: store.StatusPending,
			CreatedAt: ts("2025-03-10T12:00:00Z")},
		{ID: DomainReport(6), ClientID: ClientContoso, CreatedBy: "u2", ReportType: store.ReportCost, Status: store.StatusCompleted,
			CreatedAt: ts("2025-03-15T18:00:00Z"), ProcessingStartedAt: at("2025-03-15T18:00:00Z"), ProcessingCompletedAt: at("2025-03-15T18:00:15Z"),
			Recommendations: []store.Recommendation{
				rec(store.CategoryCost, store.ImpactHigh, 0.10), rec(store.CategoryCost, store.ImpactHigh, 0.20), rec(store.CategoryOperationalExcellence, store.ImpactMedium, 5)}},
		{ID: DomainReport(7), ClientID: ClientTailspin, CreatedBy: "u4", ReportType: store.ReportOperations, Status: store.StatusProcessing,
			CreatedAt: ts("2025-03-25T23:00:00Z"), ProcessingStartedAt: at("2025-03-25T23:00:00Z"), CSVSizeBytes: ptr[int64](4096),
			Recommendations: []store.Recommendation{rec(store.CategorySecurity, store.ImpactHigh, 99.99)}},
		{ID: DomainReport(8), ClientID: ClientNorthwind, CreatedBy: "u3", ReportType: store.ReportCost, Status: store.StatusCancelled,
			CreatedAt: ts("2025-03-15T20:00:00Z"), CSVSizeBytes: ptr[int64](500)},
		{ID: DomainReport(9), ClientID: ClientNorthwind, CreatedBy: "u3", ReportType: store.ReportSecurity, Status: store.StatusFailed,
			CreatedAt: ts("2025-03-16T03:00:00Z"), ProcessingStartedAt: at("2025-03-16T03:00:00Z")},
	}
	return Dataset{Clients: clients, Reports: reports}
}

// ActivityDatasetStart is the first day of ActivityDataset.
var ActivityDatasetStart = time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC)

// Users, clients and reports the activity dataset refers to.
var (
	activityUsers   = []string{"u1", "u2", "u3", "u4", ""}
	activityTypes   = []string{"login", "view_dashboard", "generate_report", "download_report"}
	activityClients = []string{ID('c', 1), "", ID('c', 2)}
	activityReports = []string{ID('a', 1), "", ID('a', 2), ""}
)

// ActivityDataset returns n activities (n ≥ 1) spread over five UTC days
// from ActivityDatasetStart, with fixed ids and times: rows on the very
// first and last microsecond of days and hours, runs of rows sharing one created_at
// (so ties are broken by id), four users plus anonymous rows, several
// types, clients and reports. Usernames change from day to day, so the
// most recent username of a user is that of their latest row.
func ActivityDataset(n int) []store.Activity {
	out := make([]store.Activity, 0, n)
	var prev time.Time
	for i := range n {
		day := (i + i/5) % 5 // not tied to the user (i % 5)
		var at time.Time
		switch {
		case i%11 == 0:
			at = ActivityDatasetStart.AddDate(0, 0, day) // midnight
		case i%13 == 0:
			at = ActivityDatasetStart.AddDate(0, 0, day+1).Add(-time.Microsecond) // last microsecond
		case i%17 == 0:
			at = ActivityDatasetStart.AddDate(0, 0, day).Add(time.Duration(i%24) * time.Hour) // on the hour
		case i%19 == 0:
			at = ActivityDatasetStart.AddDate(0, 0, day).Add(time.Duration(i%24)*time.Hour - time.Microsecond) // last microsecond of an hour
		case i%10 == 9 && i > 0:
			at = prev // a tie with the previous row
		default:
			minute := (i * 37) % 1440
			at = ActivityDatasetStart.AddDate(0, 0, day).Add(time.Duration(minute)*time.Minute + time.Duration(i)*time.Microsecond)
		}
		prev = at
		user := activityUsers[i%len(activityUsers)]
		a := store.Activity{
			// Ids are not in insertion order, so the id tie-break is tested.
			ID:           fmt.Sprintf("%08x-0000-4000-8000-%012x", (i*7919)%100003, i),
			UserID:       user,
			ActivityType: activityTypes[(i/3)%len(activityTypes)],
			Description:  fmt.Sprintf("event %d", i),
			ClientID:     activityClients[i%len(activityClients)],
			ReportID:     activityReports[i%len(activityReports)],
			Method:       "POST",
			Path:         "/api/v1/things",
			StatusCode:   200,
			Duration:     time.Duration(i) * time.Millisecond,
			Metadata:     map[string]any{"i": float64(i)},
			CreatedAt:    at,
		}
		if user != "" {
			a.Username = fmt.Sprintf("%s-day%d", user, at.Day())
			a.FullName = strings.ToUpper(user)
		}
		out = append(out, a)
	}
	return out
}

// matches is the reference model of ActivityFilter.
func matches(f store.ActivityFilter, a *store.Activity) bool {
	switch {
	case !f.From.IsZero() && a.CreatedAt.Before(f.From):
		return false
	case !f.To.IsZero() && a.CreatedAt.After(f.To):
		return false
	case f.UserID != "" && a.UserID != f.UserID:
		return false
	case f.ActivityType != "" && a.ActivityType != f.ActivityType:
		return false
	case f.ClientID != "" && a.ClientID != f.ClientID:
		return false
	case f.ReportID != "" && a.ReportID != f.ReportID:
		return false
	}
	return true
}

// newestFirst orders activities like the store: created_at DESC, id DESC.
func newestFirst(a, b store.Activity) int {
	if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
		return c
	}
	return strings.Compare(b.ID, a.ID)
}

// selectActivities returns the activities matching f, newest first.
func selectActivities(all []store.Activity, f store.ActivityFilter) []store.Activity {
	var out []store.Activity
	for i := range all {
		if matches(f, &all[i]) {
			out = append(out, all[i])
		}
	}
	slices.SortFunc(out, newestFirst)
	return out
}

func activityIDs(as []store.Activity) []string {
	ids := make([]string, len(as))
	for i := range as {
		ids[i] = as[i].ID
	}
	return ids
}
