// Package demo generates realistic, deterministic demo data for the
// reference server: clients across industries, a year of Advisor reports
// with their recommendations, and 90 days of user activity.
package demo

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/advisoranalytics/advisor-analytics/store"
)

// Sizes of the generated data.
const (
	// ReportDays is how far back reports go.
	ReportDays = 365
	// ActivityDays is how far back activities go.
	ActivityDays = 90
	// BatchSize is how many activities are written per ActivityInsertMany call.
	BatchSize = 1000
)

// ErrNotEmpty is returned by Load when the store already holds data.
var ErrNotEmpty = errors.New("demo: the database is not empty; demo data is only loaded into an empty database")

// Config configure the generated data.
type Config struct {
	// Now is the end of the generated period. Defaults to time.Now().
	Now time.Time
	// Seed selects the data: the same Seed and Now give the same data,
	// identifiers included.
	Seed int64
	// Location is the time zone of the users' working hours. Defaults to UTC.
	Location *time.Location
}

// User is a demo user.
type User struct {
	ID       string
	Username string
	FullName string
	Email    string
	Role     string // admin, manager, analyst or viewer
	Staff    bool
}

// Dataset is the generated data.
type Dataset struct {
	Users      []User
	Clients    []store.Client
	Reports    []store.Report // with their recommendations
	Activities []store.Activity
}

// Summary describes what Load wrote.
type Summary struct {
	Users           []User
	Clients         int
	Reports         int
	Recommendations int
	Activities      int
	// From and To bound the generated timestamps.
	From, To time.Time
}

// Users returns the demo users for seed (the same users Generate uses).
func Users(seed int64) []User {
	g := newGen(seed)
	return g.users()
}

type gen struct {
	rng *rand.Rand
}

func newGen(seed int64) *gen {
	return &gen{rng: rand.New(rand.NewPCG(uint64(seed), 0x61647669736f72))}
}

// uuid returns a version 4 UUID drawn from the generator.
func (g *gen) uuid() string {
	hi, lo := g.rng.Uint64(), g.rng.Uint64()
	hi = (hi &^ (0xf << 12)) | (0x4 << 12)
	lo = (lo &^ (0x3 << 62)) | (0x2 << 62)
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", hi>>32, (hi>>16)&0xffff, hi&0xffff, lo>>48, lo&0xffffffffffff)
}

func (g *gen) users() []User {
	us := make([]User, len(userSeeds))
	for i, s := range userSeeds {
		us[i] = User{ID: g.uuid(), Username: s.username, FullName: s.fullName,
			Email: s.username + "@example.com", Role: s.role, Staff: s.staff}
	}
	return us
}

// between returns a uniformly distributed duration in [lo, hi).
func (g *gen) between(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(g.rng.Int64N(int64(hi-lo)))
}

// logNormal returns exp(N(mu, sigma)).
func (g *gen) logNormal(mu, sigma float64) float64 {
	return math.Exp(mu + sigma*g.rng.NormFloat64())
}

func (g *gen) chance(p float64) bool { return g.rng.Float64() < p }

func pick[T any](g *gen, s []T) T { return s[g.rng.IntN(len(s))] }

// Generate returns the demo data for opts without writing it anywhere.
func Generate(opts Config) *Dataset {
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	now = now.UTC().Truncate(time.Microsecond)
	loc := opts.Location
	if loc == nil {
		loc = time.UTC
	}
	g := newGen(opts.Seed)
	d := &Dataset{Users: g.users()}
	clients := g.clients(now)
	d.Clients = make([]store.Client, len(clients))
	for i, c := range clients {
		d.Clients[i] = c.Client
	}
	d.Reports = g.reports(now, loc, clients, d.Users)
	d.Activities = g.activities(now, loc, d)
	return d
}

type demoClient struct {
	store.Client
	short string
	subs  []subscription
	// until is when the client stopped sending exports (inactive or
	// suspended clients); zero for active clients.
	until time.Time
}

type subscription struct{ id, name string }

