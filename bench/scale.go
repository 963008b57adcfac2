package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// The cost curve (`--scale`): the same start–memory–stop life and crash
// storm as the fixed-size rows, at N = 1, 8, 64, 256 and 1,024 workers, so
// that how each cost grows with N can be read off, per worker. Tools that
// cannot run a given N are reported n/a with the reason, never left to hang.

// scaleMetric is one column of the cost curve.
type scaleMetric struct {
	id    string
	label string
	unit  string
	// perWorker: the figure is a total that grows with N, and its growth
	// is a cost per added worker, in perUnit (the unit times perScale).
	perWorker bool
	perUnit   string
	perScale  float64
	// plot: drawn in the SVG.
	plot bool
}

var scaleMetrics = []scaleMetric{
	{id: "start", label: "all N workers started: exec → last first line", unit: "ms", perWorker: true, perUnit: "ms", perScale: 1, plot: true},
	{id: "stop", label: "graceful stop of N workers: stop signal → all gone", unit: "ms", perWorker: true, perUnit: "ms", perScale: 1, plot: true},
	{id: "pss", label: "supervisor PSS with N workers", unit: "MiB", perWorker: true, perUnit: "KiB", perScale: 1024, plot: true},
	{id: "storm_cost", label: "crash storm of N workers: supervisor CPU per restart", unit: "µs", plot: true},
	{id: "storm_rate", label: "crash storm of N workers: restarts per second", unit: "/s"},
}

// scaleTools are the columns of the curve by default: every tool that runs
// N workers. slotrun-serve is slotrun with sockets, measured at fixed N in
// the serving rows; tini and dumb-init run one child.
var scaleTools = []string{"slotrun", "floor", "supervisord", "s6", "runit", "PM2"}

const defaultScaleN = "1,8,64,256,1024"

// maxScaleN bounds --scale-n: every worker is a process on a shared machine.
const maxScaleN = 4096

// scaleCap says why a tool is not run with n workers ("" when it is); with
// storm, why it is not run in a crash storm of n.
func scaleCap(t *tool, n int, storm bool) string {
	switch {
	case t.single:
		return t.name + " runs one child"
	case t.serving:
		return "slotrun with sockets is measured at fixed N in the serving rows"
	case t.name == "runit" && n > runsvdirMax:
		return fmt.Sprintf("runsvdir supervises at most %d service directories (a compiled-in limit, runsvdir(8))", runsvdirMax)
	case t.name == "PM2" && n > pm2MaxN:
		return fmt.Sprintf("PM2 is not run with more than %d workers: at 256 its start and stop already take seconds (the rows above), and its crash storm fails from 256 (see the next note)", pm2MaxN)
	case t.name == "PM2" && storm && n > pm2MaxStorm:
		return fmt.Sprintf("PM2's crash storm is not run with more than %d workers: with 256, fewer than two thirds had started even once after 60 s (its node process at 100%% CPU restarting the others)", pm2MaxStorm)
	}
	return ""
}

// runsvdirMax is runit's compiled-in MAXSERVICES.
const runsvdirMax = 1000

// PM2 is capped where it stops finishing in bounded time; see scaleCap.
const (
	pm2MaxN     = 256
	pm2MaxStorm = 64
)

// parseScaleN reads a comma-separated list of worker counts, sorted and
// without repeats.
func parseScaleN(list string) ([]int, error) {
	var ns []int
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > maxScaleN {
			return nil, fmt.Errorf("--scale-n: %q is not a worker count from 1 to %d", strings.TrimSpace(f), maxScaleN)
		}
		ns = append(ns, n)
	}
	slices.Sort(ns)
	return slices.Compact(ns), nil
}

// scaleResults holds the curve: tool → metric id → N → series.
type scaleResults map[string]map[string]map[int]*series

func (r scaleResults) get(tool, metric string, n int) *series {
	if r[tool] == nil {
		r[tool] = map[string]map[int]*series{}
	}
	if r[tool][metric] == nil {
		r[tool][metric] = map[int]*series{}
	}
	s := r[tool][metric][n]
	if s == nil {
		s = &series{Unit: scaleMetricByID(metric).unit}
		r[tool][metric][n] = s
	}
	return s
}

