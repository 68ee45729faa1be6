package webui

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestHumanNumbers(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{thousands(0), "0"},
		{thousands(999), "999"},
		{thousands(1000), "1,000"},
		{thousands(1234567), "1,234,567"},
		{thousands(-1234567), "-1,234,567"},
		{decimalText(1234.5, 2), "1,234.50"},
		{decimalText(-0.001, 1), "0.0"},
		{decimalText(-1234.56, 1), "-1,234.6"},
		{money("$", 23854149.95), "$23,854,149.95"},
		{money("€", -12.5), "-€12.50"},
		{compactMoney("$", 1_250_000), "$1.2M"},
		{compactMoney("$", 2_000_000), "$2M"},
		{compactMoney("$", 45_000), "$45k"},
		{compactMoney("$", 950), "$950"},
		{percent(12.345), "12.3%"},
		{change(2), "+2.0%"},
		{change(-91.7), "-91.7%"},
		{change(0), "0.0%"},
		{changeClass(2) + changeClass(-1) + changeClass(0), "updownflat"},
		{bytesText(512), "512 B"},
		{bytesText(1536), "1.5 KiB"},
		{bytesText(42_570_000), "40.6 MiB"},
		{seconds(34.66), "34.7 s"},
		{seconds(185), "3 min 5 s"},
		{countTick(2.5), "2.5"},
		{countTick(1000), "1,000"},
		{titleText("download_report"), "Download report"},
		{shortID("0123456789"), "01234567…"},
		{shortDate("2025-06-15"), "15 Jun"},
		{monthLabel("2025-06"), "Jun 2025"},
		{string(breakable("$25,173,199.80")), "$25,<wbr>173,<wbr>199.80"},
		{string(breakable("<b>1,2</b>")), "&lt;b&gt;1,<wbr>2&lt;/b&gt;"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestRelativeTimes(t *testing.T) {
	now := time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		t    time.Time
		want string
	}{
		{time.Time{}, "never"},
		{now.Add(-30 * time.Second), "just now"},
		{now.Add(-time.Minute), "1 minute ago"},
		{now.Add(-5 * time.Minute), "5 minutes ago"},
		{now.Add(-3 * time.Hour), "3 hours ago"},
		{now.Add(-49 * time.Hour), "2 days ago"},
		{now.Add(90 * time.Minute), "in 1 hour"},
		{now.AddDate(0, -2, 0), "15 Apr 2025"},
	} {
		if got := relative(tc.t, now, time.UTC); got != tc.want {
			t.Errorf("relative(%v) = %q, want %q", tc.t, got, tc.want)
		}
	}
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skip("no time zone database")
	}
	if got := exactTime(now, paris); got != "Sun 15 Jun 2025 14:00:00 CEST" {
		t.Errorf("exactTime = %q", got)
	}
}

func TestCharts(t *testing.T) {
	pts := []point{{"1 Jun", 3, "3 reports"}, {"2 Jun", 0, "0 reports"}, {"3 Jun", 7, "7 reports <b>"}}
	for name, svg := range map[string]string{
		"bar":  string(barChart("c", "Reports & more", pts, countTick)),
		"line": string(lineChart("c", "Reports & more", pts, countTick)),
	} {
		if !strings.HasPrefix(svg, `<svg class="chart" id="c" viewBox="0 0 720 240" role="img" aria-labelledby="c-title">`) {
			t.Errorf("%s: %.120s", name, svg)
		}
		if !strings.Contains(svg, `<title id="c-title">Reports &amp; more</title>`) || !strings.Contains(svg, "3 Jun: 7 reports &lt;b&gt;") {
			t.Errorf("%s: titles not escaped or missing", name)
		}
		if !strings.Contains(svg, `>10</text>`) { // the axis tops at a round 10
			t.Errorf("%s: no axis at 10", name)
		}
	}
	if n := strings.Count(string(barChart("c", "t", pts, countTick)), `class="bar"`); n != 3 {
		t.Errorf("%d bars, want 3", n)
	}
	if got := string(meter(150, "#10b981")); !strings.Contains(got, `fill="#10b981" width="100.00"`) {
		t.Errorf("meter: %s", got)
	}
	if got := string(meter(20, `red" onload="x`)); strings.Contains(got, "onload") {
		t.Errorf("meter accepted a bad colour: %s", got)
	}
	for max, want := range map[float64]float64{0: 1, 3: 5, 8: 10, 11: 20, 240: 250, 0.3: 0.5} {
		if got := niceMax(max); got != want {
			t.Errorf("niceMax(%v) = %v, want %v", max, got, want)
		}
	}
}

func TestClientNameCache(t *testing.T) {
	var c clientNameCache
	if _, ok := c.get("a"); ok {
		t.Fatal("an empty cache has a name")
	}
	c.put("a", "Adatum")
	if n, ok := c.get("a"); !ok || n != "Adatum" {
		t.Fatalf("get = %q, %v", n, ok)
	}
	// A name older than the TTL is read again.
	c.m["a"] = cachedName{"Adatum", time.Now().Add(-clientNameTTL - time.Second)}
	if _, ok := c.get("a"); ok {
		t.Error("an expired name was served")
	}
	// Past clientNamesMax names the cache starts again.
	for i := range clientNamesMax {
		c.put(strconv.Itoa(i), "x")
	}
	c.put("b", "Bellows")
	if len(c.m) > 2 {
		t.Errorf("%d names after the cache filled up, want it started again", len(c.m))
	}
	if n, ok := c.get("b"); !ok || n != "Bellows" {
		t.Errorf("get after the reset = %q, %v", n, ok)
	}
}