func (g *gen) clients(now time.Time) []demoClient {
	out := make([]demoClient, len(clientSeeds))
	for i, s := range clientSeeds {
		var created time.Time
		switch {
		case i == len(clientSeeds)-3: // a client signed this month
			created = now.Add(-g.between(2*24*time.Hour, 6*24*time.Hour))
		default:
			created = now.Add(-g.between(60*24*time.Hour, 420*24*time.Hour))
		}
		c := demoClient{Client: store.Client{ID: g.uuid(), CompanyName: s.name, Industry: s.industry,
			Status: s.status, CreatedAt: created.Truncate(time.Second)}, short: s.short}
		if s.status != store.ClientActive {
			c.until = now.Add(-g.between(30*24*time.Hour, 150*24*time.Hour))
		}
		names := []string{s.short + " Production", s.short + " Dev/Test", s.short + " Shared Services"}
		for j := range 1 + g.rng.IntN(3) {
			c.subs = append(c.subs, subscription{id: g.uuid(), name: names[j]})
		}
		out[i] = c
	}
	return out
}

// workTime returns a moment of the working day of day (local midnight) in
// loc, weighted towards office hours.
func (g *gen) workTime(day time.Time) time.Time {
	hour := 8 + g.rng.NormFloat64()*1.0 + g.rng.Float64()*9
	hour = min(max(hour, 6), 21.5)
	return day.Add(time.Duration(hour * float64(time.Hour))).Add(g.between(0, time.Minute))
}

func (g *gen) reports(now time.Time, loc *time.Location, clients []demoClient, users []User) []store.Report {
	var authors []User
	for _, u := range users {
		if u.Role != "viewer" {
			authors = append(authors, u)
		}
	}
	// Analysts write most reports.
	weights := make([]int, len(authors))
	for i, u := range authors {
		weights[i] = map[string]int{"admin": 1, "manager": 2, "analyst": 6}[u.Role]
	}
	pickAuthor := func() User {
		total := 0
		for _, w := range weights {
			total += w
		}
		n := g.rng.IntN(total)
		for i, w := range weights {
			if n < w {
				return authors[i]
			}
			n -= w
		}
		return authors[len(authors)-1]
	}
	types := []store.ReportType{store.ReportCost, store.ReportCost, store.ReportCost, store.ReportSecurity,
		store.ReportSecurity, store.ReportDetailed, store.ReportDetailed, store.ReportExecutive, store.ReportOperations}

	var out []store.Report
	today := midnight(now.In(loc))
	for back := ReportDays; back >= 0; back-- {
		day := today.AddDate(0, 0, -back)
		// Activity grows over the year, and slows down at weekends.
		rate := 1.6 + 1.4*float64(ReportDays-back)/ReportDays
		if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
			rate *= 0.1
		}
		n := poisson(g, rate)
		for range n {
			created := g.workTime(day).UTC()
			if !created.Before(now) {
				continue
			}
			var eligible []demoClient
			for _, c := range clients {
				if c.CreatedAt.Before(created) && (c.until.IsZero() || created.Before(c.until)) {
					eligible = append(eligible, c)
				}
			}
			if len(eligible) == 0 {
				continue
			}
			c := pick(g, eligible)
			out = append(out, g.report(now, created, c, pickAuthor(), pick(g, types)))
		}
	}
	return out
}