func (r scaleResults) failed() bool {
	for _, byMetric := range r {
		for _, byN := range byMetric {
			for _, s := range byN {
				if len(s.Errors) > 0 {
					return true
				}
			}
		}
	}
	return false
}

// points are a tool's medians for one metric, by N ascending; Ns without a
// figure are left out.
func (r scaleResults) points(tool, metric string) []point {
	var pts []point
	for n, s := range r[tool][metric] {
		if len(s.Runs) > 0 {
			pts = append(pts, point{n: n, v: s.Median})
		}
	}
	slices.SortFunc(pts, func(a, b point) int { return a.n - b.n })
	return pts
}

func scaleMetricByID(id string) scaleMetric {
	for _, m := range scaleMetrics {
		if m.id == id {
			return m
		}
	}
	panic("unknown scale metric " + id)
}

// point is one figure at N workers.
type point struct {
	n int
	v float64
}

// step is how a figure grew from one N to the next.
type step struct {
	from, to int
	// perWorker is the added cost per added worker: (v2-v1)/(n2-n1).
	perWorker float64
	// exponent k fits v ∝ N^k over the step: 1 is linear, above 1
	// super-linear, 0 flat. NaN when a figure is not positive.
	exponent float64
}

// growth is the step between each pair of successive points.
func growth(pts []point) []step {
	var steps []step
	for i := 1; i < len(pts); i++ {
		a, b := pts[i-1], pts[i]
		s := step{from: a.n, to: b.n, exponent: math.NaN()}
		s.perWorker = (b.v - a.v) / float64(b.n-a.n)
		if a.v > 0 && b.v > 0 {
			s.exponent = math.Log(b.v/a.v) / math.Log(float64(b.n)/float64(a.n))
		}
		steps = append(steps, s)
	}
	return steps
}

// raiseFileLimit sets the soft limit on open files to the hard one, for the
// bench and (through syscall.Setrlimit, which the Go runtime then passes on
// instead of restoring the original) for every tool it starts: at 1,024
// workers the bench holds a pidfd for each process it waits for, and
// supervisord two pipes per worker.
func raiseFileLimit() error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	lim.Cur = lim.Max
	return syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
}

// measureScale runs every tool at every N, run after run; a run goes up
// the Ns, and at each N through every tool, so load from elsewhere spreads
// over all columns. The warm-up starts each tool once at the smallest N.
func (b *bench) measureScale() {
	first := 1
	if b.cfg.warmup {
		first = 0
	}
	for b.run = first; b.run <= b.cfg.runs; b.run++ {
		for _, n := range b.cfg.scaleN {
			for _, t := range b.tools {
				if b.missing[t.name] != "" || scaleCap(t, n, false) != "" {
					continue
				}
				r := recorder{b: b, tool: t, warmup: b.run == 0}
				b.scaleLife(r, n)
				if !r.warmup && scaleCap(t, n, true) == "" {
					b.scaleStorm(r, n)
				}
				b.sweep(t.name)
			}
			if b.run == 0 {
				break
			}
		}
	}
}

// scaleLife records start, PSS and stop at n workers.
func (b *bench) scaleLife(r recorder, n int) {
	f, done, err := b.measureLife(r.tool, n)
	if r.warmup {
		return
	}
	res := b.scale
	if err != nil {
		b.logf("  %s, %d workers: %v", r.tool.name, n, err)
		for _, id := range []string{"start", "pss", "stop"}[done:] {
			s := res.get(r.tool.name, id, n)
			s.Errors = append(s.Errors, err.Error())
		}
	}
	if done >= 1 {
		res.get(r.tool.name, "start", n).add(f.start, nil)
	}
	if done >= 2 {
		res.get(r.tool.name, "pss", n).add(f.pss, nil)
	}
	if done == 3 {
		res.get(r.tool.name, "stop", n).add(f.stop, nil)
		b.progress(r, "N=%d: start %.1f ms, PSS %.2f MiB, stop %.1f ms", n, f.start, f.pss, f.stop)
	}
}

