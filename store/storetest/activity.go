package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/storedriver"
)

func runActivity(t *testing.T, open OpenFunc) {
	parallel(t, open, "InsertManyRoundTrip", testActivityRoundTrip)
	parallel(t, open, "InsertManyNow", testActivityInsertNow)
	t.Run("InsertManyInvalid", func(t *testing.T) { testActivityInvalid(t, open) })
	parallel(t, open, "InsertManyEmpty", testActivityInsertEmpty)
	parallel(t, open, "InsertManyLarge", testActivityInsertLarge)
	parallel(t, open, "InsertManyAwkwardText", testActivityAwkwardText)
	parallel(t, open, "InsertManyControlCharacters", testActivityControlCharacters)
	parallel(t, open, "InsertManyConcurrent", testActivityConcurrent)
	t.Run("InsertChunks", func(t *testing.T) { runChunks(t, open) })
	parallel(t, open, "ListFilters", testActivityListFilters)
	parallel(t, open, "ListDefaultLimit", testActivityListDefaultLimit)
	parallel(t, open, "ListBadParams", testActivityListBadParams)
	parallel(t, open, "ListSubMicrosecondBounds", testActivitySubMicrosecondBounds)
	parallel(t, open, "ListCursorTies", testActivityCursorTies)
	parallel(t, open, "ListCursorWhileInserting", testActivityCursorWhileInserting)
	parallel(t, open, "ListTotalAfterErase", testActivityTotalAfterErase)
	parallel(t, open, "Iterate", testActivityIterate)
	parallel(t, open, "IteratePages", testActivityIteratePages)
	parallel(t, open, "SummaryByType", testSummaryByType)
	parallel(t, open, "SummaryByUser", testSummaryByUser)
	parallel(t, open, "CountsOverMonths", testCountsOverMonths)
	parallel(t, open, "SummaryByDay", testSummaryByDay)
	parallel(t, open, "SummaryByDayDST", testSummaryByDayDST)
	parallel(t, open, "DistinctUsers", testDistinctUsers)
	parallel(t, open, "DeleteByUser", testDeleteByUser)
	parallel(t, open, "DeleteBefore", testDeleteBefore)
}

// listAll reads every activity matching f through ActivityList with
// offset paging of limit rows, checking each page's Total and HasNext
// against want.
func listAll(t *testing.T, s store.Store, f store.ActivityFilter, limit int, want []store.Activity) []store.Activity {
	t.Helper()
	var got []store.Activity
	for offset := 0; ; offset += limit {
		page, err := s.ActivityList(ctx(t), store.ActivityListParams{ActivityFilter: f, Limit: limit, Offset: offset})
		must(t, err, fmt.Sprintf("ActivityList offset %d", offset))
		if page.Total != int64(len(want)) {
			t.Fatalf("offset %d: Total = %d, want %d", offset, page.Total, len(want))
		}
		if wantNext := offset+limit < len(want); page.HasNext != wantNext {
			t.Fatalf("offset %d: HasNext = %v, want %v", offset, page.HasNext, wantNext)
		}
		if len(page.Activities) > limit {
			t.Fatalf("offset %d: %d rows, more than limit %d", offset, len(page.Activities), limit)
		}
		got = append(got, page.Activities...)
		if !page.HasNext || len(page.Activities) == 0 {
			return got
		}
		if offset > len(want)+limit {
			t.Fatalf("offset paging does not end (offset %d, %d rows expected)", offset, len(want))
		}
	}
}

// cursorAll reads every activity matching f through ActivityList with
// cursor paging of limit rows; between pages it calls between (if not
// nil) with the page number.
func cursorAll(t *testing.T, s store.Store, f store.ActivityFilter, limit int, between func(page int)) []store.Activity {
	t.Helper()
	var got []store.Activity
	cursor := ""
	for n := 0; ; n++ {
		page, err := s.ActivityList(ctx(t), store.ActivityListParams{ActivityFilter: f, Limit: limit, Cursor: cursor})
		must(t, err, fmt.Sprintf("ActivityList page %d", n))
		if len(page.Activities) > limit {
			t.Fatalf("page %d: %d rows, more than limit %d", n, len(page.Activities), limit)
		}
		got = append(got, page.Activities...)
		if !page.HasNext {
			if page.NextCursor != "" {
				t.Fatalf("page %d: NextCursor %q on the last page, want empty", n, page.NextCursor)
			}
			return got
		}
		if page.NextCursor == "" {
			t.Fatalf("page %d: HasNext without NextCursor", n)
		}
		if n > 10000 {
			t.Fatalf("cursor paging does not end")
		}
		cursor = page.NextCursor
		if between != nil {
			between(n)
		}
	}
}

func testActivityRoundTrip(t *testing.T, s store.Store) {
	long := strings.Repeat("é", store.MaxDescriptionLen+40)
	ua := strings.Repeat("Mozilla/5.0 ", 60) // 720 bytes
	in := []store.Activity{
		{
			ID: strings.ToUpper(ID('f', 1)), UserID: "u1", Username: "alice", FullName: "Alice Liddell",
			ActivityType: "generate_report", Description: "Generated report", ClientID: strings.ToUpper(ClientContoso),
			ReportID: DomainReport(1), IPAddress: "203.0.113.7", UserAgent: "curl/8.0", Method: "POST",
			Path: "/api/v1/reports/", StatusCode: 201, Duration: 1500 * time.Millisecond,
			Metadata: map[string]any{
				"path": "/api/v1/reports/", "status": float64(201), "ok": true,
				"nested": map[string]any{"list": []any{"a", float64(1.5)}, "none": nil},
			},
			CreatedAt: ts("2025-03-03T10:00:00.123456Z"),
		},
		{
			// Anonymous, nil metadata, over-long description and user agent,
			// an IPv6 address, a non-UTC creation time.
			UserID: "", ActivityType: "other", Description: long, IPAddress: "2001:db8::1", UserAgent: ua,
			Method: "GET", Path: "/x", StatusCode: 404, Duration: 42 * time.Millisecond,
			CreatedAt: time.Date(2025, 3, 3, 5, 0, 0, 654321789, newYork()), // nanoseconds are cut
		},
		{
			UserID: "u2", Username: "bob", ActivityType: "login", CreatedAt: ts("2025-03-03T10:00:00.123456Z"),
			Metadata: map[string]any{},
		},
	}
	must(t, s.ActivityInsertMany(ctx(t), slices.Clone(in)), "ActivityInsertMany")

	page, err := s.ActivityList(ctx(t), store.ActivityListParams{Limit: 10})
	must(t, err, "ActivityList")
	if len(page.Activities) != 3 {
		t.Fatalf("got %d activities, want 3", len(page.Activities))
	}
	got := page.Activities
	seen := map[string]bool{}
	for i, a := range got {
		if !store.ValidUUID(a.ID) || a.ID != strings.ToLower(a.ID) {
			t.Errorf("activity %d: id %q is not a lower-case UUID", i, a.ID)
		}
		if seen[a.ID] {
			t.Errorf("activity %d: id %q assigned twice", i, a.ID)
		}
		seen[a.ID] = true
		wantUTC(t, "CreatedAt", a.CreatedAt)
	}

	// Expected rows: the inputs normalised as the contract says.
	want := make([]store.Activity, len(in))
	for i := range in {
		want[i] = in[i]
		want[i].Metadata = cloneMap(in[i].Metadata)
		must(t, storedriver.PrepareActivity(&want[i], time.Time{}), "PrepareActivity")
		if want[i].Metadata == nil {
			want[i].Metadata = map[string]any{}
		}
	}
	// Rows without an id got theirs from the store (each type is unique).
	for i := range want {
		if in[i].ID != "" {
			continue
		}
		for _, a := range got {
			if a.ActivityType == want[i].ActivityType {
				want[i].ID = a.ID
			}
		}
	}
	if n := len([]rune(want[1].Description)); n != store.MaxDescriptionLen {
		t.Fatalf("reference: description has %d runes", n)
	}
	slices.SortFunc(want, newestFirst)
	diff(t, "activities", want, got)
	for _, a := range got {
		if a.Metadata == nil {
			t.Errorf("activity %s: nil Metadata, want an empty map", a.ID)
		}
	}
	if len(got[0].UserAgent) > store.MaxUserAgentLen {
		t.Errorf("user agent not cut")
	}
}

func cloneMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func testActivityInsertNow(t *testing.T, s store.Store) {
	before := time.Now().Add(-time.Minute)
	must(t, s.ActivityInsertMany(ctx(t), []store.Activity{{UserID: "u1", ActivityType: "login"}}), "ActivityInsertMany")
	after := time.Now().Add(time.Minute)
	page, err := s.ActivityList(ctx(t), store.ActivityListParams{})
	must(t, err, "ActivityList")
	if len(page.Activities) != 1 {
		t.Fatalf("got %d activities, want 1", len(page.Activities))
	}
	got := page.Activities[0].CreatedAt
	if got.Before(before) || got.After(after) {
		t.Errorf("zero CreatedAt stored as %v, want the current time", got)
	}
	wantUTC(t, "CreatedAt", got)
}

func testActivityInvalid(t *testing.T, open OpenFunc) {
	good := func(n int) store.Activity {
		return store.Activity{UserID: "u1", ActivityType: "login", CreatedAt: ts("2025-03-03T10:00:00Z").Add(time.Duration(n) * time.Second)}
	}
	cases := []struct {
		name  string
		bad   func(a *store.Activity)
		field string
	}{
		{"EmptyType", func(a *store.Activity) { a.ActivityType = "" }, "activity_type"},
		{"BlankType", func(a *store.Activity) { a.ActivityType = "   " }, "activity_type"},
		{"LongType", func(a *store.Activity) { a.ActivityType = strings.Repeat("x", store.MaxActivityTypeLen+1) }, "activity_type"},
		{"BadID", func(a *store.Activity) { a.ID = "not-a-uuid" }, "id"},
		{"BadClientID", func(a *store.Activity) { a.ClientID = "12345" }, "client_id"},
		{"BadReportID", func(a *store.Activity) { a.ReportID = ClientContoso + "0" }, "report_id"},
		{"NegativeDuration", func(a *store.Activity) { a.Duration = -time.Second }, "duration_ms"},
		{"LargeMetadata", func(a *store.Activity) {
			a.Metadata = map[string]any{"blob": strings.Repeat("x", store.MaxMetadataBytes)}
		}, "metadata"},
		{"ManyMetadataKeys", func(a *store.Activity) {
			a.Metadata = map[string]any{}
			for i := range store.MaxMetadataKeys + 1 {
				a.Metadata[fmt.Sprint(i)] = i
			}
		}, "metadata"},
		{"DeepMetadata", func(a *store.Activity) {
			m := map[string]any{}
			for range store.MaxMetadataDepth {
				m = map[string]any{"n": m}
			}
			a.Metadata = m
		}, "metadata"},
	}
	for _, tc := range cases {
		parallel(t, open, tc.name, func(t *testing.T, s store.Store) {
			batch := []store.Activity{good(1), good(2), good(3), good(4)}
			tc.bad(&batch[2])
			err := s.ActivityInsertMany(ctx(t), batch)
			wantValidation(t, err, tc.field, true)
			page, err := s.ActivityList(ctx(t), store.ActivityListParams{})
			must(t, err, "ActivityList")
			if page.Total != 0 || len(page.Activities) != 0 {
				t.Errorf("after a refused batch: Total %d, %d rows; want nothing written", page.Total, len(page.Activities))
			}
			sum, err := s.ActivitySummary(ctx(t), store.ActivitySummaryParams{GroupBy: store.GroupByType})
			must(t, err, "ActivitySummary")
			if sum.Total != 0 {
				t.Errorf("after a refused batch: summary Total %d, want 0", sum.Total)
			}
		})
	}
}

func testActivityInsertEmpty(t *testing.T, s store.Store) {
	must(t, s.ActivityInsertMany(ctx(t), nil), "ActivityInsertMany(nil)")
	page, err := s.ActivityList(ctx(t), store.ActivityListParams{})
	must(t, err, "ActivityList")
	if page.Total != 0 || page.HasNext || page.NextCursor != "" || len(page.Activities) != 0 {
		t.Errorf("empty store: got %+v, want an empty page", page)
	}
}

func testActivityInsertLarge(t *testing.T, s store.Store) {
	// Larger than any sensible chunk, and not a multiple of one; drivers
	// may take another path (COPY, prepared chunks) for large batches, so
	// the awkward values are checked here too.
	all := ActivityDataset(1234)
	for i := 3; i < len(all); i += 97 {
		all[i].Description = strings.Repeat("ü", store.MaxDescriptionLen+20) + "\xff"
		all[i].UserAgent = strings.Repeat("a", store.MaxUserAgentLen+100)
		all[i].Metadata = nil
		all[i].IPAddress = "2001:db8::7"
	}
	for i := 50; i < len(all); i += 301 {
		all[i].Path = "/x\x00y"
		all[i].Username = "bad \xff name"
	}
	Seed(t, s, Dataset{Activities: all})
	want := make([]store.Activity, len(all))
	for i := range all {
		want[i] = all[i]
		must(t, storedriver.PrepareActivity(&want[i], time.Time{}), "PrepareActivity")
		if want[i].Metadata == nil {
			want[i].Metadata = map[string]any{}
		}
	}
	var got []store.Activity
	for offset := 0; ; offset += 1000 {
		page, err := s.ActivityList(ctx(t), store.ActivityListParams{Limit: 1000, Offset: offset})
		must(t, err, "ActivityList")
		if page.Total != int64(len(all)) {
			t.Fatalf("Total = %d, want %d", page.Total, len(all))
		}
		got = append(got, page.Activities...)
		if !page.HasNext {
			break
		}
	}
	// A NUL may be kept, dropped or replaced (see InsertManyAwkwardText).
	for i := range got {
		if p := got[i].Path; p == "/xy" || p == "/x\uFFFDy" {
			got[i].Path = "/x\x00y"
		}
	}
	diff(t, "every row", selectActivities(want, store.ActivityFilter{}), got)

	for _, f := range []store.ActivityFilter{{From: ActivityDatasetStart.Add(31 * time.Hour), To: ActivityDatasetStart.Add(77 * time.Hour)}, {UserID: "u4"}} {
		page, err := s.ActivityList(ctx(t), store.ActivityListParams{ActivityFilter: f, Limit: 1})
		must(t, err, "ActivityList")
		if n := len(selectActivities(all, f)); page.Total != int64(n) {
			t.Errorf("filter %+v: Total = %d, want %d", f, page.Total, n)
		}
	}
}

