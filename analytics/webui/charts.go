package webui

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strings"
)

// point is one value of a chart: its axis label, its value and the value
// written for people (shown on hover and in the chart's table).
type point struct {
	Label string
	Value float64
	Text  string
}

// chart geometry, in SVG user units (the SVG scales to its box).
const (
	chartW    = 720
	chartH    = 240
	padLeft   = 56
	padRight  = 12
	padTop    = 12
	padBottom = 28
)

// axisSteps is the number of intervals between grid lines.
const axisSteps = 5

// niceMax rounds max up to 1, 2, 2.5 or 5 times a power of ten, so the
// grid lines (a fifth of it apart) fall on round numbers.
func niceMax(max float64) float64 {
	if max <= 0 || math.IsNaN(max) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(max)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= max {
			return m * p
		}
	}
	return 10 * p
}

// axis writes the horizontal grid lines and their labels.
func axis(b *strings.Builder, top float64, tick func(float64) string) {
	plotH := float64(chartH - padTop - padBottom)
	for i := 0; i <= axisSteps; i++ {
		v := top * float64(i) / axisSteps
		y := float64(padTop) + plotH - plotH*float64(i)/axisSteps
		fmt.Fprintf(b, `<line class="grid" x1="%d" x2="%d" y1="%.1f" y2="%.1f"/>`, padLeft, chartW-padRight, y, y)
		fmt.Fprintf(b, `<text class="tick" x="%d" y="%.1f" text-anchor="end">%s</text>`, padLeft-6, y+4, html.EscapeString(tick(v)))
	}
}

// xLabels writes at most about eight labels under the plot.
func xLabels(b *strings.Builder, pts []point, x func(i int) float64) {
	step := max(1, (len(pts)+7)/8)
	for i := 0; i < len(pts); i += step {
		fmt.Fprintf(b, `<text class="tick" x="%.1f" y="%d" text-anchor="middle">%s</text>`, x(i), chartH-8, html.EscapeString(pts[i].Label))
	}
}

func svgOpen(b *strings.Builder, id, title string) {
	fmt.Fprintf(b, `<svg class="chart" id="%s" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-title">`,
		html.EscapeString(id), chartW, chartH, html.EscapeString(id))
	fmt.Fprintf(b, `<title id="%s-title">%s</title>`, html.EscapeString(id), html.EscapeString(title))
}

// chartFrame opens the chart's SVG and draws its value axis, scaled to
// the largest value of pts; it returns the axis top and the plot area's
// width and height.
func chartFrame(b *strings.Builder, id, title string, pts []point, tick func(float64) string) (top, plotW, plotH float64) {
	svgOpen(b, id, title)
	var hi float64
	for _, p := range pts {
		hi = max(hi, p.Value)
	}
	top = niceMax(hi)
	axis(b, top, tick)
	return top, float64(chartW - padLeft - padRight), float64(chartH - padTop - padBottom)
}

// barChart draws pts as vertical bars; each bar has its value as a title.
func barChart(id, title string, pts []point, tick func(float64) string) template.HTML {
	var b strings.Builder
	top, plotW, plotH := chartFrame(&b, id, title, pts, tick)
	slot := plotW / float64(max(len(pts), 1))
	x := func(i int) float64 { return float64(padLeft) + slot*(float64(i)+0.5) }
	for i, p := range pts {
		h := plotH * max(p.Value, 0) / top
		fmt.Fprintf(&b, `<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s: %s</title></rect>`,
			float64(padLeft)+slot*float64(i)+slot*0.15, float64(padTop)+plotH-h, slot*0.7, h,
			html.EscapeString(p.Label), html.EscapeString(p.Text))
	}
	xLabels(&b, pts, x)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// lineChart draws pts as an area under a line, with a dot per point
// holding its value as a title.
func lineChart(id, title string, pts []point, tick func(float64) string) template.HTML {
	var b strings.Builder
	top, plotW, plotH := chartFrame(&b, id, title, pts, tick)
	x := func(i int) float64 {
		if len(pts) < 2 {
			return float64(padLeft) + plotW/2
		}
		return float64(padLeft) + plotW*float64(i)/float64(len(pts)-1)
	}
	y := func(v float64) float64 { return float64(padTop) + plotH - plotH*max(v, 0)/top }
	if len(pts) > 0 {
		var line strings.Builder
		for i, p := range pts {
			fmt.Fprintf(&line, "%.1f,%.1f ", x(i), y(p.Value))
		}
		coords := strings.TrimSpace(line.String())
		fmt.Fprintf(&b, `<polygon class="area" points="%.1f,%.1f %s %.1f,%.1f"/>`, x(0), y(0), coords, x(len(pts)-1), y(0))
		fmt.Fprintf(&b, `<polyline class="line" points="%s"/>`, coords)
		for i, p := range pts {
			fmt.Fprintf(&b, `<circle class="dot" cx="%.1f" cy="%.1f" r="3"><title>%s: %s</title></circle>`,
				x(i), y(p.Value), html.EscapeString(p.Label), html.EscapeString(p.Text))
		}
	}
	xLabels(&b, pts, x)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// meter draws one horizontal bar of a share table: pct of 100 in color
// (a CSS colour from the data, or the theme's accent when empty).
func meter(pct float64, color string) template.HTML {
	w := math.Max(0, math.Min(100, pct))
	fill := ""
	if color != "" && validColor(color) {
		fill = ` fill="` + color + `"`
	}
	return template.HTML(fmt.Sprintf(`<svg class="meter" viewBox="0 0 100 8" preserveAspectRatio="none" aria-hidden="true"><rect class="meter-track" width="100" height="8" rx="2"/><rect class="meter-fill"%s width="%.2f" height="8" rx="2"/></svg>`, fill, w))
}

// validColor accepts #rgb and #rrggbb colours only.
func validColor(c string) bool {
	if len(c) != 4 && len(c) != 7 || c[0] != '#' {
		return false
	}
	for _, r := range c[1:] {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}
