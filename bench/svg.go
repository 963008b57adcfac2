package main

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strconv"
)

// The cost curve is drawn by hand as SVG, with the standard library only:
// one small chart per measurement, laid out two by two, N on a log scale
// across and the figure on a log scale up, one line per tool. On log–log
// axes a cost that grows linearly with N is a line of slope 1 (a decade up
// per decade across), a fixed cost is flat, and a super-linear one bends
// upwards.

// chart is one measurement: a line per tool.
type chart struct {
	title string
	unit  string
	lines []line
}

// line is one tool's figures; points need not cover every N.
type line struct {
	name   string
	points []point
}

const (
	panelW, panelH  = 380, 250
	plotL, plotR    = 58, 24 // margins inside a panel: room for the tick labels
	plotT, plotB    = 34, 40
	legendH         = 30
	chartsPerRow    = 2
	svgFont         = `font-family="sans-serif" font-size="11"`
	gridColour      = "#dddddd"
	axisColour      = "#444444"
	defaultLineWide = 1.8
)

// palette gives each tool the same colour in every chart, by its index.
var palette = []string{"#1f77b4", "#7f7f7f", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf"}

// writeSVG draws charts over the worker counts ns (ascending).
func writeSVG(w io.Writer, charts []chart, ns []int) error {
	if len(ns) == 0 {
		return fmt.Errorf("no worker counts to draw")
	}
	rows := (len(charts) + chartsPerRow - 1) / chartsPerRow
	width, height := chartsPerRow*panelW, legendH+rows*panelH
	var buf bytes.Buffer
	fmt.Fprintf(&buf, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" %s>`+"\n",
		width, height, width, height, svgFont)
	fmt.Fprintf(&buf, `<rect width="%d" height="%d" fill="white"/>`+"\n", width, height)
	writeLegend(&buf, charts)
	for i, c := range charts {
		x0 := (i % chartsPerRow) * panelW
		y0 := legendH + (i/chartsPerRow)*panelH
		writeChart(&buf, c, ns, x0, y0)
	}
	buf.WriteString("</svg>\n")
	_, err := w.Write(buf.Bytes())
	return err
}

// writeLegend names each tool that has a figure in some chart, in the
// colour of its index: a tool every N was n/a for is left out.
func writeLegend(buf *bytes.Buffer, charts []chart) {
	drawn := map[int]string{}
	last := -1
	for _, c := range charts {
		for i, l := range c.lines {
			for _, p := range l.points {
				if p.v > 0 {
					drawn[i] = l.name
					last = max(last, i)
				}
			}
		}
	}
	x := 12
	for i := 0; i <= last; i++ {
		name, ok := drawn[i]
		if !ok {
			continue
		}
		fmt.Fprintf(buf, `<line x1="%d" y1="16" x2="%d" y2="16" stroke="%s" stroke-width="3"/>`, x, x+18, colour(i))
		fmt.Fprintf(buf, `<text x="%d" y="20">%s</text>`+"\n", x+23, escape(name))
		x += 23 + 7*len(name) + 18
	}
}

func colour(i int) string { return palette[i%len(palette)] }

// axes maps N and a figure to a panel's pixels.
type axes struct {
	x0, y0, w, h       float64 // the plot area
	nLo, nHi, vLo, vHi float64 // log10 of the ranges
}

func (a axes) x(n int) float64 {
	if a.nHi == a.nLo {
		return a.x0 + a.w/2
	}
	return a.x0 + (math.Log10(float64(n))-a.nLo)/(a.nHi-a.nLo)*a.w
}

func (a axes) y(v float64) float64 {
	return a.y0 + a.h - (math.Log10(v)-a.vLo)/(a.vHi-a.vLo)*a.h
}

// valueRange is the whole decades around every positive figure of c.
func valueRange(c chart) (lo, hi float64, ok bool) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, l := range c.lines {
		for _, p := range l.points {
			if p.v > 0 {
				lo, hi = math.Min(lo, math.Log10(p.v)), math.Max(hi, math.Log10(p.v))
			}
		}
	}
	if math.IsInf(lo, 1) {
		return 0, 1, false
	}
	lo, hi = math.Floor(lo), math.Ceil(hi)
	if hi == lo {
		hi++
	}
	return lo, hi, true
}

