package main

import (
	"bytes"
	"encoding/xml"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The cost curve's arithmetic and drawing; no process is started.

func TestGrowthIsTheCostPerAddedWorkerAndTheExponent(t *testing.T) {
	nan := math.NaN()
	cases := []struct {
		name string
		pts  []point
		want []step
	}{
		{"one point has no growth", []point{{1, 5}}, nil},
		{"linear: a fixed cost per worker, k = 1",
			[]point{{8, 16}, {64, 128}, {1024, 2048}},
			[]step{{8, 64, 2, 1}, {64, 1024, 2, 1}}},
		{"flat: no cost per worker, k = 0",
			[]point{{1, 6}, {1024, 6}},
			[]step{{1, 1024, 0, 0}}},
		{"a fixed part bends k below 1 at small N",
			[]point{{1, 3}, {8, 10}},
			[]step{{1, 8, 1, math.Log(10.0/3) / math.Log(8)}}},
		{"quadratic: the cost per worker grows, k = 2",
			[]point{{64, 4096}, {256, 65536}},
			[]step{{64, 256, (65536 - 4096) / 192.0, 2}}},
		{"a zero figure has a cost per worker but no exponent",
			[]point{{1, 0}, {4, 3}},
			[]step{{1, 4, 1, nan}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := growth(c.pts)
			if len(got) != len(c.want) {
				t.Fatalf("got %d steps %+v, want %d", len(got), got, len(c.want))
			}
			for i, w := range c.want {
				g := got[i]
				if g.from != w.from || g.to != w.to || !near(g.perWorker, w.perWorker) || !near(g.exponent, w.exponent) {
					t.Errorf("step %d: got %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

func near(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) < 1e-9
}

func TestPointsAreSortedByNAndSkipFailedRuns(t *testing.T) {
	r := scaleResults{}
	r.get("slotrun", "start", 1024).add(90, nil)
	r.get("slotrun", "start", 1).add(3, nil)
	r.get("slotrun", "start", 64).Errors = []string{"timed out"}
	got := r.points("slotrun", "start")
	if want := []point{{1, 3}, {1024, 90}}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if !r.failed() {
		t.Fatal("a run with an error must make the bench fail")
	}
}

func TestParseScaleN(t *testing.T) {
	got, err := parseScaleN("64, 1,8,1")
	if err != nil || !slices.Equal(got, []int{1, 8, 64}) {
		t.Fatalf("got %v, %v; want [1 8 64]", got, err)
	}
	for _, bad := range []string{"", "0", "-4", "x", "1,,2", "100000"} {
		if _, err := parseScaleN(bad); err == nil || !strings.Contains(err.Error(), "--scale-n") {
			t.Errorf("parseScaleN(%q): got %v, want an error naming --scale-n", bad, err)
		}
	}
}

func TestScaleFlags(t *testing.T) {
	cfg, err := parseFlags([]string{"--scale"})
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.scale || cfg.runs != 3 || !slices.Equal(cfg.scaleN, []int{1, 8, 64, 256, 1024}) || !slices.Equal(cfg.only, scaleTools) {
		t.Fatalf("--scale: got runs %d N %v only %v", cfg.runs, cfg.scaleN, cfg.only)
	}
	cfg, err = parseFlags([]string{"--scale", "--quick"})
	if err != nil || !slices.Equal(cfg.scaleN, []int{1, 4}) || cfg.runs != 1 || !slices.Equal(cfg.only, []string{"slotrun", "floor"}) {
		t.Fatalf("--scale --quick: got N %v runs %d only %v, %v", cfg.scaleN, cfg.runs, cfg.only, err)
	}
	cfg, err = parseFlags([]string{"--scale", "--scale-n", "2,16", "--runs", "5", "--svg", "c.svg"})
	if err != nil || !slices.Equal(cfg.scaleN, []int{2, 16}) || cfg.runs != 5 || cfg.svg != "c.svg" {
		t.Fatalf("got N %v runs %d svg %q, %v", cfg.scaleN, cfg.runs, cfg.svg, err)
	}
	for _, bad := range [][]string{{"--scale-n", "1,2"}, {"--svg", "c.svg"}, {"--scale", "--scale-n", "0"}} {
		if _, err := parseFlags(bad); err == nil {
			t.Errorf("parseFlags(%q): want an error", bad)
		}
	}
}

func TestPM2IsCappedWithAReason(t *testing.T) {
	pm2 := pm2Tool()
	cases := []struct {
		tool  *tool
		n     int
		storm bool
		run   bool
	}{
		{pm2, pm2MaxN, false, true},
		{pm2, pm2MaxN + 1, false, false},
		{pm2, pm2MaxStorm, true, true},
		{pm2, pm2MaxStorm + 1, true, false},
		{slotrunTool(), maxScaleN, true, true},
		{floorTool(), maxScaleN, false, true},
		{tiniTool(), 8, false, false},
		{runitTool(), runsvdirMax, true, true},
		{runitTool(), runsvdirMax + 1, false, false},
	}
	for _, c := range cases {
		why := scaleCap(c.tool, c.n, c.storm)
		if c.run != (why == "") {
			t.Errorf("%s, %d workers, storm %v: got %q, want run %v", c.tool.name, c.n, c.storm, why, c.run)
		}
	}
}

// svgDoc is what the tests read back from the SVG.
type svgDoc struct {
	charts int
	lines  map[string][][2]float64 // data-tool → the points of its polylines, in order
	texts  []string
}

func readSVG(t *testing.T, b []byte) svgDoc {
	t.Helper()
	doc := svgDoc{lines: map[string][][2]float64{}}
	dec := xml.NewDecoder(bytes.NewReader(b))
	var tool string
	var inText bool
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, b)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			attr := map[string]string{}
			for _, a := range e.Attr {
				attr[a.Name.Local] = a.Value
			}
			switch {
			case e.Name.Local == "g" && attr["class"] == "chart":
				doc.charts++
			case e.Name.Local == "g" && attr["data-tool"] != "":
				tool = attr["data-tool"]
			case e.Name.Local == "polyline":
				for _, xy := range strings.Fields(attr["points"]) {
					xs, ys, _ := strings.Cut(xy, ",")
					x, err1 := strconv.ParseFloat(xs, 64)
					y, err2 := strconv.ParseFloat(ys, 64)
					if err1 != nil || err2 != nil {
						t.Fatalf("bad point %q", xy)
					}
					doc.lines[tool] = append(doc.lines[tool], [2]float64{x, y})
				}
			case e.Name.Local == "text":
				inText = true
			}
		case xml.CharData:
			if inText {
				doc.texts = append(doc.texts, string(e))
			}
		case xml.EndElement:
			inText = false
		}
	}
	return doc
}

func TestSVGDrawsALineAChartAndLogAxes(t *testing.T) {
	ns := []int{1, 8, 64, 256, 1024}
	charts := []chart{
		{title: "start", unit: "ms", lines: []line{
			{name: "slotrun", points: []point{{1, 1}, {8, 10}, {64, 100}, {256, 1000}, {1024, 10000}}},
			{name: "a<b & c", points: []point{{1, 5}, {8, 5}}},
			{name: "capped", points: []point{{1, 7}}},
			{name: "none"},
		}},
		{title: "pss", unit: "MiB", lines: []line{{name: "slotrun", points: []point{{1, 0}, {64, 5}, {1024, 6}}}}},
		{title: "empty", unit: "µs"},
	}
	var buf bytes.Buffer
	if err := writeSVG(&buf, charts, ns); err != nil {
		t.Fatal(err)
	}
	doc := readSVG(t, buf.Bytes())
	if doc.charts != 3 {
		t.Fatalf("got %d charts, want 3", doc.charts)
	}
	pts := doc.lines["slotrun"]
	if len(pts) != 5+2 {
		t.Fatalf("slotrun: got %d polyline points, want 5 in the first chart and 2 (the zero left out) in the second", len(pts))
	}
	first := pts[:5]
	// Log x: N = 8 and 64 are as far apart as 1 and 8.
	if d1, d2 := first[1][0]-first[0][0], first[2][0]-first[1][0]; math.Abs(d1-d2) > 0.2 {
		t.Errorf("x is not log N: 1→8 spans %.1f px, 8→64 %.1f px", d1, d2)
	}
	// Log y: each decade up is the same height up (SVG y grows down).
	for i := 1; i < len(first); i++ {
		if first[i][1] >= first[i-1][1] {
			t.Errorf("point %d is not above point %d: %v", i, i-1, first)
		}
	}
	if d1, d2 := first[0][1]-first[1][1], first[1][1]-first[2][1]; math.Abs(d1-d2) > 0.2 {
		t.Errorf("y is not log v: decades span %.1f and %.1f px", d1, d2)
	}
	if got := len(doc.lines["a<b & c"]); got != 2 {
		t.Errorf("a tool name that needs escaping: got %d points, want 2", got)
	}
	if _, ok := doc.lines["capped"]; ok {
		t.Error("one point is a dot, not a line")
	}
	joined := strings.Join(doc.texts, "|")
	for _, want := range []string{"1024", "10000", "start [ms]", "no figures"} {
		if !strings.Contains(joined, want) {
			t.Errorf("no text %q in %q", want, joined)
		}
	}
	if err := writeSVG(io.Discard, charts, nil); err == nil {
		t.Error("no worker counts: want an error")
	}
}