// scaleStorm records the CPU per restart of a crash storm of n workers.
// The storm is ended by a kill: its stop is a row of its own at fixed N.
func (b *bench) scaleStorm(r recorder, n int) {
	in, err := b.launch(r.tool, n, modeCrash)
	var f stormFigures
	if err == nil {
		f, err = b.measureStorm(in)
		in.close()
	}
	if err == nil && f.Starts == 0 {
		err = errors.New("no restart in the storm window")
	}
	if err != nil {
		b.logf("  %s, storm of %d: %v", r.tool.name, n, err)
		for _, id := range []string{"storm_cost", "storm_rate"} {
			s := b.scale.get(r.tool.name, id, n)
			s.Errors = append(s.Errors, err.Error())
		}
		return
	}
	cost := f.CPUSeconds / float64(f.Starts) * 1e6
	b.scale.get(r.tool.name, "storm_cost", n).add(cost, nil)
	b.scale.get(r.tool.name, "storm_rate", n).add(float64(f.Starts)/f.Window, nil)
	b.progress(r, "storm of %d: %d starts in %.1f s, %.0f µs CPU each", n, f.Starts, f.Window, cost)
}

// writeScale prints the curve: a table per metric (a row per N, a column
// per tool), then the growth from each N to the next.
func (b *bench) writeScale(w io.Writer) {
	notes := &footnotes{}
	names := b.toolNames()
	for _, m := range scaleMetrics {
		fmt.Fprintf(w, "\n%s [%s]\n\n", m.label, m.unit)
		fmt.Fprintf(w, "| N | %s |\n|---|%s\n", strings.Join(names, " | "), strings.Repeat("---|", len(names)))
		for _, n := range b.cfg.scaleN {
			cells := []string{strconv.Itoa(n)}
			for _, t := range b.tools {
				cells = append(cells, b.scaleCell(t, m, n, notes))
			}
			fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
		}
	}
	fmt.Fprintf(w, "\nGrowth from one N to the next: the added cost per added worker, and k, the exponent of a fit v ∝ N^k over the step (1 linear, > 1 super-linear).\n")
	for _, m := range scaleMetrics {
		if !m.plot {
			continue
		}
		what := "per added worker [" + m.perUnit + "], k"
		if !m.perWorker {
			what = "k (the figure is per restart already: 0 is flat)"
		}
		fmt.Fprintf(w, "\n%s: %s\n\n", m.label, what)
		fmt.Fprintf(w, "| N | %s |\n|---|%s\n", strings.Join(names, " | "), strings.Repeat("---|", len(names)))
		rows := map[string][]string{}
		var order []string
		for i, t := range b.tools {
			for _, s := range growth(b.scale.points(t.name, m.id)) {
				key := fmt.Sprintf("%d → %d", s.from, s.to)
				if rows[key] == nil {
					rows[key] = make([]string, len(b.tools))
					order = append(order, key)
				}
				rows[key][i] = formatStep(m, s)
			}
		}
		for _, key := range order {
			fmt.Fprintf(w, "| %s | %s |\n", key, strings.Join(rows[key], " | "))
		}
	}
	fmt.Fprintln(w)
	for i, text := range notes.list {
		fmt.Fprintf(w, "%d. %s\n", i+1, text)
	}
}

func formatStep(m scaleMetric, s step) string {
	k := "–"
	if !math.IsNaN(s.exponent) {
		k = fmt.Sprintf("%.2f", s.exponent)
	}
	if !m.perWorker {
		return k
	}
	return fmt.Sprintf("%s, %s", sig3(s.perWorker*m.perScale), k)
}

func (b *bench) scaleCell(t *tool, m scaleMetric, n int, notes *footnotes) string {
	if why := b.missing[t.name]; why != "" {
		return "n/a " + notes.ref(why)
	}
	if why := scaleCap(t, n, strings.HasPrefix(m.id, "storm")); why != "" {
		return "n/a " + notes.ref(why)
	}
	s := b.scale[t.name][m.id][n]
	if s == nil {
		return "–"
	}
	return formatSeries(metric{unit: m.unit}, s, notes, t.name+", "+m.id+" at "+strconv.Itoa(n))
}

// writeScaleSVG draws the plotted metrics, one chart each, to path.
func (b *bench) writeScaleSVG(path string) error {
	var charts []chart
	for _, m := range scaleMetrics {
		if !m.plot {
			continue
		}
		c := chart{title: strings.Replace(m.label, " N workers", " N", 1), unit: m.unit}
		for _, t := range b.tools {
			c.lines = append(c.lines, line{name: t.name, points: b.scale.points(t.name, m.id)})
		}
		charts = append(charts, c)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := writeSVG(f, charts, b.cfg.scaleN); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}
