package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// chromiumPath finds Debian's chromium. Browser tests skip without it
// locally and fail in CI (where .ci/run installs it).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed: browser tests must run in CI (apt-get install chromium)")
	}
	t.Skip("chromium is not installed; skipping the browser test (apt-get install chromium)")
	return ""
}

// testOutputDir is where screenshots go: $TEST_OUTPUT_DIR when set, else a
// temporary directory.
func testOutputDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("TEST_OUTPUT_DIR"); d != "" {
		dir := filepath.Join(d, "dashboard")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	return t.TempDir()
}

// pageWatch collects what a browser tab must not do: console errors,
// uncaught exceptions, failed requests and requests to another origin.
type pageWatch struct {
	mu       sync.Mutex
	origin   string
	problems []string
	requests int
	bytes    float64 // transferred since the last take
}

func (w *pageWatch) add(format string, args ...any) {
	w.mu.Lock()
	w.problems = append(w.problems, fmt.Sprintf(format, args...))
	w.mu.Unlock()
}

func (w *pageWatch) listen(ev any) {
	switch e := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if e.Type == runtime.APITypeError || e.Type == runtime.APITypeWarning {
			var parts []string
			for _, a := range e.Args {
				parts = append(parts, string(a.Value))
			}
			w.add("console %s: %s", e.Type, strings.Join(parts, " "))
		}
	case *runtime.EventExceptionThrown:
		w.add("exception: %s", e.ExceptionDetails.Error())
	case *network.EventRequestWillBeSent:
		w.mu.Lock()
		w.requests++
		w.mu.Unlock()
		u, err := url.Parse(e.Request.URL)
		if err != nil || (u.Scheme != "data" && u.Scheme+"://"+u.Host != w.origin) {
			w.add("request to another origin: %s", e.Request.URL)
		}
	case *network.EventLoadingFinished:
		w.mu.Lock()
		w.bytes += e.EncodedDataLength
		w.mu.Unlock()
	case *network.EventLoadingFailed:
		if !e.Canceled {
			w.add("request failed: %s %s", e.Type, e.ErrorText)
		}
	case *network.EventResponseReceived:
		if e.Response.Status >= 400 {
			w.add("response %d for %s", e.Response.Status, e.Response.URL)
		}
	}
}

func (w *pageWatch) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	p := w.problems
	w.problems = nil
	w.bytes = 0
	return p
}

// transferred returns the bytes received since the last take.
func (w *pageWatch) transferred() float64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.bytes
}