// testActivityAwkwardText checks that text a request can carry (a NUL
// decoded from %00 in a path, invalid UTF-8, quotes) never loses an event.
// A NUL may be stored as is, dropped or replaced by U+FFFD.
func testActivityAwkwardText(t *testing.T, s store.Store) {
	in := []store.Activity{
		{ActivityType: "other", Path: "/api/\x00/x", Description: "GET /api/\x00/x", UserAgent: "agent\x00", Metadata: map[string]any{"path": "/api/\x00/x"}, CreatedAt: ts("2025-03-03T10:00:00Z")},
		{ActivityType: "other", Description: "bad \xff byte", Username: "o'brien \"quoted\" ; DROP TABLE", CreatedAt: ts("2025-03-03T10:00:01Z")},
	}
	must(t, s.ActivityInsertMany(ctx(t), slices.Clone(in)), "ActivityInsertMany")
	page, err := s.ActivityList(ctx(t), store.ActivityListParams{})
	must(t, err, "ActivityList")
	if len(page.Activities) != 2 {
		t.Fatalf("%d activities stored, want 2", len(page.Activities))
	}
	nul := func(s string) []string {
		return []string{s, strings.ReplaceAll(s, "\x00", ""), strings.ReplaceAll(s, "\x00", "\uFFFD")}
	}
	got := page.Activities[1]
	if !slices.Contains(nul(in[0].Path), got.Path) || !slices.Contains(nul(in[0].Description), got.Description) ||
		!slices.Contains(nul(in[0].UserAgent), got.UserAgent) || !slices.Contains(nul(in[0].Path), fmt.Sprint(got.Metadata["path"])) {
		t.Errorf("NUL text read back as path %q description %q user agent %q metadata %v", got.Path, got.Description, got.UserAgent, got.Metadata)
	}
	got = page.Activities[0]
	if got.Description != "bad \uFFFD byte" || got.Username != in[1].Username {
		t.Errorf("read back description %q username %q, want %q %q", got.Description, got.Username, "bad \uFFFD byte", in[1].Username)
	}
}

// testActivityControlCharacters checks that text holding the characters
// bulk-load formats give a meaning to (tab, newline, carriage return,
// backslash, "\N", quotes, commas) in every text field and in metadata is
// read back exactly.
func testActivityControlCharacters(t *testing.T, s store.Store) {
	const odd = "a\tb\\N\n\\\\c\td\r\ne,\"f\"\\"
	in := store.Activity{
		UserID: "u" + odd, Username: "n" + odd, FullName: "f" + odd, ActivityType: "t" + odd,
		Description: "d" + odd, IPAddress: "i" + odd, UserAgent: "ua" + odd, Method: "m\t", Path: "/p" + odd,
		Metadata:  map[string]any{"k" + odd: "v" + odd, "n": 1.5, "b": true},
		CreatedAt: ts("2025-03-03T10:00:00.123456Z"),
	}
	must(t, s.ActivityInsertMany(ctx(t), []store.Activity{in}), "ActivityInsertMany")
	page, err := s.ActivityList(ctx(t), store.ActivityListParams{})
	must(t, err, "ActivityList")
	if len(page.Activities) != 1 {
		t.Fatalf("%d activities stored, want 1", len(page.Activities))
	}
	got := page.Activities[0]
	in.ID = got.ID
	if diff := cmp.Diff(in, got); diff != "" {
		t.Errorf("activity read back (-want +got):\n%s", diff)
	}
	sum, err := s.ActivitySummary(ctx(t), store.ActivitySummaryParams{
		ActivityFilter: store.ActivityFilter{UserID: in.UserID, ActivityType: in.ActivityType}, GroupBy: store.GroupByUser})
	must(t, err, "ActivitySummary")
	want := []store.SummaryRow{{UserID: in.UserID, Username: in.Username, Count: 1}}
	if diff := cmp.Diff(want, sum.Rows); diff != "" || sum.Total != 1 {
		t.Errorf("summary by the odd user and type: total %d, rows (-want +got):\n%s", sum.Total, diff)
	}
}