func writeChart(buf *bytes.Buffer, c chart, ns []int, x0, y0 int) {
	vLo, vHi, some := valueRange(c)
	a := axes{
		x0: float64(x0 + plotL), y0: float64(y0 + plotT),
		w: float64(panelW - plotL - plotR), h: float64(panelH - plotT - plotB),
		nLo: math.Log10(float64(ns[0])), nHi: math.Log10(float64(ns[len(ns)-1])),
		vLo: vLo, vHi: vHi,
	}
	fmt.Fprintf(buf, `<g class="chart"><text x="%d" y="%d" font-weight="bold">%s [%s]</text>`+"\n",
		x0+8, y0+18, escape(c.title), escape(c.unit))
	// The N ticks: every N measured.
	for _, n := range ns {
		x := a.x(n)
		fmt.Fprintf(buf, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s"/>`, x, a.y0, x, a.y0+a.h, gridColour)
		fmt.Fprintf(buf, `<text x="%.1f" y="%.1f" text-anchor="middle">%d</text>`+"\n", x, a.y0+a.h+14, n)
	}
	fmt.Fprintf(buf, `<text x="%.1f" y="%.1f" text-anchor="middle">workers (N, log scale)</text>`+"\n", a.x0+a.w/2, a.y0+a.h+30)
	// The value ticks: each decade, and 2 and 5 times it when there are
	// few decades to show.
	decades := int(vHi - vLo)
	for d := int(vLo); d <= int(vHi); d++ {
		for _, m := range []float64{1, 2, 5} {
			v := m * math.Pow(10, float64(d))
			if math.Log10(v) > vHi+1e-9 || (m != 1 && decades > 2) {
				continue
			}
			y := a.y(v)
			fmt.Fprintf(buf, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s"/>`, a.x0, y, a.x0+a.w, y, gridColour)
			fmt.Fprintf(buf, `<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`+"\n", a.x0-4, y+4, tickLabel(v))
		}
	}
	fmt.Fprintf(buf, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="%s"/>`+"\n", a.x0, a.y0, a.w, a.h, axisColour)
	if !some {
		fmt.Fprintf(buf, `<text x="%.1f" y="%.1f" text-anchor="middle">no figures</text>`+"\n", a.x0+a.w/2, a.y0+a.h/2)
	}
	for i, l := range c.lines {
		var pts []point
		for _, p := range l.points {
			if p.v > 0 { // a log scale has no place for 0
				pts = append(pts, p)
			}
		}
		if len(pts) == 0 {
			continue
		}
		fmt.Fprintf(buf, `<g data-tool="%s" stroke="%s" fill="%s"><title>%s</title>`, escape(l.name), colour(i), colour(i), escape(l.name))
		if len(pts) > 1 {
			buf.WriteString(`<polyline fill="none" stroke-width="` + strconv.FormatFloat(defaultLineWide, 'f', -1, 64) + `" points="`)
			for j, p := range pts {
				if j > 0 {
					buf.WriteByte(' ')
				}
				fmt.Fprintf(buf, "%.1f,%.1f", a.x(p.n), a.y(p.v))
			}
			buf.WriteString(`"/>`)
		}
		for _, p := range pts {
			fmt.Fprintf(buf, `<circle cx="%.1f" cy="%.1f" r="2.5"/>`, a.x(p.n), a.y(p.v))
		}
		buf.WriteString("</g>\n")
	}
	buf.WriteString("</g>\n")
}

// tickLabel writes 0.01, 0.5, 20, 10000: short and exact.
func tickLabel(v float64) string {
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func escape(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