// apiJSON gets an API route with a bearer token.
func apiJSON(t *testing.T, base, token, route string, v any) {
	t.Helper()
	code, body := request(t, "GET", base+apiPrefix+route, token, nil)
	if code != 200 {
		t.Fatalf("GET %s: %d %s", route, code, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v", route, err)
	}
}

// groupThousands writes n as the dashboard does: 12345 → "12,345".
func groupThousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// TestBrowserDashboard drives headless Chromium through the demo server:
// each role signs in with its demo token through the form, visits every
// page it may see at desktop and phone widths, and checks the figures
// against the JSON API, the console, the network and the layout.
func TestBrowserDashboard(t *testing.T) {
	chromium := chromiumPath(t)
	out := testOutputDir(t)
	db := filepath.Join(t.TempDir(), "analytics.db")
	base, _, _, _ := startServer(t, map[string]string{"ANALYTICS_LOG_LEVEL": "warn"}, "-demo", "-addr", "127.0.0.1:0", "-database", db)
	tokens := demoTokensAt(t, db)

	// A client to open, from the admin's activity.
	var acts struct {
		Activities []struct {
			ClientID *string `json:"client_id"`
		} `json:"activities"`
	}
	apiJSON(t, base, tokens["admin"], "user-activity/?limit=100", &acts)
	client := ""
	for _, a := range acts.Activities {
		if a.ClientID != nil {
			client = *a.ClientID
			break
		}
	}
	if client == "" {
		t.Fatal("no demo activity refers to a client")
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox, // root in containers
		chromedp.DisableGPU,
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("lang", "en-GB"),
	)
	for _, role := range []string{"admin", "manager", "analyst", "viewer"} {
		t.Run(role, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
			defer cancelAlloc()
			bctx, cancelB := chromedp.NewContext(alloc)
			defer cancelB()
			w := &pageWatch{origin: base}
			chromedp.ListenTarget(bctx, w.listen)

			// Sign in through the form on /.
			var heading string
			err := chromedp.Run(bctx,
				network.Enable(), runtime.Enable(),
				chromedp.EmulateViewport(1440, 900),
				chromedp.Navigate(base+"/"),
				chromedp.WaitVisible(`input[name="token"]`, chromedp.ByQuery),
				chromedp.SendKeys(`input[name="token"]`, tokens[role], chromedp.ByQuery),
				chromedp.Click(`form.signin button[type="submit"]`, chromedp.ByQuery),
				chromedp.WaitVisible(`nav[aria-label="Pages"]`, chromedp.ByQuery),
				chromedp.Text(`h1`, &heading, chromedp.ByQuery),
			)
			if err != nil {
				t.Fatalf("sign in: %v", err)
			}
			if heading != "Overview" {
				t.Errorf("after signing in: %q, want the overview", heading)
			}
			if p := w.take(); len(p) > 0 {
				t.Errorf("sign in: %s", strings.Join(p, "; "))
			}

			pages := []string{"/", "/?days=90", "/activity", "/clients", "/clients/" + client, "/cost"}
			seesHealth := role == "admin" || role == "manager"
			if seesHealth {
				pages = append(pages, "/health")
			}
			for _, path := range pages {
				name := strings.NewReplacer("/", "_", "?", "_", "=", "-").Replace(strings.Trim(path, "/"))
				if name == "" {
					name = "overview"
				}
				for _, vp := range []struct {
					w, h int64
					tag  string
				}{{1440, 900, "desktop"}, {375, 812, "phone"}} {
					var shot []byte
					var overflow bool
					var nav int
					err := chromedp.Run(bctx,
						chromedp.EmulateViewport(vp.w, vp.h),
						chromedp.Navigate(base+path),
						chromedp.WaitVisible(`main h1`, chromedp.ByQuery),
						chromedp.Evaluate(`document.documentElement.scrollWidth > window.innerWidth + 1`, &overflow),
						chromedp.Evaluate(`document.querySelectorAll('nav[aria-label="Pages"] a[href="/health"]').length`, &nav),
						chromedp.CaptureScreenshot(&shot),
					)
					if err != nil {
						t.Fatalf("%s at %s: %v", path, vp.tag, err)
					}
					if err := os.WriteFile(filepath.Join(out, fmt.Sprintf("%s-%s-%s.png", role, name, vp.tag)), shot, 0o644); err != nil {
						t.Fatal(err)
					}
					if n := w.transferred(); n > 200_000 {
						t.Errorf("%s at %s: %.0f bytes transferred, over 200 kB", path, vp.tag, n)
					}
					if overflow {
						t.Errorf("%s at %dpx: the page is wider than the screen", path, vp.w)
					}
					if (nav == 1) != seesHealth {
						t.Errorf("%s: Health link shown = %v", path, nav == 1)
					}
					if p := w.take(); len(p) > 0 {
						t.Errorf("%s at %s: %s", path, vp.tag, strings.Join(p, "; "))
					}
				}
			}
			checkDirectory(t, bctx, base, tokens[role])
			if p := w.take(); len(p) > 0 {
				t.Errorf("client directory: %s", strings.Join(p, "; "))
			}

			// Dark: the colours follow prefers-color-scheme.
			var bg string
			var dark []byte
			err = chromedp.Run(bctx,
				chromedp.EmulateViewport(1440, 900),
				emulation.SetEmulatedMedia().WithFeatures([]*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}),
				chromedp.Navigate(base+"/"),
				chromedp.WaitVisible(`main h1`, chromedp.ByQuery),
				chromedp.Evaluate(`getComputedStyle(document.body).backgroundColor`, &bg),
				chromedp.CaptureScreenshot(&dark),
				emulation.SetEmulatedMedia().WithFeatures([]*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "light"}}),
			)
			if err != nil {
				t.Fatalf("dark: %v", err)
			}
			if bg != "rgb(15, 17, 21)" {
				t.Errorf("dark background %q, want rgb(15, 17, 21)", bg)
			}
			if err := os.WriteFile(filepath.Join(out, role+"-overview-dark.png"), dark, 0o644); err != nil {
				t.Fatal(err)
			}
			checkFigures(t, bctx, base, tokens[role], role, seesHealth)
			if p := w.take(); len(p) > 0 {
				t.Errorf("figures: %s", strings.Join(p, "; "))
			}

			// Sign out: back to the sign-in page, the pages need a session again.
			var url string
			err = chromedp.Run(bctx,
				chromedp.Navigate(base+"/cost"),
				chromedp.Click(`.who form button`, chromedp.ByQuery),
				chromedp.WaitVisible(`input[name="token"]`, chromedp.ByQuery),
				chromedp.Navigate(base+"/activity"),
				chromedp.WaitVisible(`input[name="token"]`, chromedp.ByQuery),
				chromedp.Location(&url),
			)
			if err != nil {
				t.Fatalf("sign out: %v", err)
			}
			if !strings.HasSuffix(url, "/login?next=%2Factivity") {
				t.Errorf("after signing out /activity went to %s", url)
			}
			if p := w.take(); len(p) > 0 {
				t.Errorf("sign out: %s", strings.Join(p, "; "))
			}
			if w.requests == 0 {
				t.Error("no request observed: the network watch is not working")
			}
		})
	}
}

