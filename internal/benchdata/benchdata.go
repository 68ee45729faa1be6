// Package benchdata fills a store with a large, deterministic dataset for
// benchmarks: activities spread over a window of days across many users,
// and clients with reports and recommendations.
package benchdata

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/advisoranalytics/advisor-analytics/store"
)

// Config sizes the dataset. Zero fields take the defaults in brackets.
type Config struct {
	Activities      int       // [1,000,000]
	Users           int       // [200]
	Days            int       // activities spread over the last Days days [120]
	Clients         int       // [50]
	Reports         int       // [10,000]
	Recommendations int       // total, spread over the reports [100,000]
	End             time.Time // newest timestamp [2025-06-30T12:00:00Z]
	Seed            uint64    // [1]
	BatchSize       int       // activities per ActivityInsertMany call [5,000]
	// InOrder writes the activities oldest first, as live ingestion writes
	// them, each at a random time within its share of the window; by
	// default each is at a random time of the whole window, so every
	// batch touches every day.
	InOrder bool
}

func (o *Config) defaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.Activities, 1_000_000)
	def(&o.Users, 200)
	def(&o.Days, 120)
	def(&o.Clients, 50)
	def(&o.Reports, 10_000)
	def(&o.Recommendations, 100_000)
	def(&o.BatchSize, 5_000)
	if o.End.IsZero() {
		o.End = time.Date(2025, 6, 30, 12, 0, 0, 0, time.UTC)
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
}

// ActivityTypes are the activity types the generator uses, most frequent
// first.
var ActivityTypes = []string{"view_dashboard", "login", "download_report", "generate_report",
	"upload_csv", "logout", "share_report", "update_client", "create_client", "delete_report", "other"}

// UserID returns the id of generated user i.
func UserID(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", i) }

// Fill loads the dataset into st and returns the options it used.
func Fill(ctx context.Context, st store.Store, opts Config) (Config, error) {
	opts.defaults()
	rng := rand.New(rand.NewPCG(opts.Seed, 42))
	start := opts.End.Add(-time.Duration(opts.Days) * 24 * time.Hour)
	span := opts.End.Sub(start)

	clients := make([]string, opts.Clients)
	for i := range clients {
		clients[i] = fmt.Sprintf("10000000-0000-4000-8000-%012d", i)
		c := &store.Client{ID: clients[i], CompanyName: fmt.Sprintf("Client %03d", i),
			Industry: store.Industries[i%len(store.Industries)], CreatedAt: start.Add(-time.Duration(i) * time.Hour)}
		if err := st.ClientUpsert(ctx, c); err != nil {
			return opts, fmt.Errorf("benchdata: client %d: %w", i, err)
		}
	}

	perReport := opts.Recommendations / opts.Reports
	extra := opts.Recommendations % opts.Reports
	reportIDs := make([]string, opts.Reports)
	reports := make([]*store.Report, 0, 200) // written 200 at a time
	for i := 0; i < opts.Reports; i++ {
		n := perReport
		if i < extra {
			n++
		}
		r := report(rng, i, n, clients, start, span, opts.Users)
		reportIDs[i] = r.ID
		reports = append(reports, r)
		if len(reports) == cap(reports) || i == opts.Reports-1 {
			if _, err := st.ReportUpsertMany(ctx, reports, ""); err != nil {
				return opts, fmt.Errorf("benchdata: reports up to %d: %w", i, err)
			}
			reports = reports[:0]
		}
	}

	batch := make([]store.Activity, 0, opts.BatchSize)
	for i := 0; i < opts.Activities; i++ {
		u := rng.IntN(opts.Users)
		typ := ActivityTypes[min(rng.IntN(len(ActivityTypes)*2)/2, len(ActivityTypes)-1)]
		a := store.Activity{
			UserID:       UserID(u),
			Username:     fmt.Sprintf("user%03d", u),
			FullName:     fmt.Sprintf("User %03d", u),
			ActivityType: typ,
			Description:  "benchmark activity",
			IPAddress:    fmt.Sprintf("10.0.%d.%d", u/256, u%256),
			UserAgent:    "Mozilla/5.0 (benchmark)",
			Method:       "POST",
			Path:         "/api/v1/reports/",
			StatusCode:   201,
			Duration:     time.Duration(rng.IntN(200_000)) * time.Microsecond,
			CreatedAt:    start.Add(activityOffset(rng, i, opts, span)).Truncate(time.Microsecond),
		}
		if rng.IntN(4) == 0 {
			a.ReportID = reportIDs[rng.IntN(len(reportIDs))]
		}
		batch = append(batch, a)
		if len(batch) == cap(batch) || i == opts.Activities-1 {
			if err := st.ActivityInsertMany(ctx, batch); err != nil {
				return opts, fmt.Errorf("benchdata: activities: %w", err)
			}
			batch = batch[:0]
		}
	}
	return opts, nil
}

// activityOffset is the time of the i-th activity after the window's start:
// random over the window, or with InOrder random within the i-th of
// Activities equal steps of it.
func activityOffset(rng *rand.Rand, i int, opts Config, span time.Duration) time.Duration {
	if !opts.InOrder {
		return time.Duration(rng.Int64N(int64(span)))
	}
	step := max(int64(span)/int64(opts.Activities), 1)
	return time.Duration(step*int64(i) + rng.Int64N(step))
}

// report is the i-th report of the dataset, with n recommendations.
func report(rng *rand.Rand, i, n int, clients []string, start time.Time, span time.Duration, users int) *store.Report {
	created := start.Add(time.Duration(rng.Int64N(int64(span))))
	started := created.Add(time.Duration(rng.IntN(60)) * time.Second)
	done := started.Add(time.Duration(30+rng.IntN(600)) * time.Second)
	size := int64(10_000 + rng.IntN(2_000_000))
	status := store.StatusCompleted
	if rng.IntN(20) == 0 {
		status = store.StatusFailed
	}
	r := &store.Report{
		ID:                    fmt.Sprintf("20000000-0000-4000-8000-%012d", i),
		ClientID:              clients[rng.IntN(len(clients))],
		CreatedBy:             UserID(rng.IntN(users)),
		ReportType:            store.ReportTypes[rng.IntN(len(store.ReportTypes))],
		Status:                status,
		CreatedAt:             created,
		ProcessingStartedAt:   &started,
		ProcessingCompletedAt: &done,
		CSVSizeBytes:          &size,
	}
	r.Recommendations = make([]store.Recommendation, n)
	for j := range r.Recommendations {
		cat := store.Categories[rng.IntN(len(store.Categories))]
		savings := 0.0
		if cat == store.CategoryCost {
			savings = float64(rng.IntN(1_000_000)) / 100
		}
		r.Recommendations[j] = store.Recommendation{
			Category:         cat,
			BusinessImpact:   store.Impacts[rng.IntN(len(store.Impacts))],
			Recommendation:   "Right-size or shutdown underutilized virtual machines",
			SubscriptionID:   "52e6b438-f2a7-269e-6513-0c5ca6a3a450",
			SubscriptionName: "Contoso Production",
			ResourceGroup:    "rg-web-prod",
			ResourceName:     fmt.Sprintf("vm-%d", j),
			ResourceType:     "microsoft.compute/virtualmachines",
			PotentialSavings: savings,
		}
	}
	return r
}
