package webui_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/advisoranalytics/advisor-analytics/analytics/webui"
	"github.com/advisoranalytics/advisor-analytics/internal/testdb/teststore"
	"github.com/advisoranalytics/advisor-analytics/store"
)

var rowID = regexp.MustCompile(`<tr data-id="([0-9a-f-]{36})">`)

// TestClientDirectory checks that the Clients page lists every client in
// name order, 50 a page, with links to each client and between the pages.
func TestClientDirectory(t *testing.T) {
	st := teststore.SQLite(t)
	e := newEnv(t, st, webui.Config{})
	ctx := context.Background()
	for i := range 60 {
		c := store.Client{ID: fmt.Sprintf("70000000-0000-4000-8000-%012d", i), CompanyName: fmt.Sprintf("Zephyr %02d", i)}
		if err := st.ClientUpsert(ctx, &c); err != nil {
			t.Fatal(err)
		}
	}
	all, err := e.svc.Clients(ctx, e.users["admin"], "", 100, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < 51 {
		t.Fatalf("%d clients, want more than a page", len(all))
	}
	var ids []string
	for _, c := range all {
		ids = append(ids, c.ID)
	}
	page := func(path string) ([]string, string) {
		t.Helper()
		res, body := e.get(t, path, "viewer")
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d\n%s", path, res.StatusCode, body)
		}
		var got []string
		for _, m := range rowID.FindAllStringSubmatch(body, -1) {
			got = append(got, m[1])
		}
		return got, body
	}
	got, body := page("/ui/clients")
	if !slices.Equal(got, ids[:50]) {
		t.Errorf("first page lists %d clients %v, want the first 50 in name order %v", len(got), got, ids[:50])
	}
	if !strings.Contains(body, `href="/ui/clients/`+ids[0]+`">`+all[0].CompanyName+`</a>`) {
		t.Errorf("first page has no link to %s", all[0].CompanyName)
	}
	if !strings.Contains(body, `<a href="/ui/clients?offset=50" rel="next">`) || strings.Contains(body, `rel="prev"`) {
		t.Errorf("first page's pager is wrong:\n%s", body)
	}
	got, body = page("/ui/clients?offset=50")
	if !slices.Equal(got, ids[50:]) {
		t.Errorf("second page lists %v, want %v", got, ids[50:])
	}
	if !strings.Contains(body, `<a href="/ui/clients" rel="prev">`) || strings.Contains(body, `rel="next"`) {
		t.Errorf("second page's pager is wrong:\n%s", body)
	}
	got, body = page("/ui/clients?offset=500")
	if len(got) != 0 || !strings.Contains(body, "No clients on this page.") {
		t.Errorf("a page past the end lists %v", got)
	}
	if got, _ = page("/ui/clients?offset=-3"); !slices.Equal(got, ids[:50]) {
		t.Errorf("a negative offset lists %v, want the first page", got)
	}
	// A search keeps the names that contain it, ASCII letters without case,
	// and its pages keep it.
	got, body = page("/ui/clients?search=+ZEPHYR+1")
	if len(got) != 10 || !strings.Contains(body, "Clients whose name contains “ZEPHYR 1”") {
		t.Errorf("search for ZEPHYR 1 lists %d clients\n%s", len(got), body)
	}
	got, body = page("/ui/clients?search=zephyr")
	if len(got) != 50 || !strings.Contains(body, `<a href="/ui/clients?offset=50&amp;search=zephyr" rel="next">`) {
		t.Errorf("search for zephyr: %d clients, pager:\n%s", len(got), body)
	}
	if got, body = page("/ui/clients?offset=50&search=zephyr"); len(got) != 10 || !strings.Contains(body, `<a href="/ui/clients?search=zephyr" rel="prev">`) {
		t.Errorf("second page of zephyr: %d clients\n%s", len(got), body)
	}
	if got, body = page("/ui/clients?search=no+such+client"); len(got) != 0 || !strings.Contains(body, "No client's name contains “no such client”.") {
		t.Errorf("a search without results lists %v\n%s", got, body)
	}
	if res, _ := e.get(t, "/ui/clients?search="+strings.ToUpper(ids[3]), "viewer"); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/ui/clients/"+ids[3] {
		t.Errorf("searching an id: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	// A client's page names the client, for every role.
	res, body := e.get(t, "/ui/clients/"+all[0].ID, "viewer")
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "<h1>"+all[0].CompanyName+"</h1>") ||
		!strings.Contains(body, "<title>"+all[0].CompanyName) {
		t.Errorf("the page of %s: %d\n%s", all[0].CompanyName, res.StatusCode, body)
	}
	// And lists its ten newest reports, newest first.
	reports, err := e.svc.ClientRecentActivity(ctx, e.users["viewer"], all[0].ID, 10)
	if err != nil || len(reports) == 0 {
		t.Fatalf("the demo client %s has no reports (%v)", all[0].CompanyName, err)
	}
	var want, listed []string
	for _, r := range reports {
		want = append(want, r.ReportID)
	}
	for _, m := range regexp.MustCompile(`<li class="status-[a-z]+" data-id="([0-9a-f-]{36})">`).FindAllStringSubmatch(body, -1) {
		listed = append(listed, m[1])
	}
	if !slices.Equal(listed, want) {
		t.Errorf("the page of %s lists reports %v, want %v", all[0].CompanyName, listed, want)
	}
}

// TestActivityNamesClients checks that the activity page names the clients
// of its activities, and the client it is filtered by.
func TestActivityNamesClients(t *testing.T) {
	e := newEnv(t, teststore.SQLite(t), webui.Config{})
	id := e.firstClient(t)
	c, err := e.svc.Client(context.Background(), e.users["admin"], id)
	if err != nil {
		t.Fatal(err)
	}
	res, body := e.get(t, "/ui/activity?client_id="+id, "admin")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("%d\n%s", res.StatusCode, body)
	}
	if !strings.Contains(body, `<a href="/ui/clients/`+id+`">`+c.CompanyName+`</a>`) {
		t.Errorf("the activities of %s do not name it:\n%s", c.CompanyName, body)
	}
	if !strings.Contains(body, `<span class="note">Client `+c.CompanyName+`</span>`) {
		t.Errorf("the filter does not name %s", c.CompanyName)
	}
}
