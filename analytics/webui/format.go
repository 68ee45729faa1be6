package webui

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"
)

// thousands writes n with comma thousands separators: 1234567 → "1,234,567".
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	var b strings.Builder
	b.WriteString(sign)
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// decimalText writes f with places decimals and thousands separators.
func decimalText(f float64, places int) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "–"
	}
	s := strconv.FormatFloat(math.Abs(f), 'f', places, 64)
	whole, frac, _ := strings.Cut(s, ".")
	n, _ := strconv.ParseInt(whole, 10, 64)
	out := thousands(n)
	if frac != "" {
		out += "." + frac
	}
	if f < 0 && strings.Trim(s, "0.") != "" {
		out = "-" + out
	}
	return out
}

// money writes an amount in the configured currency: "$1,234.56".
func money(symbol string, f float64) string {
	s := decimalText(f, 2)
	if neg, ok := strings.CutPrefix(s, "-"); ok {
		return "-" + symbol + neg
	}
	return symbol + s
}

// compactMoney writes a large amount briefly for chart axes: "$1.2M".
func compactMoney(symbol string, f float64) string {
	a := math.Abs(f)
	short := func(v float64, unit string) string {
		s := strings.TrimSuffix(strconv.FormatFloat(v, 'f', 1, 64), ".0")
		return symbol + s + unit
	}
	switch {
	case a >= 1e9:
		return short(f/1e9, "B")
	case a >= 1e6:
		return short(f/1e6, "M")
	case a >= 1e4:
		return short(f/1e3, "k")
	}
	return symbol + strconv.FormatFloat(f, 'f', 0, 64)
}

// percent writes a percentage with one decimal: "12.5%".
func percent(f float64) string { return decimalText(f, 1) + "%" }

// change writes a signed change: "+12.5%", "-3.0%", "0.0%".
func change(f float64) string {
	s := percent(f)
	if f > 0 {
		return "+" + s
	}
	return s
}

// changeClass is the CSS class of a change: up, down or flat.
func changeClass(f float64) string {
	switch {
	case f > 0:
		return "up"
	case f < 0:
		return "down"
	}
	return "flat"
}

// bytesText writes a size in binary units: "1.5 MiB".
func bytesText(n int64) string {
	const unit = 1024
	if n < unit {
		return thousands(n) + " B"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// relative writes t relative to now: "just now", "5 minutes ago",
// "in 3 hours", "2 days ago"; beyond 30 days the date.
func relative(t, now time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	future := d < 0
	if future {
		d = -d
	}
	var s string
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		s = plural(int64(d/time.Minute), "minute")
	case d < 24*time.Hour:
		s = plural(int64(d/time.Hour), "hour")
	case d < 30*24*time.Hour:
		s = plural(int64(d/(24*time.Hour)), "day")
	default:
		return t.In(loc).Format("2 Jan 2006")
	}
	if future {
		return "in " + s
	}
	return s + " ago"
}

func plural(n int64, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return thousands(n) + " " + unit + "s"
}

// exactTime is the full time shown on hover.
func exactTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return t.In(loc).Format("Mon 2 Jan 2006 15:04:05 MST")
}

// seconds writes a duration in seconds for people: "42.5 s", "3 min 5 s".
func seconds(f float64) string {
	if f < 60 {
		return decimalText(f, 1) + " s"
	}
	m := int64(f) / 60
	return thousands(m) + " min " + strconv.FormatInt(int64(f)%60, 10) + " s"
}

// breakable returns s, HTML-escaped, with a line-break opportunity after
// each thousands separator, so that a figure too wide for its card wraps
// between two groups of digits ("$25,173," over "199.80") rather than
// inside one.
func breakable(s string) template.HTML {
	return template.HTML(strings.ReplaceAll(template.HTMLEscapeString(s), ",", ",<wbr>"))
}
