package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/advisoranalytics/advisor-analytics/internal/testdb"
	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/sqlite"
)

// writeLines writes an NDJSON file of the values and returns its path.
func writeLines(t *testing.T, lines ...string) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "in.ndjson")
	if err := os.WriteFile(name, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

func activityLine(t *testing.T, i int, at time.Time) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"id": fmt.Sprintf("aaaaaaaa-0000-4000-8000-%012d", i), "user": map[string]any{"id": fmt.Sprintf("u%d", i%3), "username": fmt.Sprintf("user%d", i%3)},
		"activity_type": "login", "description": "Signed in", "metadata": map[string]any{"n": i}, "created_at": at,
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestImportActivitiesRoundTrip imports 2,500 activities in batches of
// 1,000, exports them as NDJSON, imports that export into a second
// database, and checks that both hold the same activities, on both
// stores.
func TestImportActivitiesRoundTrip(t *testing.T) {
	at := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	lines := make([]string, 0, 2501)
	for i := range 2500 {
		lines = append(lines, activityLine(t, i, at.Add(time.Duration(i)*time.Minute)))
		if i == 1200 {
			lines = append(lines, "   ") // blank lines are skipped
		}
	}
	in := writeLines(t, lines...)
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			first, second := databases(t, kind)
			code, stdout, stderr := runCmd(t, nil, "import", "-database", first, "-kind", "activities", "-batch", "1000", "-progress", "1ns", in)
			if code != 0 || !strings.Contains(stdout, "Imported 2500 activities") || !strings.Contains(stderr, "2000 activities stored, read ") {
				t.Fatalf("import: %d %q %q", code, stdout, stderr)
			}
			exported := filepath.Join(t.TempDir(), "out.ndjson")
			if code, _, stderr := runCmd(t, nil, "export", "-database", first, "-format", "ndjson", "-activity-type", "login", "-o", exported); code != 0 {
				t.Fatalf("export: %d %q", code, stderr)
			}
			if code, stdout, stderr := runCmd(t, nil, "import", "-database", second, "-kind", "activities", exported); code != 0 || !strings.Contains(stdout, "Imported 2500 activities") {
				t.Fatalf("import of the export: %d %q %q", code, stdout, stderr)
			}
			again := filepath.Join(t.TempDir(), "again.ndjson")
			if code, _, stderr := runCmd(t, nil, "export", "-database", second, "-format", "ndjson", "-activity-type", "login", "-o", again); code != 0 {
				t.Fatalf("export: %d %q", code, stderr)
			}
			a, b := readSorted(t, exported), readSorted(t, again)
			if len(a) != 2500 || !slices.Equal(a, b) {
				t.Fatalf("the copy differs: %d and %d lines", len(a), len(b))
			}
			// A second import of the same file stops at the first batch:
			// nothing is written twice.
			code, _, stderr = runCmd(t, nil, "import", "-database", first, "-kind", "activities", in)
			if code == 0 || !strings.Contains(stderr, "already stored") {
				t.Fatalf("re-import: %d %q", code, stderr)
			}
		})
	}
}

// TestImportStopsAtBadLine checks that the import names the line at
// fault, that earlier batches stay stored and the failing batch does not.
func TestImportStopsAtBadLine(t *testing.T) {
	at := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	var lines []string
	for i := range 7 {
		lines = append(lines, activityLine(t, i, at.Add(time.Duration(i)*time.Minute)))
	}
	bad := strings.Replace(activityLine(t, 7, at), `"user":{`, `"user":{"id":"","x":1,`, 1)
	cases := []struct {
		name, line, want string
	}{
		{"unknown field", bad, "line 8: not a JSON activity record"},
		{"bad ip", strings.Replace(activityLine(t, 7, at), `"login"`, `"login","ip_address":"nope"`, 1), "line 8: ip_address: "},
		{"not json", "{", "line 8: not a JSON activity record"},
		{"two values", activityLine(t, 7, at) + " {}", "line 8: more than one JSON value"},
		{"NUL", strings.Replace(activityLine(t, 7, at), "Signed in", `Signed\u0000in`, 1), "line 8: strings must not contain NUL"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db := testdb.SQLitePath(t)
			in := writeLines(t, append(slices.Clone(lines), c.line, activityLine(t, 8, at))...)
			code, _, stderr := runCmd(t, nil, "import", "-database", db, "-kind", "activities", "-batch", "3", in)
			if code != 1 || !strings.Contains(stderr, c.want) || !strings.Contains(stderr, "6 activities before the error are stored") {
				t.Fatalf("got %d %q, want %q", code, stderr, c.want)
			}
			if n := countActivities(t, db); n != 6 {
				t.Fatalf("%d activities stored, want the 6 of the first two batches", n)
			}
		})
	}
}