func (g *gen) report(now, created time.Time, c demoClient, author User, typ store.ReportType) store.Report {
	r := store.Report{ID: g.uuid(), ClientID: c.ID, CreatedBy: author.ID, ReportType: typ, CreatedAt: created}
	size := int64(g.logNormal(math.Log(600_000), 0.9))
	size = min(max(size, 12_000), 25_000_000)
	r.CSVSizeBytes = &size
	age := now.Sub(created)
	started := created.Add(g.between(2*time.Second, 90*time.Second))
	// Bigger exports take longer to turn into reports.
	work := time.Duration(float64(15*time.Second) + float64(size)/1_000_000*float64(20*time.Second)*(0.6+g.rng.Float64()))
	done := started.Add(work)
	at := func(t time.Time) *time.Time { return &t }
	switch {
	case age < 10*time.Minute && g.chance(0.5):
		r.Status = pick(g, []store.ReportStatus{store.StatusUploaded, store.StatusPending})
	case done.After(now):
		r.Status = pick(g, []store.ReportStatus{store.StatusProcessing, store.StatusGenerating})
		r.ProcessingStartedAt = at(started)
		if started.After(now) {
			r.Status, r.ProcessingStartedAt = store.StatusUploaded, nil
		}
	default:
		p := g.rng.Float64()
		switch {
		case p < 0.07:
			r.Status = store.StatusFailed
			r.ProcessingStartedAt = at(started)
			r.ProcessingCompletedAt = at(started.Add(work / 3))
		case p < 0.10:
			r.Status = store.StatusCancelled
		case p < 0.11 && age < 3*24*time.Hour:
			r.Status = store.StatusPending
		default:
			r.Status = store.StatusCompleted
			r.ProcessingStartedAt = at(started)
			r.ProcessingCompletedAt = at(done)
		}
	}
	if r.Status == store.StatusCompleted {
		r.Recommendations = g.recommendations(c, typ)
	}
	return r
}

// categoryMix weighs the categories of each report type.
var categoryMix = map[store.ReportType][5]int{ // cost, security, reliability, operational_excellence, performance
	store.ReportCost:       {8, 1, 1, 1, 1},
	store.ReportSecurity:   {1, 8, 1, 1, 1},
	store.ReportOperations: {1, 1, 4, 5, 2},
	store.ReportDetailed:   {3, 3, 3, 2, 2},
	store.ReportExecutive:  {4, 3, 2, 1, 1},
}

var recCount = map[store.ReportType][2]int{ // min, max
	store.ReportCost:       {8, 30},
	store.ReportSecurity:   {6, 25},
	store.ReportOperations: {6, 22},
	store.ReportDetailed:   {20, 60},
	store.ReportExecutive:  {5, 15},
}

var resourceGroups = []string{"rg-web-prod", "rg-data", "rg-shared", "rg-network", "rg-analytics", "RG-Legacy"}

func (g *gen) recommendations(c demoClient, typ store.ReportType) []store.Recommendation {
	bounds := recCount[typ]
	n := bounds[0] + g.rng.IntN(bounds[1]-bounds[0]+1)
	mix := categoryMix[typ]
	total := 0
	for _, w := range mix {
		total += w
	}
	out := make([]store.Recommendation, 0, n)
	for range n {
		k := g.rng.IntN(total)
		var cat store.Category
		for i, w := range mix {
			if k < w {
				cat = store.Categories[i]
				break
			}
			k -= w
		}
		var choices []advice
		for _, a := range catalog {
			if a.category == cat {
				choices = append(choices, a)
			}
		}
		a := pick(g, choices)
		sub := pick(g, c.subs)
		rec := store.Recommendation{
			Category:         a.category,
			Recommendation:   a.text,
			SubscriptionID:   sub.id,
			SubscriptionName: sub.name,
			ResourceType:     a.resourceType,
			Currency:         "USD",
		}
		switch p := g.rng.Float64(); {
		case p < 0.30:
			rec.BusinessImpact = store.ImpactHigh
		case p < 0.75:
			rec.BusinessImpact = store.ImpactMedium
		case p < 0.99:
			rec.BusinessImpact = store.ImpactLow
		default: // some exports from a single category tab lack the column
		}
		if a.resourceType == "Subscription" {
			rec.ResourceGroup = "No resource group"
			rec.ResourceName = sub.name
		} else {
			rec.ResourceGroup = pick(g, resourceGroups)
			prefix := resourcePrefix[a.resourceType]
			if prefix == "" {
				prefix = "res"
			}
			rec.ResourceName = fmt.Sprintf("%s-%s-%s-%02d", prefix, strings.ToLower(c.short),
				pick(g, []string{"web", "api", "data", "batch", "ops"}), 1+g.rng.IntN(20))
		}
		if a.costly && g.chance(0.9) {
			rec.PotentialSavings = math.Round(min(g.logNormal(math.Log(900), 1.0), 60_000)*100) / 100
		}
		out = append(out, rec)
	}
	return out
}