// checkFigures compares figures shown with the JSON API's for the same
// caller.
// checkDirectory checks that the Clients page lists the API's clients in
// its order and that a click on the first opens that client's page.
func checkDirectory(t *testing.T, ctx context.Context, base, token string) {
	t.Helper()
	var want []struct {
		ID          string `json:"id"`
		CompanyName string `json:"company_name"`
	}
	apiJSON(t, base, token, "clients/?limit=50", &want)
	if len(want) == 0 {
		t.Fatal("the API lists no clients")
	}
	names := func() []string {
		out := make([]string, len(want))
		for i, c := range want {
			out[i] = c.CompanyName
		}
		return out
	}
	var shown []string
	var loc, heading string
	err := chromedp.Run(ctx,
		chromedp.EmulateViewport(1440, 900),
		chromedp.Navigate(base+"/clients"),
		chromedp.WaitVisible(`#clients`, chromedp.ByQuery),
		chromedp.Evaluate(`[...document.querySelectorAll('#clients tbody th a')].map(a => a.textContent.trim())`, &shown),
		chromedp.Click(`#clients tbody th a`, chromedp.ByQuery),
		chromedp.WaitVisible(`#performance`, chromedp.ByQuery),
		chromedp.Location(&loc),
		chromedp.Text(`main h1`, &heading, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("client directory: %v", err)
	}
	if !slices.Equal(shown, names()) {
		t.Errorf("the directory lists %q, the API %q", shown, names())
	}
	if !strings.HasSuffix(loc, "/clients/"+want[0].ID) || heading != want[0].CompanyName {
		t.Errorf("a click on %s went to %s, headed %q", want[0].CompanyName, loc, heading)
	}

	// The search form finds what the API finds.
	term := strings.ToUpper(want[len(want)-1].CompanyName[1:4])
	apiJSON(t, base, token, "clients/?limit=50&search="+url.QueryEscape(term), &want)
	err = chromedp.Run(ctx,
		chromedp.Navigate(base+"/clients"),
		chromedp.WaitVisible(`input[name="search"]`, chromedp.ByQuery),
		chromedp.SendKeys(`input[name="search"]`, term, chromedp.ByQuery),
		chromedp.Click(`form[role="search"] button[type="submit"]`, chromedp.ByQuery),
		// Only the results page has the term as the field's value.
		chromedp.WaitVisible(`input[name="search"][value="`+term+`"]`, chromedp.ByQuery),
		chromedp.Evaluate(`[...document.querySelectorAll('#clients tbody th a')].map(a => a.textContent.trim())`, &shown),
	)
	if err != nil {
		t.Fatalf("client search: %v", err)
	}
	if len(want) == 0 || !slices.Equal(shown, names()) {
		t.Errorf("a search for %q shows %q, the API finds %q", term, shown, names())
	}
}

func checkFigures(t *testing.T, ctx context.Context, base, token, role string, seesHealth bool) {
	t.Helper()
	var m map[string]json.RawMessage
	apiJSON(t, base, token, "metrics/", &m)
	shown := map[string]string{}
	raw := map[string]string{}
	err := chromedp.Run(ctx,
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(`.cards`, chromedp.ByQuery),
		chromedp.Evaluate(`Object.fromEntries([...document.querySelectorAll('[data-metric]')].map(e => [e.dataset.metric, e.querySelector('.card-value').textContent.trim()]))`, &shown),
		chromedp.Evaluate(`Object.fromEntries([...document.querySelectorAll('[data-metric]')].map(e => [e.dataset.metric, e.dataset.value]))`, &raw),
	)
	if err != nil {
		t.Fatalf("overview figures: %v", err)
	}
	for _, key := range []string{"total_reports", "active_users", "activeClients", "totalRecommendations", "reportsGeneratedThisMonth"} {
		n, err := strconv.ParseInt(string(m[key]), 10, 64)
		if err != nil {
			t.Fatalf("metrics %s = %s", key, m[key])
		}
		if shown[key] != groupThousands(n) {
			t.Errorf("%s: overview shows %q, the API says %d", role, shown[key], n)
		}
	}
	for _, key := range []string{"total_cost_analyzed", "totalPotentialSavings", "success_rate", "avg_generation_time"} {
		if raw[key] != string(m[key]) {
			t.Errorf("%s: overview %s is %s, the API says %s", role, key, raw[key], m[key])
		}
	}
	for _, key := range []string{"total_cost_analyzed", "totalPotentialSavings"} {
		f, _ := strconv.ParseFloat(string(m[key]), 64)
		if want := "$" + groupThousands(int64(f)); !strings.HasPrefix(shown[key], want) {
			t.Errorf("%s: overview shows %s as %q, want %s…", role, key, shown[key], want)
		}
	}

	var page struct {
		TotalCount int64 `json:"total_count"`
	}
	apiJSON(t, base, token, "user-activity/?limit=1", &page)
	var total string
	if err := chromedp.Run(ctx, chromedp.Navigate(base+"/activity"), chromedp.Text(`#activity-total`, &total, chromedp.ByQuery)); err != nil {
		t.Fatalf("activity total: %v", err)
	}
	if total != groupThousands(page.TotalCount) {
		t.Errorf("%s: activity shows %q, the API says %d", role, total, page.TotalCount)
	}

	var cost map[string]json.RawMessage
	apiJSON(t, base, token, "cost-insights/", &cost)
	var costRaw string
	if err := chromedp.Run(ctx, chromedp.Navigate(base+"/cost"),
		chromedp.AttributeValue(`[data-metric="total_cost_analyzed"]`, "data-value", &costRaw, nil, chromedp.ByQuery)); err != nil {
		t.Fatalf("cost figures: %v", err)
	}
	if costRaw != string(cost["total_cost_analyzed"]) {
		t.Errorf("%s: cost page %s, the API says %s", role, costRaw, cost["total_cost_analyzed"])
	}

	if seesHealth {
		var h map[string]json.RawMessage
		apiJSON(t, base, token, "system-health/", &h)
		var reports string
		if err := chromedp.Run(ctx, chromedp.Navigate(base+"/health"),
			chromedp.Text(`[data-metric="total_reports"] .card-value`, &reports, chromedp.ByQuery)); err != nil {
			t.Fatalf("health figures: %v", err)
		}
		n, _ := strconv.ParseInt(string(h["total_reports"]), 10, 64)
		if reports != groupThousands(n) {
			t.Errorf("%s: health shows %q reports, the API says %d", role, reports, n)
		}
	}
}