func testActivityConcurrent(t *testing.T, s store.Store) {
	const workers, batches, size = 6, 4, 25
	// Every batch touches several days, hours and types, in an order that
	// differs between writers, so drivers keeping counter rows must not
	// deadlock or lose updates.
	var wg sync.WaitGroup
	errs := make(chan error, workers*batches)
	var mu sync.Mutex
	var all []store.Activity
	for w := range workers {
		wg.Go(func() {
			for b := range batches {
				batch := make([]store.Activity, size)
				for i := range batch {
					k := (i*(w+1) + b) % size
					batch[i] = store.Activity{
						UserID:       fmt.Sprintf("w%d", w),
						ActivityType: activityTypes[(k+w)%len(activityTypes)],
						CreatedAt:    ActivityDatasetStart.Add(time.Duration(k)*7*time.Hour + time.Duration(w*batches+b)*time.Second),
					}
				}
				if err := s.ActivityInsertMany(ctx(t), slices.Clone(batch)); err != nil {
					errs <- err
				}
				mu.Lock()
				all = append(all, batch...)
				mu.Unlock()
			}
		})
	}
	// Readers run while the writers write: no "database is locked".
	stop := make(chan struct{})
	var readers sync.WaitGroup
	readErrs := make(chan error, 4)
	for range 2 {
		readers.Go(func() {
			for range 20 {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := s.ActivityList(ctx(t), store.ActivityListParams{Limit: 10}); err != nil {
					readErrs <- err
					return
				}
				if _, err := s.ActivitySummary(ctx(t), store.ActivitySummaryParams{GroupBy: store.GroupByType}); err != nil {
					readErrs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	close(errs)
	close(readErrs)
	for err := range errs {
		t.Fatalf("concurrent ActivityInsertMany: %v", err)
	}
	for err := range readErrs {
		t.Fatalf("reading during concurrent inserts: %v", err)
	}
	checkConcurrentInserts(t, s, all, workers, batches*size)
}

// checkConcurrentInserts checks what workers writers, each inserting
// perWorker activities, left in s; all is what they inserted.
func checkConcurrentInserts(t *testing.T, s store.Store, all []store.Activity, workers, perWorker int64) {
	t.Helper()
	page, err := s.ActivityList(ctx(t), store.ActivityListParams{Limit: 1})
	must(t, err, "ActivityList")
	if page.Total != workers*perWorker {
		t.Errorf("Total = %d, want %d", page.Total, workers*perWorker)
	}
	ids := map[string]bool{}
	must(t, s.ActivityIterate(ctx(t), store.ActivityFilter{}, func(a *store.Activity) error {
		ids[a.ID] = true
		return nil
	}), "ActivityIterate")
	if int64(len(ids)) != workers*perWorker {
		t.Errorf("%d distinct ids, want %d", len(ids), workers*perWorker)
	}
	sum, err := s.ActivitySummary(ctx(t), store.ActivitySummaryParams{GroupBy: store.GroupByUser})
	must(t, err, "ActivitySummary")
	if int64(len(sum.Rows)) != workers {
		t.Fatalf("%d users, want %d", len(sum.Rows), workers)
	}
	for _, r := range sum.Rows {
		if r.Count != perWorker {
			t.Errorf("user %s: %d activities, want %d", r.UserID, r.Count, perWorker)
		}
	}
	for _, tc := range activityFilterCases() {
		f := tc.f
		f.ClientID, f.ReportID = "", ""
		page, err := s.ActivityList(ctx(t), store.ActivityListParams{ActivityFilter: f, Limit: 1})
		must(t, err, "ActivityList")
		if n := len(selectActivities(all, f)); page.Total != int64(n) {
			t.Errorf("%s: Total = %d, want %d", tc.name, page.Total, n)
		}
	}
	checkSummaries(t, s, all, []store.ActivitySummaryParams{
		{GroupBy: store.GroupByType},
		{GroupBy: store.GroupByDay, ActivityFilter: store.ActivityFilter{From: ActivityDatasetStart.Add(30 * time.Hour), To: ActivityDatasetStart.Add(100 * time.Hour)}},
	})
}

// activityFilterCases are the filters checked against the reference model.
// The dataset spans 2025-03-03 … 2025-03-07 (UTC).
func activityFilterCases() []struct {
	name string
	f    store.ActivityFilter
} {
	day := func(n int) time.Time { return ActivityDatasetStart.AddDate(0, 0, n) }
	return []struct {
		name string
		f    store.ActivityFilter
	}{
		{"All", store.ActivityFilter{}},
		{"FromMidDay", store.ActivityFilter{From: day(1).Add(13*time.Hour + 17*time.Minute)}},
		{"ToMidDay", store.ActivityFilter{To: day(3).Add(9*time.Hour + 1*time.Minute)}},
		{"SeveralDaysMidDayBothEnds", store.ActivityFilter{From: day(1).Add(7 * time.Hour), To: day(3).Add(16*time.Hour + 30*time.Minute)}},
		{"InsideOneDay", store.ActivityFilter{From: day(2).Add(3 * time.Hour), To: day(2).Add(20 * time.Hour)}},
		{"WholeDays", store.ActivityFilter{From: day(1), To: day(3).Add(-time.Microsecond)}},
		{"DayEdgesInclusive", store.ActivityFilter{From: day(2).Add(-time.Microsecond), To: day(3)}},
		{"ExactInstant", store.ActivityFilter{From: day(0), To: day(0)}},
		// Rows sit exactly on the ends of these (see ActivityDataset).
		{"HourEdgesInclusive", store.ActivityFilter{From: day(2).Add(6 * time.Hour), To: day(2).Add(13 * time.Hour)}},
		{"HourEdgesExclusive", store.ActivityFilter{From: day(2).Add(6*time.Hour + time.Microsecond), To: day(2).Add(13*time.Hour - time.Microsecond)}},
		{"LastMicrosecondOfHours", store.ActivityFilter{From: day(1).Add(4*time.Hour - time.Microsecond), To: day(1).Add(18*time.Hour - time.Microsecond)}},
		{"InsideOneHour", store.ActivityFilter{From: day(0).Add(17 * time.Hour), To: day(0).Add(17*time.Hour + 59*time.Minute)}},
		{"PartialHoursSeveralDays", store.ActivityFilter{From: day(0).Add(23*time.Hour + 59*time.Minute), To: day(4).Add(time.Second)}},
		{"BeforeEverything", store.ActivityFilter{To: day(0).Add(-time.Microsecond)}},
		{"AfterEverything", store.ActivityFilter{From: day(5)}},
		{"User", store.ActivityFilter{UserID: "u2"}},
		{"UnknownUser", store.ActivityFilter{UserID: "nobody"}},
		{"Type", store.ActivityFilter{ActivityType: "generate_report"}},
		{"Client", store.ActivityFilter{ClientID: ID('c', 2)}},
		{"Report", store.ActivityFilter{ReportID: ID('a', 1)}},
		{"UserTypeRange", store.ActivityFilter{UserID: "u1", ActivityType: "login", From: day(0).Add(12 * time.Hour), To: day(4).Add(12 * time.Hour)}},
		{"ClientReportRange", store.ActivityFilter{ClientID: ID('c', 1), ReportID: ID('a', 1), From: day(1).Add(time.Hour)}},
		{"UserRangeOneDay", store.ActivityFilter{UserID: "u3", From: day(4).Add(time.Minute), To: day(4).Add(23 * time.Hour)}},
		{"NonUTCBounds", store.ActivityFilter{From: day(1).Add(7 * time.Hour).In(newYork()), To: day(3).Add(22 * time.Hour).In(time.FixedZone("x", -3*3600))}},
	}
}

func testActivityListFilters(t *testing.T, s store.Store) {
	all := ActivityDataset(150)
	Seed(t, s, Dataset{Activities: all})
	for _, tc := range activityFilterCases() {
		t.Run(tc.name, func(t *testing.T) {
			want := selectActivities(all, tc.f)
			if tc.name == "ExactInstant" && len(want) < 2 {
				t.Fatalf("dataset: %d rows at the first instant, want several", len(want))
			}
			got := listAll(t, s, tc.f, 11, want)
			diff(t, "offset pages", activityIDs(want), activityIDs(got), cmpopts.EquateEmpty())
			got = cursorAll(t, s, tc.f, 11, nil)
			diff(t, "cursor pages", activityIDs(want), activityIDs(got), cmpopts.EquateEmpty())
			// One page holding everything.
			page, err := s.ActivityList(ctx(t), store.ActivityListParams{ActivityFilter: tc.f, Limit: 1000})
			must(t, err, "ActivityList")
			if page.HasNext || page.NextCursor != "" || page.Total != int64(len(want)) {
				t.Errorf("single page: HasNext %v NextCursor %q Total %d; want false, \"\", %d", page.HasNext, page.NextCursor, page.Total, len(want))
			}
			diff(t, "single page", want, page.Activities, cmpopts.EquateEmpty())
		})
	}
}

func testActivityListDefaultLimit(t *testing.T, s store.Store) {
	all := ActivityDataset(40)
	Seed(t, s, Dataset{Activities: all})
	page, err := s.ActivityList(ctx(t), store.ActivityListParams{})
	must(t, err, "ActivityList")
	want := selectActivities(all, store.ActivityFilter{})
	diff(t, "default page", activityIDs(want[:25]), activityIDs(page.Activities))
	if !page.HasNext || page.NextCursor == "" || page.Total != 40 {
		t.Errorf("default page: HasNext %v NextCursor %q Total %d; want true, a cursor, 40", page.HasNext, page.NextCursor, page.Total)
	}
	// An offset past the end is an empty page with the exact total.
	page, err = s.ActivityList(ctx(t), store.ActivityListParams{Offset: 100})
	must(t, err, "ActivityList offset 100")
	if len(page.Activities) != 0 || page.HasNext || page.Total != 40 {
		t.Errorf("offset past the end: %d rows, HasNext %v, Total %d; want 0, false, 40", len(page.Activities), page.HasNext, page.Total)
	}
}

func testActivityListBadParams(t *testing.T, s store.Store) {
	Seed(t, s, Dataset{Activities: ActivityDataset(5)})
	valid := storedriver.EncodeCursor(ActivityDatasetStart, ID('f', 1))
	cases := []struct {
		name  string
		p     store.ActivityListParams
		field string
	}{
		{"CursorNotBase64", store.ActivityListParams{Cursor: "%%% not a cursor"}, "cursor"},
		{"CursorGarbage", store.ActivityListParams{Cursor: "aGVsbG8"}, "cursor"},
		{"CursorBadID", store.ActivityListParams{Cursor: valid[:len(valid)-4]}, "cursor"},
		{"NegativeLimit", store.ActivityListParams{Limit: -1}, "limit"},
		{"LimitTooLarge", store.ActivityListParams{Limit: 1001}, "limit"},
		{"NegativeOffset", store.ActivityListParams{Offset: -1}, "offset"},
		{"OffsetWithCursor", store.ActivityListParams{Offset: 5, Cursor: valid}, "offset"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.ActivityList(ctx(t), tc.p)
			wantValidation(t, err, tc.field, false)
		})
	}
	// Malformed ids in the filter are refused; upper-case ones match.
	for _, tc := range []struct {
		f     store.ActivityFilter
		field string
	}{
		{store.ActivityFilter{ClientID: "acme"}, "client_id"},
		{store.ActivityFilter{ReportID: "1234"}, "report_id"},
	} {
		_, err := s.ActivityList(ctx(t), store.ActivityListParams{ActivityFilter: tc.f})
		wantValidation(t, err, tc.field, false)
	}
	for _, f := range []store.ActivityFilter{{ClientID: strings.ToUpper(ID('c', 1))}, {ReportID: strings.ToUpper(ID('a', 1))}} {
		page, err := s.ActivityList(ctx(t), store.ActivityListParams{ActivityFilter: f})
		must(t, err, "ActivityList with an upper-case id")
		lower := store.ActivityFilter{ClientID: strings.ToLower(f.ClientID), ReportID: strings.ToLower(f.ReportID)}
		if want := len(selectActivities(ActivityDataset(5), lower)); want == 0 || len(page.Activities) != want {
			t.Errorf("filter %+v: %d rows, want %d", f, len(page.Activities), want)
		}
	}

	// A well-formed cursor of a row that does not exist still pages.
	page, err := s.ActivityList(ctx(t), store.ActivityListParams{Cursor: storedriver.EncodeCursor(ActivityDatasetStart.AddDate(1, 0, 0), ID('f', 9))})
	must(t, err, "ActivityList with a foreign cursor")
	if len(page.Activities) != 5 {
		t.Errorf("foreign cursor after every row: %d rows, want 5", len(page.Activities))
	}
}

func testActivityCursorTies(t *testing.T, s store.Store) {
	at := ts("2025-03-04T12:00:00Z")
	var all []store.Activity
	for i := range 30 {
		all = append(all, store.Activity{
			ID:           fmt.Sprintf("%08x-0000-4000-8000-%012x", (i*104729)%65537, i),
			UserID:       "u1",
			ActivityType: "login",
			CreatedAt:    at,
		})
	}
	// Rows just before and after the tied block.
	all = append(all,
		store.Activity{ID: ID('b', 1), ActivityType: "login", CreatedAt: at.Add(time.Microsecond)},
		store.Activity{ID: ID('b', 2), ActivityType: "login", CreatedAt: at.Add(-time.Microsecond)})
	// The same instants for a second user, whose rows interleave by id.
	for i := range 12 {
		all = append(all, store.Activity{
			ID:           fmt.Sprintf("%08x-0000-4000-8000-%012x", (i*7919)%65537, 100+i),
			UserID:       "u2",
			ActivityType: "logout",
			CreatedAt:    at.Add(time.Duration(i%3-1) * time.Microsecond),
		})
	}
	Seed(t, s, Dataset{Activities: all})
	// Unfiltered pages come in the primary key's order; a user's pages
	// and a type's come from their own indexes, which need not hold the
	// id: the ties must come in id order all the same.
	for _, f := range []store.ActivityFilter{{}, {UserID: "u1"}, {UserID: "u2"}, {ActivityType: "logout"},
		{UserID: "u1", From: at.Add(-time.Microsecond), To: at}} {
		want := selectActivities(all, f)
		for _, limit := range []int{1, 4, 7, 30, 32} {
			got := cursorAll(t, s, f, limit, nil)
			diff(t, fmt.Sprintf("%+v, limit %d", f, limit), activityIDs(want), activityIDs(got))
			got = listAll(t, s, f, limit, want)
			diff(t, fmt.Sprintf("%+v, limit %d, offsets", f, limit), activityIDs(want), activityIDs(got))
		}
	}
	// An offset at or past the end of a user's activities is an empty
	// page that still has the user's total.
	for _, offset := range []int{30, 31, 1000} {
		page, err := s.ActivityList(ctx(t), store.ActivityListParams{ActivityFilter: store.ActivityFilter{UserID: "u1"},
			Limit: 5, Offset: offset})
		must(t, err, fmt.Sprintf("ActivityList u1 offset %d", offset))
		if len(page.Activities) != 0 || page.HasNext || page.Total != 30 {
			t.Errorf("u1 offset %d: %d rows, HasNext %v, Total %d; want none, false, 30", offset,
				len(page.Activities), page.HasNext, page.Total)
		}
	}
}

func testActivityCursorWhileInserting(t *testing.T, s store.Store) {
	all := ActivityDataset(60)
	Seed(t, s, Dataset{Activities: all})
	want := selectActivities(all, store.ActivityFilter{})
	newer := ActivityDatasetStart.AddDate(0, 1, 0)
	inserted := 0
	got := cursorAll(t, s, store.ActivityFilter{}, 8, func(page int) {
		batch := make([]store.Activity, 3)
		for i := range batch {
			batch[i] = store.Activity{UserID: "u9", ActivityType: "login", CreatedAt: newer.Add(time.Duration(page*3+i) * time.Second)}
		}
		must(t, s.ActivityInsertMany(ctx(t), batch), "ActivityInsertMany between pages")
		inserted += len(batch)
	})
	diff(t, "pages while inserting newer rows", activityIDs(want), activityIDs(got))
	page, err := s.ActivityList(ctx(t), store.ActivityListParams{Limit: 1})
	must(t, err, "ActivityList")
	if page.Total != int64(len(all)+inserted) {
		t.Errorf("Total = %d, want %d", page.Total, len(all)+inserted)
	}
}

func testActivityTotalAfterErase(t *testing.T, s store.Store) {
	all := ActivityDataset(150)
	Seed(t, s, Dataset{Activities: all})
	cutoff := ActivityDatasetStart.AddDate(0, 0, 1).Add(10*time.Hour + 30*time.Minute)
	n, err := s.ActivityDeleteBefore(ctx(t), cutoff, 7)
	must(t, err, "ActivityDeleteBefore")
	var left []store.Activity
	for _, a := range all {
		if !a.CreatedAt.Before(cutoff) {
			left = append(left, a)
		}
	}
	if n != int64(len(all)-len(left)) {
		t.Errorf("ActivityDeleteBefore deleted %d, want %d", n, len(all)-len(left))
	}
	n, err = s.ActivityDeleteByUser(ctx(t), "u3")
	must(t, err, "ActivityDeleteByUser")
	final := withoutUser(left, "u3")
	if n != int64(len(left)-len(final)) {
		t.Errorf("ActivityDeleteByUser deleted %d, want %d", n, len(left)-len(final))
	}
	for _, tc := range activityFilterCases() {
		t.Run(tc.name, func(t *testing.T) {
			want := selectActivities(final, tc.f)
			page, err := s.ActivityList(ctx(t), store.ActivityListParams{ActivityFilter: tc.f, Limit: 5})
			must(t, err, "ActivityList")
			if page.Total != int64(len(want)) {
				t.Errorf("Total = %d, want %d", page.Total, len(want))
			}
			got := cursorAll(t, s, tc.f, 17, nil)
			diff(t, "rows", activityIDs(want), activityIDs(got), cmpopts.EquateEmpty())
			sum, err := s.ActivitySummary(ctx(t), store.ActivitySummaryParams{ActivityFilter: tc.f, GroupBy: store.GroupByDay})
			must(t, err, "ActivitySummary")
			if sum.Total != int64(len(want)) {
				t.Errorf("summary Total = %d, want %d", sum.Total, len(want))
			}
		})
	}
}

func testActivityIterate(t *testing.T, s store.Store) {
	all := ActivityDataset(80)
	Seed(t, s, Dataset{Activities: all})
	for _, f := range []store.ActivityFilter{{}, {UserID: "u1"}, {From: ActivityDatasetStart.Add(30 * time.Hour), To: ActivityDatasetStart.Add(70 * time.Hour), ActivityType: "login"}} {
		var got []store.Activity
		must(t, s.ActivityIterate(ctx(t), f, func(a *store.Activity) error {
			got = append(got, *a)
			return nil
		}), "ActivityIterate")
		diff(t, fmt.Sprintf("iterate %+v", f), selectActivities(all, f), got, cmpopts.EquateEmpty())
	}

	// A context cancelled while iterating stops the iteration.
	c, cancel := context.WithCancel(ctx(t))
	defer cancel()
	calls := 0
	err := s.ActivityIterate(c, store.ActivityFilter{}, func(*store.Activity) error {
		calls++
		if calls == 3 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("ActivityIterate with a context cancelled on call 3: got error %v after %d of %d rows, want one wrapping context.Canceled", err, calls, len(all))
	}
	if calls != 3 {
		t.Errorf("ActivityIterate delivered %d rows, want none after the context was cancelled on call 3", calls)
	}

	errStop := errors.New("stop here")
	calls = 0
	err = s.ActivityIterate(ctx(t), store.ActivityFilter{}, func(*store.Activity) error {
		calls++
		if calls == 5 {
			return errStop
		}
		return nil
	})
	wantIs(t, err, errStop, "ActivityIterate stopped by fn")
	if calls != 5 {
		t.Errorf("fn called %d times after returning an error on call 5", calls)
	}
}

// testActivityIteratePages iterates over more than two pages of
// store.IteratePageSize rows, with ties of created_at across each page
// boundary, and while rows are inserted between pages: every row present
// from the start is delivered once, in order.
func testActivityIteratePages(t *testing.T, s store.Store) {
	at := ts("2025-03-04T12:00:00Z")
	n := 2*store.IteratePageSize + 7
	all := make([]store.Activity, n)
	for i := range all {
		// Blocks of 10 rows share a timestamp, so page boundaries fall
		// inside a block.
		all[i] = store.Activity{ID: fmt.Sprintf("%08x-0000-4000-8000-%012x", (i*104729)%65537, i), UserID: "u1",
			ActivityType: "login", CreatedAt: at.Add(time.Duration(i/10) * time.Second)}
	}
	Seed(t, s, Dataset{Activities: all})
	want := selectActivities(all, store.ActivityFilter{UserID: "u1"})
	var got []store.Activity
	inserted := false
	must(t, s.ActivityIterate(ctx(t), store.ActivityFilter{UserID: "u1"}, func(a *store.Activity) error {
		got = append(got, *a)
		if len(got) == store.IteratePageSize+1 && !inserted {
			// A row newer than all and one older than all, between pages.
			inserted = true
			return s.ActivityInsertMany(ctx(t), []store.Activity{
				{ID: ID('e', 1), UserID: "u1", ActivityType: "login", CreatedAt: at.Add(time.Hour * 24)},
				{ID: ID('e', 2), UserID: "u1", ActivityType: "login", CreatedAt: at.Add(-time.Hour)},
			})
		}
		return nil
	}), "ActivityIterate")
	ids := activityIDs(got)
	if len(ids) > 0 && ids[len(ids)-1] == ID('e', 2) {
		ids = ids[:len(ids)-1] // the older row may be seen: it sorts after the cursor
	}
	diff(t, "iterate across pages", activityIDs(want), ids)
}

// summaryOf is the reference model of ActivitySummary.
func summaryOf(all []store.Activity, p store.ActivitySummaryParams) *store.ActivitySummary {
	rows := selectActivities(all, p.ActivityFilter)
	out := &store.ActivitySummary{Total: int64(len(rows))}
	counts := map[string]int64{}
	latest := map[string]store.Activity{}
	for _, a := range rows {
		var key string
		switch p.GroupBy {
		case store.GroupByType:
			key = a.ActivityType
		case store.GroupByUser:
			if a.UserID == "" {
				continue
			}
			key = a.UserID
			if l, ok := latest[key]; !ok || newestFirst(a, l) < 0 {
				latest[key] = a
			}
		case store.GroupByDay:
			loc := p.Location
			if loc == nil {
				loc = time.UTC
			}
			key = a.CreatedAt.In(loc).Format(time.DateOnly)
		}
		counts[key]++
	}
	for k, n := range counts {
		r := store.SummaryRow{Count: n}
		switch p.GroupBy {
		case store.GroupByType:
			r.ActivityType = k
		case store.GroupByUser:
			r.UserID, r.Username = k, latest[k].Username
		case store.GroupByDay:
			r.Day = k
		}
		out.Rows = append(out.Rows, r)
	}
	key := func(r store.SummaryRow) string { return r.ActivityType + r.UserID + r.Day }
	slices.SortFunc(out.Rows, func(a, b store.SummaryRow) int {
		if p.GroupBy != store.GroupByDay && a.Count != b.Count {
			if a.Count > b.Count {
				return -1
			}
			return 1
		}
		return strings.Compare(key(a), key(b))
	})
	if p.GroupBy == store.GroupByUser && p.Limit > 0 && len(out.Rows) > p.Limit {
		out.Rows = out.Rows[:p.Limit]
	}
	return out
}

func checkSummaries(t *testing.T, s store.Store, all []store.Activity, ps []store.ActivitySummaryParams) {
	t.Helper()
	for i, p := range ps {
		got, err := s.ActivitySummary(ctx(t), p)
		must(t, err, "ActivitySummary")
		want := summaryOf(all, p)
		diff(t, fmt.Sprintf("summary %d (%+v)", i, p.ActivityFilter), want, got, cmpopts.EquateEmpty())
	}
}

func testSummaryByType(t *testing.T, s store.Store) {
	all := ActivityDataset(150)
	Seed(t, s, Dataset{Activities: all})
	// Hand-checked ordering: counts descending, ties by type ascending.
	extra := []store.Activity{
		{ActivityType: "zz_tie", CreatedAt: ts("2025-04-01T00:00:00Z")},
		{ActivityType: "aa_tie", CreatedAt: ts("2025-04-01T00:00:00Z")},
		{ActivityType: "mm_two", CreatedAt: ts("2025-04-01T00:00:00Z")},
		{ActivityType: "mm_two", CreatedAt: ts("2025-04-01T00:00:01Z")},
	}
	must(t, s.ActivityInsertMany(ctx(t), slices.Clone(extra)), "ActivityInsertMany")
	got, err := s.ActivitySummary(ctx(t), store.ActivitySummaryParams{GroupBy: store.GroupByType, ActivityFilter: store.ActivityFilter{From: ts("2025-04-01T00:00:00Z")}})
	must(t, err, "ActivitySummary")
	diff(t, "summary by type", &store.ActivitySummary{Total: 4, Rows: []store.SummaryRow{
		{ActivityType: "mm_two", Count: 2}, {ActivityType: "aa_tie", Count: 1}, {ActivityType: "zz_tie", Count: 1},
	}}, got)

	// Limit only applies to GroupByUser.
	got, err = s.ActivitySummary(ctx(t), store.ActivitySummaryParams{GroupBy: store.GroupByType, Limit: 1, ActivityFilter: store.ActivityFilter{From: ts("2025-04-01T00:00:00Z")}})
	must(t, err, "ActivitySummary with a limit")
	if len(got.Rows) != 3 {
		t.Errorf("GroupByType with Limit 1: %d rows, want 3 (Limit ignored)", len(got.Rows))
	}
	// The zero GroupBy groups by type; unknown groupings are refused.
	byType, err := s.ActivitySummary(ctx(t), store.ActivitySummaryParams{GroupBy: store.GroupByType})
	must(t, err, "ActivitySummary")
	zero, err := s.ActivitySummary(ctx(t), store.ActivitySummaryParams{})
	must(t, err, "ActivitySummary with a zero GroupBy")
	diff(t, "zero GroupBy", byType, zero)
	for _, g := range []store.SummaryGroup{"hour", "user_id", "Day"} {
		_, err = s.ActivitySummary(ctx(t), store.ActivitySummaryParams{GroupBy: g})
		wantValidation(t, err, "group_by", false)
	}

	all = append(all, extra...)
	var ps []store.ActivitySummaryParams
	for _, tc := range activityFilterCases() {
		ps = append(ps, store.ActivitySummaryParams{ActivityFilter: tc.f, GroupBy: store.GroupByType})
	}
	checkSummaries(t, s, all, ps)
}

func testSummaryByUser(t *testing.T, s store.Store) {
	all := ActivityDataset(150)
	Seed(t, s, Dataset{Activities: all})
	// Every user has 30 rows: ties broken by user id; u5 leads with 31
	// rows and has changed username.
	extra := []store.Activity{{UserID: "u5", Username: "old", ActivityType: "login", CreatedAt: ActivityDatasetStart}}
	for i := range 30 {
		extra = append(extra, store.Activity{UserID: "u5", Username: "new", ActivityType: "login", CreatedAt: ActivityDatasetStart.Add(time.Duration(i+1) * time.Hour)})
	}
	must(t, s.ActivityInsertMany(ctx(t), slices.Clone(extra)), "ActivityInsertMany")
	got, err := s.ActivitySummary(ctx(t), store.ActivitySummaryParams{GroupBy: store.GroupByUser, Limit: 3})
	must(t, err, "ActivitySummary")
	type row struct {
		UserID, Username string
		Count            int64
	}
	var gotRows []row
	for _, r := range got.Rows {
		gotRows = append(gotRows, row{r.UserID, r.Username, r.Count})
	}
	if got.Total != 181 {
		t.Errorf("Total = %d, want 181 (anonymous rows included)", got.Total)
	}
	diff(t, "top 3 users", []row{{"u5", "new", 31}, {"u1", latestUsername(all, "u1"), 30}, {"u2", latestUsername(all, "u2"), 30}}, gotRows)

	all = append(all, extra...)
	var ps []store.ActivitySummaryParams
	for _, tc := range activityFilterCases() {
		ps = append(ps, store.ActivitySummaryParams{ActivityFilter: tc.f, GroupBy: store.GroupByUser},
			store.ActivitySummaryParams{ActivityFilter: tc.f, GroupBy: store.GroupByUser, Limit: 2})
	}
	checkSummaries(t, s, all, ps)
}

// testCountsOverMonths checks summaries and totals over ranges of many
// weeks, which drivers may answer from counters coarser than a day, before
// and after retention and erasure take rows out of the middle of them.
func testCountsOverMonths(t *testing.T, s store.Store) {
	start := ts("2025-01-01T00:00:00Z")
	// 32-day blocks of unix days, a coarse unit a driver may keep: the
	// ranges end on, just before and just after their edges too.
	block := func(k int64) time.Time { return time.Unix(k*32*86400, 0).UTC() }
	var all []store.Activity
	for i := range 400 {
		at := start.Add(time.Duration(i)*11*time.Hour + time.Duration(i%7)*time.Minute)
		user := activityUsers[i%len(activityUsers)]
		if i%9 == 0 {
			user = ""
		}
		all = append(all, store.Activity{ID: fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i), UserID: user,
			Username: user, ActivityType: []string{"login", "view_report", "export"}[i%3], CreatedAt: at})
	}
	for k := int64(629); k <= 634; k++ { // rows on both sides of the block edges in 2025
		all = append(all,
			store.Activity{ID: fmt.Sprintf("%08x-0000-4000-8000-%012x", k, 1000+k), UserID: "u1", Username: "u1", ActivityType: "login", CreatedAt: block(k)},
			store.Activity{ID: fmt.Sprintf("%08x-0000-4000-8000-%012x", k, 2000+k), UserID: "u2", Username: "u2", ActivityType: "login", CreatedAt: block(k).Add(-time.Microsecond)})
	}
	Seed(t, s, Dataset{Activities: slices.Clone(all)})
	filters := []store.ActivityFilter{
		{},
		{From: block(630)},
		{To: block(632).Add(-time.Microsecond)},
		{From: block(630), To: block(633).Add(-time.Microsecond)},
		{From: block(630).Add(-time.Microsecond), To: block(633)},
		{From: block(630).Add(time.Microsecond), To: block(633).Add(-2 * time.Microsecond)},
		{From: block(629).Add(13*time.Hour + 5*time.Minute), To: block(633).Add(-17*time.Hour - 3*time.Second)},
		{From: block(630).AddDate(0, 0, 3), To: block(631).AddDate(0, 0, 29)},
		{From: start.AddDate(0, 1, 0)},
		{UserID: "u1"},
		{UserID: "u2", From: block(630).Add(-time.Hour), To: block(633).Add(time.Hour)},
		{UserID: "u3", From: block(631).AddDate(0, 0, -40)},
		{ActivityType: "login", From: block(630), To: block(633)},
	}
	check := func(stage string, all []store.Activity) {
		t.Helper()
		var ps []store.ActivitySummaryParams
		for _, f := range filters {
			ps = append(ps, store.ActivitySummaryParams{ActivityFilter: f, GroupBy: store.GroupByUser},
				store.ActivitySummaryParams{ActivityFilter: f, GroupBy: store.GroupByType})
			page, err := s.ActivityList(ctx(t), store.ActivityListParams{ActivityFilter: f, Limit: 1})
			must(t, err, "ActivityList")
			if want := int64(len(selectActivities(all, f))); page.Total != want {
				t.Errorf("%s: total of %+v = %d, want %d", stage, f, page.Total, want)
			}
		}
		checkSummaries(t, s, all, ps)
	}
	check("seeded", all)

	cutoff := block(630).AddDate(0, 0, 11).Add(7 * time.Hour)
	_, err := s.ActivityDeleteBefore(ctx(t), cutoff, 50)
	must(t, err, "ActivityDeleteBefore")
	all = slices.DeleteFunc(all, func(a store.Activity) bool { return a.CreatedAt.Before(cutoff) })
	check("after retention", all)

	_, err = s.ActivityDeleteByUser(ctx(t), "u2")
	must(t, err, "ActivityDeleteByUser")
	all = withoutUser(all, "u2")
	check("after erasure", all)

	more := []store.Activity{{UserID: "u2", Username: "u2", ActivityType: "login", CreatedAt: block(632).Add(time.Hour)},
		{UserID: "u4", Username: "u4", ActivityType: "export", CreatedAt: block(631).Add(-time.Hour)}}
	must(t, s.ActivityInsertMany(ctx(t), slices.Clone(more)), "ActivityInsertMany")
	check("after more", append(all, more...))
}

// latestUsername is the username of the newest activity of user.
func latestUsername(all []store.Activity, user string) string {
	rows := selectActivities(all, store.ActivityFilter{UserID: user})
	if len(rows) == 0 {
		return ""
	}
	return rows[0].Username
}

func testSummaryByDay(t *testing.T, s store.Store) {
	all := ActivityDataset(150)
	Seed(t, s, Dataset{Activities: all})
	var ps []store.ActivitySummaryParams
	for _, tc := range activityFilterCases() {
		ps = append(ps,
			store.ActivitySummaryParams{ActivityFilter: tc.f, GroupBy: store.GroupByDay},
			store.ActivitySummaryParams{ActivityFilter: tc.f, GroupBy: store.GroupByDay, Location: newYork()},
			store.ActivitySummaryParams{ActivityFilter: tc.f, GroupBy: store.GroupByDay, Location: time.FixedZone("UTC+5:30", 5*3600+1800)})
	}
	checkSummaries(t, s, all, ps)
}

func testSummaryByDayDST(t *testing.T, s store.Store) {
	at := []string{
		"2025-03-09T04:30:00Z", // 23:30 EST on 03-08
		"2025-03-09T05:30:00Z", // 00:30 EST on 03-09
		"2025-03-10T03:30:00Z", // 23:30 EDT on 03-09
		"2025-03-10T04:30:00Z", // 00:30 EDT on 03-10
		"2025-11-02T03:30:00Z", // 23:30 EDT on 11-01
		"2025-11-02T04:30:00Z", // 00:30 EDT on 11-02
		"2025-11-02T05:30:00Z", // 01:30 EDT on 11-02
		"2025-11-02T06:30:00Z", // 01:30 EST on 11-02 (the repeated hour)
		"2025-11-03T04:30:00Z", // 23:30 EST on 11-02
		"2025-11-03T05:30:00Z", // 00:30 EST on 11-03
	}
	var acts []store.Activity
	for _, s := range at {
		acts = append(acts, store.Activity{UserID: "u1", ActivityType: "login", CreatedAt: ts(s)})
	}
	Seed(t, s, Dataset{Activities: acts})
	got, err := s.ActivitySummary(ctx(t), store.ActivitySummaryParams{GroupBy: store.GroupByDay, Location: newYork()})
	must(t, err, "ActivitySummary")
	diff(t, "days in America/New_York", &store.ActivitySummary{Total: 10, Rows: []store.SummaryRow{
		{Day: "2025-03-08", Count: 1},
		{Day: "2025-03-09", Count: 2},
		{Day: "2025-03-10", Count: 1},
		{Day: "2025-11-01", Count: 1},
		{Day: "2025-11-02", Count: 4},
		{Day: "2025-11-03", Count: 1},
	}}, got)

	got, err = s.ActivitySummary(ctx(t), store.ActivitySummaryParams{GroupBy: store.GroupByDay})
	must(t, err, "ActivitySummary")
	diff(t, "days in UTC (nil location)", &store.ActivitySummary{Total: 10, Rows: []store.SummaryRow{
		{Day: "2025-03-09", Count: 2},
		{Day: "2025-03-10", Count: 2},
		{Day: "2025-11-02", Count: 4},
		{Day: "2025-11-03", Count: 2},
	}}, got)

	// A local-day range: 2025-11-02 in New York is [04:00Z, 05:00Z next day).
	ny := newYork()
	got, err = s.ActivitySummary(ctx(t), store.ActivitySummaryParams{GroupBy: store.GroupByDay, Location: ny, ActivityFilter: store.ActivityFilter{
		From: time.Date(2025, 11, 2, 0, 0, 0, 0, ny), To: time.Date(2025, 11, 3, 0, 0, 0, 0, ny).Add(-time.Microsecond),
	}})
	must(t, err, "ActivitySummary")
	diff(t, "2025-11-02 in America/New_York", &store.ActivitySummary{Total: 4, Rows: []store.SummaryRow{{Day: "2025-11-02", Count: 4}}}, got)
}

func testDistinctUsers(t *testing.T, s store.Store) {
	all := ActivityDataset(150)
	Seed(t, s, Dataset{Activities: all})
	for _, since := range []time.Time{{}, ActivityDatasetStart, ActivityDatasetStart.AddDate(0, 0, 4).Add(23 * time.Hour), ActivityDatasetStart.AddDate(0, 0, 5).Add(-time.Microsecond), ActivityDatasetStart.AddDate(0, 0, 5)} {
		users := map[string]bool{}
		for _, a := range all {
			if a.UserID != "" && !a.CreatedAt.Before(since) {
				users[a.UserID] = true
			}
		}
		got, err := s.ActivityDistinctUsers(ctx(t), since)
		must(t, err, "ActivityDistinctUsers")
		if got != int64(len(users)) {
			t.Errorf("ActivityDistinctUsers(%v) = %d, want %d", since, got, len(users))
		}
	}
}

func testDeleteByUser(t *testing.T, s store.Store) {
	all := ActivityDataset(100)
	Seed(t, s, Dataset{Activities: all})
	n, err := s.ActivityDeleteByUser(ctx(t), "u2")
	must(t, err, "ActivityDeleteByUser")
	want := withoutUser(all, "u2")
	if n != int64(len(all)-len(want)) {
		t.Errorf("deleted %d, want %d", n, len(all)-len(want))
	}
	got := listAll(t, s, store.ActivityFilter{}, 1000, want)
	diff(t, "rows left", activityIDs(selectActivities(want, store.ActivityFilter{})), activityIDs(got))

	n, err = s.ActivityDeleteByUser(ctx(t), "nobody")
	must(t, err, "ActivityDeleteByUser(nobody)")
	if n != 0 {
		t.Errorf("deleting an unknown user's activity: %d rows, want 0", n)
	}
	n, err = s.ActivityDeleteByUser(ctx(t), "u2")
	must(t, err, "ActivityDeleteByUser again")
	if n != 0 {
		t.Errorf("deleting again: %d rows, want 0", n)
	}
}

func testDeleteBefore(t *testing.T, s store.Store) {
	all := ActivityDataset(150)
	Seed(t, s, Dataset{Activities: all})
	// The cutoff is the created_at of a stored row: that row is kept.
	sorted := selectActivities(all, store.ActivityFilter{})
	cutoff := sorted[len(sorted)/2].CreatedAt
	var want []store.Activity
	for _, a := range all {
		if !a.CreatedAt.Before(cutoff) {
			want = append(want, a)
		}
	}
	n, err := s.ActivityDeleteBefore(ctx(t), cutoff, 7)
	must(t, err, "ActivityDeleteBefore")
	if n != int64(len(all)-len(want)) {
		t.Errorf("deleted %d, want %d", n, len(all)-len(want))
	}
	got := listAll(t, s, store.ActivityFilter{}, 1000, want)
	diff(t, "rows left", activityIDs(selectActivities(want, store.ActivityFilter{})), activityIDs(got))

	_, err = s.ActivityDeleteBefore(ctx(t), ActivityDatasetStart.AddDate(1, 0, 0), -1)
	wantValidation(t, err, "batch_size", false)

	n, err = s.ActivityDeleteBefore(ctx(t), cutoff, 0)
	must(t, err, "ActivityDeleteBefore again")
	if n != 0 {
		t.Errorf("second pass deleted %d, want 0", n)
	}
	n, err = s.ActivityDeleteBefore(ctx(t), ActivityDatasetStart.AddDate(1, 0, 0), 0)
	must(t, err, "ActivityDeleteBefore everything")
	if n != int64(len(want)) {
		t.Errorf("deleting everything: %d, want %d", n, len(want))
	}
	page, err := s.ActivityList(ctx(t), store.ActivityListParams{})
	must(t, err, "ActivityList")
	if page.Total != 0 || len(page.Activities) != 0 {
		t.Errorf("after deleting everything: Total %d, %d rows", page.Total, len(page.Activities))
	}
}

// testActivitySubMicrosecondBounds: stored times have microsecond
// precision, and a bound between two microseconds still means
// "created_at >= From" and "created_at <= To".
func testActivitySubMicrosecondBounds(t *testing.T, s store.Store) {
	at := ts("2025-03-03T10:00:00.000001Z")
	must(t, s.ActivityInsertMany(ctx(t), []store.Activity{{UserID: "u", ActivityType: "login", CreatedAt: at}}), "ActivityInsertMany")
	for _, tc := range []struct {
		name     string
		from, to time.Time
		want     int64
	}{
		{"FromJustAfter", at.Add(500 * time.Nanosecond), time.Time{}, 0},
		{"FromJustBefore", at.Add(-500 * time.Nanosecond), time.Time{}, 1},
		{"ToJustBefore", time.Time{}, at.Add(-500 * time.Nanosecond), 0},
		{"ToJustAfter", time.Time{}, at.Add(500 * time.Nanosecond), 1},
	} {
		f := store.ActivityFilter{From: tc.from, To: tc.to}
		page, err := s.ActivityList(ctx(t), store.ActivityListParams{ActivityFilter: f})
		must(t, err, tc.name+": ActivityList")
		if page.Total != tc.want || int64(len(page.Activities)) != tc.want {
			t.Errorf("%s: Total %d, %d activities; want %d", tc.name, page.Total, len(page.Activities), tc.want)
		}
	}
}

// withoutUser returns the activities of acts not by user, in order, in a
// new slice.
func withoutUser(acts []store.Activity, user string) []store.Activity {
	return slices.DeleteFunc(slices.Clone(acts), func(a store.Activity) bool { return a.UserID == user })
}