// TestImportWriteErrorBeforeBadLine has a batch fail in the database while
// the next one, which holds a line that does not decode, is read: the
// database's error, about the earlier lines, is the one reported.
func TestImportWriteErrorBeforeBadLine(t *testing.T) {
	at := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	var lines []string
	for i := range 6 {
		lines = append(lines, activityLine(t, i, at.Add(time.Duration(i)*time.Minute)))
	}
	lines[4] = activityLine(t, 0, at) // the id and time of line 1: a conflict in the second batch
	lines = append(lines, activityLine(t, 6, at.Add(time.Hour)), "{")
	db := testdb.SQLitePath(t)
	code, _, stderr := runCmd(t, nil, "import", "-database", db, "-kind", "activities", "-batch", "3", writeLines(t, lines...))
	if code != 1 || !strings.Contains(stderr, "lines 4 to 6: a record with the same id is already stored") ||
		!strings.Contains(stderr, "3 activities before the error are stored") {
		t.Fatalf("got %d %q", code, stderr)
	}
	if n := countActivities(t, db); n != 3 {
		t.Fatalf("%d activities stored, want the 3 of the first batch", n)
	}
}

// TestImportReports imports reports with their recommendations and
// checks the stored counts and the line of a report that fails.
func TestImportReports(t *testing.T) {
	db := testdb.SQLitePath(t)
	client := "3b241101-e2bb-4255-8caf-4136c566a962"
	var lines []string
	for i := range 5 {
		r := map[string]any{"id": fmt.Sprintf("bbbbbbbb-0000-4000-8000-%012d", i), "client_id": client, "report_type": "cost", "status": "completed",
			"recommendations": []map[string]any{{"category": "cost", "business_impact": "High", "recommendation": "Shut down idle VMs", "potential_savings": 10.5}}}
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, string(b))
	}
	st, err := sqlite.Open(context.Background(), db, sqlite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	c := store.Client{ID: client, CompanyName: "Contoso", Industry: store.IndustryTechnology, Status: store.ClientActive}
	if err := st.ClientUpsert(context.Background(), &c); err != nil {
		t.Fatal(err)
	}
	_ = st.Close()
	code, stdout, stderr := runCmd(t, nil, "import", "-database", db, "-kind", "reports", "-batch", "2", writeLines(t, lines...))
	if code != 0 || !strings.Contains(stdout, "Imported 5 reports") {
		t.Fatalf("import: %d %q %q", code, stdout, stderr)
	}
	st, err = sqlite.Open(context.Background(), db, sqlite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got, err := st.ReportRecent(context.Background(), "", 100)
	if err != nil || len(got) != 5 {
		t.Fatalf("%d reports stored (%v), want 5", len(got), err)
	}
	badClient := strings.Replace(lines[1], client, "99999999-0000-4000-8000-000000000009", 1)
	code, _, stderr = runCmd(t, nil, "import", "-database", db, "-kind", "reports", writeLines(t, lines[0], badClient))
	if code != 1 || !strings.Contains(stderr, "line 2: client_id: ") {
		t.Fatalf("bad client: %d %q", code, stderr)
	}
}

// TestImportFlags checks the flag errors.
func TestImportFlags(t *testing.T) {
	in := writeLines(t, "{}")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{in}, "-kind"},
		{[]string{"-kind", "users", in}, "unknown kind"},
		{[]string{"-kind", "reports", "-batch", "1001", in}, "-batch"},
		{[]string{"-kind", "activities"}, "exactly one FILE"},
		{[]string{"-kind", "activities", writeLines(t, "")}, "the file is empty"},
	} {
		code, _, stderr := runCmd(t, nil, append([]string{"import", "-database", testdb.SQLitePath(t)}, c.args...)...)
		if code == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("%q: %d %q, want %q", c.args, code, stderr, c.want)
		}
	}
}

// databases returns two empty databases of a kind.
func databases(t *testing.T, kind string) (string, string) {
	t.Helper()
	if kind == "sqlite" {
		return testdb.SQLitePath(t), testdb.SQLitePath(t)
	}
	return testdb.PostgresURL(t), testdb.PostgresURL(t)
}

func readSorted(t *testing.T, name string) []string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	slices.Sort(lines)
	return lines
}

func countActivities(t *testing.T, db string) int64 {
	t.Helper()
	st, err := sqlite.Open(context.Background(), db, sqlite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var n int64
	err = st.ActivityIterate(context.Background(), store.ActivityFilter{ActivityType: "login"}, func(*store.Activity) error { n++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	return n
}