func poisson(g *gen, lambda float64) int {
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= g.rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

func midnight(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
}

// act builds activities the way the tracking middleware records them.
type act struct {
	g  *gen
	u  User
	ip string
	ua string
}

func (a act) new(at time.Time, typ, method, path, desc string, status int, extra map[string]any) store.Activity {
	dur := time.Duration(a.g.logNormal(math.Log(120), 0.7) * float64(time.Millisecond)).Truncate(time.Microsecond)
	if typ == "upload_csv" || typ == "generate_report" {
		dur *= 4
	}
	md := map[string]any{"path": path, "method": method, "status": status, "duration_ms": dur.Milliseconds()}
	for k, v := range extra {
		md[k] = v
	}
	return store.Activity{
		ID: a.g.uuid(), UserID: a.u.ID, Username: a.u.Username, FullName: a.u.FullName,
		ActivityType: typ, Description: desc, IPAddress: a.ip, UserAgent: a.ua,
		Method: method, Path: path, StatusCode: status, Duration: dur, Metadata: md,
		CreatedAt: at.UTC().Truncate(time.Microsecond),
	}
}

func (g *gen) activities(now time.Time, loc *time.Location, d *Dataset) []store.Activity {
	from := now.AddDate(0, 0, -ActivityDays)
	actors := make(map[string]act, len(d.Users))
	for i, u := range d.Users {
		s := userSeeds[i]
		actors[u.ID] = act{g: g, u: u, ip: s.ip, ua: userAgents[s.agent]}
	}
	var out []store.Activity
	add := func(a store.Activity) {
		if !a.CreatedAt.Before(from) && a.CreatedAt.Before(now) {
			out = append(out, a)
		}
	}

	// Every report of the window was uploaded and generated by its author.
	clientByID := make(map[string]store.Client, len(d.Clients))
	for _, c := range d.Clients {
		clientByID[c.ID] = c
	}
	for _, r := range d.Reports {
		a, ok := actors[r.CreatedBy]
		if !ok {
			continue
		}
		up := r.CreatedAt.Add(-g.between(5*time.Second, 40*time.Second))
		upPath := "/api/v1/clients/" + r.ClientID + "/upload-csv/"
		act := a.new(up, "upload_csv", "POST", upPath, "Uploaded CSV for client "+r.ClientID, 201,
			map[string]any{"client_id": r.ClientID, "file_size": *r.CSVSizeBytes, "file_name": strings.ToLower(clientByID[r.ClientID].CompanyName[:3]) + "-advisor-export.csv"})
		act.ClientID = r.ClientID
		add(act)
		genPath := "/api/v1/reports/" + r.ID + "/generate/"
		act = a.new(r.CreatedAt, "generate_report", "POST", genPath, "Generated report "+r.ID, 202,
			map[string]any{"report_id": r.ID, "report_type": string(r.ReportType)})
		act.ClientID, act.ReportID = r.ClientID, r.ID
		add(act)
	}
	// Managers and admins delete about half of the failed reports of the
	// window; those reports are gone from the data set.
	deleted := make(map[string]bool)
	for _, r := range d.Reports {
		if r.Status != store.StatusFailed || r.CreatedAt.Before(from) || !g.chance(0.5) {
			continue
		}
		a := actors[pick(g, managersOf(d.Users)).ID]
		path := "/api/v1/reports/" + r.ID + "/"
		act := a.new(r.CreatedAt.Add(g.between(time.Hour, 48*time.Hour)), "delete_report", "DELETE", path,
			"Deleted report "+r.ID, 204, map[string]any{"report_id": r.ID})
		act.ReportID, act.ClientID = r.ID, r.ClientID
		if act.CreatedAt.Before(now) {
			deleted[r.ID] = true
			add(act)
		}
	}
	d.Reports = slices.DeleteFunc(d.Reports, func(r store.Report) bool { return deleted[r.ID] })

	// Client creations by managers and admins.
	managers := managersOf(d.Users)
	for _, c := range d.Clients {
		a := actors[pick(g, managers).ID]
		act := a.new(c.CreatedAt, "create_client", "POST", "/api/v1/clients/", "Created a new client", 201,
			map[string]any{"client_id": c.ID, "company_name": c.CompanyName})
		act.ClientID = c.ID
		add(act)
	}

	g.dailySessions(now, loc, d, actors, add)
	slices.SortFunc(out, func(x, y store.Activity) int {
		if c := x.CreatedAt.Compare(y.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})
	return out
}

// dailySessions adds each user's sessions of the activity window: a
// login, a few actions and often a logout, rarer at weekends.
func (g *gen) dailySessions(now time.Time, loc *time.Location, d *Dataset, actors map[string]act, add func(store.Activity)) {
	completed := make([]store.Report, 0, len(d.Reports))
	for _, r := range d.Reports {
		if r.Status == store.StatusCompleted {
			completed = append(completed, r)
		}
	}
	slices.SortFunc(completed, func(x, y store.Report) int { return x.CreatedAt.Compare(y.CreatedAt) })
	today := midnight(now.In(loc))
	for back := ActivityDays; back >= 0; back-- {
		day := today.AddDate(0, 0, -back)
		weekend := day.Weekday() == time.Saturday || day.Weekday() == time.Sunday
		for _, u := range d.Users {
			a := actors[u.ID]
			p := 0.85
			if u.Staff {
				p = 0.97 // a monitoring account checks in every day
			} else if weekend {
				p = 0.06
			}
			if !g.chance(p) {
				continue
			}
			t := day.Add(time.Duration((7.5 + g.rng.Float64()*2.5) * float64(time.Hour)))
			if !u.Staff {
				add(a.new(t, "login", "POST", "/api/v1/auth/login/", "Logged in", 200, nil))
			}
			n := 3 + g.rng.IntN(10)
			if u.Role == "viewer" {
				n = 1 + g.rng.IntN(4)
			}
			for range n {
				t = t.Add(g.between(2*time.Minute, 70*time.Minute))
				g.sessionAction(a, t, d, completed, add)
			}
			if !u.Staff && g.chance(0.6) {
				add(a.new(t.Add(g.between(time.Minute, 30*time.Minute)), "logout", "POST", "/api/v1/auth/logout/", "Logged out", 200, nil))
			}
		}
	}
}

func managersOf(users []User) []User {
	var out []User
	for _, u := range users {
		if u.Role == "admin" || u.Role == "manager" {
			out = append(out, u)
		}
	}
	return out
}

func (g *gen) sessionAction(a act, t time.Time, d *Dataset, completed []store.Report, add func(store.Activity)) {
	// Reports that existed at t.
	n, _ := slices.BinarySearchFunc(completed, t, func(r store.Report, t time.Time) int { return r.CreatedAt.Compare(t) })
	avail := completed[:n]
	recent := func() (store.Report, bool) {
		if len(avail) == 0 {
			return store.Report{}, false
		}
		lo := max(0, len(avail)-40)
		return avail[lo+g.rng.IntN(len(avail)-lo)], true
	}
	role := a.u.Role
	p := g.rng.Float64()
	switch {
	case p < 0.40:
		add(a.new(t, "view_dashboard", "GET", "/api/v1/analytics/dashboard/", "Viewed dashboard", 200, nil))
	case p < 0.70:
		r, ok := recent()
		if !ok {
			return
		}
		format := pick(g, []string{"pdf", "pdf", "xlsx", "html"})
		path := "/api/v1/reports/" + r.ID + "/download/" + format + "/"
		act := a.new(t, "download_report", "GET", path, "Downloaded report "+r.ID+" as "+format, 200,
			map[string]any{"report_id": r.ID, "format": format})
		act.ReportID, act.ClientID = r.ID, r.ClientID
		add(act)
	case p < 0.80 && role != "viewer":
		r, ok := recent()
		if !ok {
			return
		}
		path := "/api/v1/reports/" + r.ID + "/share/"
		act := a.new(t, "share_report", "POST", path, "Shared report "+r.ID, 201,
			map[string]any{"report_id": r.ID, "recipients": 1 + g.rng.IntN(4)})
		act.ReportID, act.ClientID = r.ID, r.ClientID
		add(act)
	case p < 0.87 && (role == "manager" || role == "admin"):
		c := pick(g, d.Clients)
		if !c.CreatedAt.Before(t) {
			return
		}
		path := "/api/v1/clients/" + c.ID + "/"
		act := a.new(t, "update_client", pick(g, []string{"PATCH", "PATCH", "PUT"}), path, "Updated client "+c.ID, 200,
			map[string]any{"client_id": c.ID, "fields": []any{pick(g, []string{"contact_email", "status", "notes", "industry"})}})
		act.ClientID = c.ID
		add(act)
	case p < 0.92 && role != "viewer":
		// A rejected upload: the file was not an Advisor export.
		c := pick(g, d.Clients)
		path := "/api/v1/clients/" + c.ID + "/upload-csv/"
		act := a.new(t, "upload_csv", "POST", path, "Uploaded CSV for client "+c.ID, 400,
			map[string]any{"client_id": c.ID, "error": "not an Azure Advisor CSV export"})
		act.ClientID = c.ID
		add(act)
	case p < 0.95:
		add(a.new(t, "other", "PUT", "/api/v1/users/me/preferences/", "PUT /api/v1/users/me/preferences/", 200, nil))
	default:
		add(a.new(t, "view_dashboard", "GET", "/api/v1/analytics/dashboard/", "Viewed dashboard", 200, nil))
	}
}

// Empty reports whether st holds no activities, reports or active clients.
func Empty(ctx context.Context, st store.Store) (bool, error) {
	page, err := st.ActivityList(ctx, store.ActivityListParams{Limit: 1})
	if err != nil {
		return false, fmt.Errorf("demo: count activities: %w", err)
	}
	if page.Total > 0 {
		return false, nil
	}
	perf, err := st.ClientPerformance(ctx, "")
	if err != nil {
		return false, fmt.Errorf("demo: count reports: %w", err)
	}
	if perf.TotalReports > 0 {
		return false, nil
	}
	now := time.Now().UTC()
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	m, err := st.ReportMetrics(ctx, store.ReportMetricsParams{MonthStart: month, PrevMonthStart: month.AddDate(0, -1, 0)})
	if err != nil {
		return false, fmt.Errorf("demo: count clients: %w", err)
	}
	return m.ActiveClients == 0 && m.ClientsThisMonth == 0 && m.ClientsPrevMonth == 0, nil
}

// Load writes the demo data for opts into st, which must be empty (else
// ErrNotEmpty), and returns what it wrote.
func Load(ctx context.Context, st store.Store, opts Config) (Summary, error) {
	empty, err := Empty(ctx, st)
	if err != nil {
		return Summary{}, err
	}
	if !empty {
		return Summary{}, ErrNotEmpty
	}
	d := Generate(opts)
	sum := Summary{Users: d.Users, Clients: len(d.Clients), Reports: len(d.Reports), Activities: len(d.Activities)}
	for i := range d.Clients {
		if err := st.ClientUpsert(ctx, &d.Clients[i]); err != nil {
			return sum, fmt.Errorf("demo: write client %q: %w", d.Clients[i].CompanyName, err)
		}
		sum.From = earliest(sum.From, d.Clients[i].CreatedAt)
	}
	for i := range d.Reports {
		r := &d.Reports[i]
		if err := st.ReportUpsert(ctx, r); err != nil {
			return sum, fmt.Errorf("demo: write report %d of %d: %w", i+1, len(d.Reports), err)
		}
		sum.Recommendations += len(r.Recommendations)
		sum.To = latest(sum.To, r.CreatedAt)
	}
	for lo := 0; lo < len(d.Activities); lo += BatchSize {
		hi := min(lo+BatchSize, len(d.Activities))
		if err := st.ActivityInsertMany(ctx, d.Activities[lo:hi]); err != nil {
			return sum, fmt.Errorf("demo: write activities %d-%d: %w", lo+1, hi, err)
		}
	}
	if n := len(d.Activities); n > 0 {
		sum.To = latest(sum.To, d.Activities[n-1].CreatedAt)
	}
	return sum, nil
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
