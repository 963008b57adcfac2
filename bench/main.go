// Command bench measures slotrun against a bare launcher (the floor) and
// against the supervisors a user would pick instead — supervisord, s6,
// runit, PM2, and tini and dumb-init for a single child — with one tiny Go
// worker for all of them. See BENCHMARKS.md for the method and the figures.
//
//	go run ./bench                      # everything installed, 5 runs after a warm-up
//	go run ./bench --quick              # CI: slotrun and floor, 1 run, tiny counts
//	go run ./bench --only slotrun,s6 --runs 7 --json out.json
//	go run ./bench --scale --svg docs/scale.svg   # the cost curve, N = 1 … 1,024
//
// The peers come from bench/peers/install.sh. The bench builds slotrun and
// its helpers from this checkout into a temporary directory, runs every tool
// there, and kills everything it started before it exits, whatever happens.
// It exits 1 if any measurement failed (a worker that never started, a
// stop that never finished), 2 for a bad flag; it asserts nothing about
// how fast anything is.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"
)

// config is what one bench run does.
type config struct {
	runs    int           // measured runs per measurement
	warmup  bool          // one discarded run first
	small   int           // workers for restart, start, HUP, stop, idle (8)
	large   int           // workers for start, memory, stop, storm (64)
	kills   int           // kill -9 per run for the restart latency
	hups    int           // HUP timings per run (their median is the run's figure)
	idle    time.Duration // idle window for context switches
	storm   time.Duration // crash storm window
	minAge  time.Duration // a worker is killed or stopped only after running this long
	only    []string      // tools to measure, in column order
	json    string        // where to write the raw figures ("-": stdout)
	keep    bool          // keep the scratch directory
	slotrun string        // a slotrun binary to measure instead of building one
	scale   bool          // the cost curve instead of the table (scale.go)
	scaleN  []int         // the worker counts of the cost curve
	svg     string        // where the cost curve's chart goes
}

var allTools = []string{"slotrun", "slotrun-serve", "floor", "floor-libs", "supervisord", "s6", "runit", "PM2", "tini", "dumb-init"}

func defaultConfig() config {
	return config{
		runs: 5, warmup: true, small: 8, large: 64, kills: 20, hups: 3,
		idle: 10 * time.Second, storm: 10 * time.Second,
		minAge: 1100 * time.Millisecond,
		only:   allTools,
	}
}

// scaleConfig turns a configuration into the cost curve's: 3 runs and a
// 3 s storm at each N (the curve takes five counts of every tool); with
// --quick, 1 and 4 workers unless --scale-n says otherwise.
func scaleConfig(c config, quick bool, ns string) (config, error) {
	c.scale = true
	if quick {
		if ns == defaultScaleN {
			ns = "1,4"
		}
		c.only = []string{"slotrun", "floor"}
	} else {
		c.runs, c.storm, c.only = 3, 3*time.Second, scaleTools
	}
	var err error
	c.scaleN, err = parseScaleN(ns)
	return c, err
}

// quickConfig proves the bench still works, in seconds: one run, no
// warm-up, tiny counts, slotrun and the floor only unless --only says more.
func quickConfig() config {
	c := defaultConfig()
	c.runs, c.warmup, c.small, c.large, c.kills, c.hups = 1, false, 4, 16, 3, 1
	c.idle, c.storm = time.Second, time.Second
	c.only = []string{"slotrun", "slotrun-serve", "floor", "floor-libs"}
	return c
}

func parseFlags(args []string) (config, error) {
	fs := pflag.NewFlagSet("bench", pflag.ContinueOnError)
	quick := fs.Bool("quick", false, "one run with tiny counts and 1 s windows, slotrun and floor only (CI)")
	runs := fs.Int("runs", 5, "measured runs per measurement, after a warm-up run")
	only := fs.String("only", "", "comma-separated tools to measure: "+strings.Join(allTools, ","))
	jsonOut := fs.String("json", "", "write the raw figures as JSON to `FILE` (bare --json: stdout)")
	fs.Lookup("json").NoOptDefVal = "-"
	keep := fs.Bool("keep", false, "keep the scratch directory (configs, logs) for a look afterwards")
	scale := fs.Bool("scale", false, "measure the cost curve instead: start, stop, PSS and storm CPU per restart at each --scale-n, 3 runs")
	scaleN := fs.String("scale-n", defaultScaleN, "comma-separated worker `COUNTS` for --scale")
	svg := fs.String("svg", "", "with --scale, draw the curve as an SVG chart into `FILE`")
	slotrunBin := fs.String("slotrun-bin", "", "measure this slotrun `BINARY` instead of building one from the checkout (A/B of a build setting or a fix)")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	var err error
	cfg := defaultConfig()
	if *quick {
		cfg = quickConfig()
	}
	if *scale {
		if cfg, err = scaleConfig(cfg, *quick, *scaleN); err != nil {
			return config{}, err
		}
	} else if fs.Changed("scale-n") || fs.Changed("svg") {
		return config{}, fmt.Errorf("--scale-n and --svg go with --scale")
	}
	cfg.svg = *svg
	if fs.Changed("runs") {
		if *runs < 1 {
			return config{}, fmt.Errorf("--runs: %d is not a positive count", *runs)
		}
		cfg.runs = *runs
	}
	cfg.json, cfg.keep, cfg.slotrun = *jsonOut, *keep, *slotrunBin
	// `--json FILE`: pflag wants `--json=FILE` for a flag whose value is
	// optional, so take a lone argument after a bare --json as its file.
	rest := fs.Args()
	if cfg.json == "-" && len(rest) == 1 {
		cfg.json, rest = rest[0], nil
	}
	if len(rest) > 0 {
		return config{}, fmt.Errorf("unexpected argument %q", rest[0])
	}
	if *only != "" {
		names, err := selectTools(*only)
		if err != nil {
			return config{}, err
		}
		cfg.only = names
	}
	return cfg, nil
}

// selectTools keeps the column order of allTools whatever order --only uses.
func selectTools(list string) ([]string, error) {
	want := map[string]bool{}
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		found := false
		for _, t := range allTools {
			if strings.EqualFold(t, name) {
				want[t], found = true, true
			}
		}
		if !found {
			return nil, fmt.Errorf("--only: no tool %q (tools: %s)", name, strings.Join(allTools, ","))
		}
	}
	var out []string
	for _, t := range allTools {
		if want[t] {
			out = append(out, t)
		}
	}
	return out, nil
}

// bench is one run of the command.
type bench struct {
	cfg      config
	tmp      string
	bin      binaries
	tools    []*tool           // selected, in column order
	missing  map[string]string // tool → why it cannot be measured here
	versions map[string]string
	machine  machine
	res      results
	scale    scaleResults
	run      int // 0 is the warm-up
	began    time.Time
}

func main() {
	os.Exit(realMain(os.Args[1:]))
}

func realMain(args []string) int {
	cfg, err := parseFlags(args)
	if errors.Is(err, pflag.ErrHelp) {
		return 0 // pflag printed the usage
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 2
	}
	b := &bench{cfg: cfg, missing: map[string]string{}, versions: map[string]string{}, res: results{}, scale: scaleResults{}}
	if err := becomeSubreaper(); err != nil {
		fmt.Fprintln(os.Stderr, "bench: cannot become a child subreaper:", err)
		return 1
	}
	if b.tmp, err = os.MkdirTemp("", "slotrun-bench-"); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	defer b.cleanup()
	b.onInterrupt()

	b.began = time.Now()
	if b.bin, err = build(b.tmp, cfg.slotrun); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	b.chooseTools()
	b.machine = describeMachine()
	out := os.Stdout
	if cfg.json == "-" {
		out = os.Stderr // stdout carries the JSON
	}
	if cfg.scale {
		if err := raiseFileLimit(); err != nil {
			b.logf("cannot raise the open-file limit: %v", err)
		}
		b.measureScale()
		b.machine.LoadEnd = loadAverage()
		b.writeScale(out)
		if cfg.svg != "" {
			if err := b.writeScaleSVG(cfg.svg); err != nil {
				fmt.Fprintln(os.Stderr, "bench:", err)
				return 1
			}
		}
	} else {
		b.measureAll()
		b.machine.LoadEnd = loadAverage()
		b.markNA()
		b.writeMarkdown(out)
	}
	b.writeContext(out)
	if cfg.json != "" {
		if err := b.saveJSON(); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 1
		}
	}
	b.logf("done in %v", time.Since(b.began).Round(time.Second))
	if b.res.failed() || b.scale.failed() {
		fmt.Fprintln(os.Stderr, "bench: some measurements failed (see the footnotes)")
		return 1
	}
	return 0
}

// chooseTools builds the selected tools and notes the ones not installed.
func (b *bench) chooseTools() {
	all := append([]*tool{slotrunTool(), slotrunServeTool(), floorTool(), floorLibsTool()}, peerTools()...)
	for _, name := range b.cfg.only {
		for _, t := range all {
			if t.name != name {
				continue
			}
			b.tools = append(b.tools, t)
			if t.name == "slotrun" && b.cfg.slotrun != "" {
				t.settings = "the binary given with --slotrun-bin (" + b.bin.slotrun + "); " + t.settings
			}
			if why := t.missing(); why != "" {
				b.missing[t.name] = why
				continue
			}
			b.versions[t.name] = t.version(b)
		}
	}
}

// measureAll runs every session of every installed tool, run after run,
// then the idle phase.
func (b *bench) measureAll() {
	var installed []*tool
	for _, t := range b.tools {
		if b.missing[t.name] == "" {
			installed = append(installed, t)
		}
	}
	first := 1
	if b.cfg.warmup {
		first = 0
	}
	for b.run = first; b.run <= b.cfg.runs; b.run++ {
		for _, t := range installed {
			r := recorder{b: b, tool: t, warmup: b.run == 0}
			switch {
			case r.warmup:
				// Pages in every binary and the tool's own files; one
				// session is enough for that.
				if t.single {
					b.sessionSingle(r)
				} else {
					b.sessionSmall(r)
				}
			case t.single:
				b.sessionSingle(r)
			default:
				b.sessionSmall(r)
				b.sessionLarge(r)
				if !t.skipStorm {
					b.sessionStorm(r)
				}
				b.sessionSingle(r)
				if t.serving {
					b.sessionServing(r)
				}
				if t.name == "slotrun" {
					b.sessionControl(r)
				}
			}
			b.sweep(t.name)
		}
	}
	for run := 1; run <= b.cfg.runs; run++ {
		b.idlePhase(installed, run)
	}
}

// markNA records in the results why a cell has no figure.
func (b *bench) markNA() {
	for _, t := range b.tools {
		for _, m := range metrics {
			why := b.missing[t.name]
			if why == "" {
				_, why = applicable(t, m.id)
			}
			if why != "" {
				b.res.get(t.name, m.id).NA = why
			}
		}
	}
}

func (b *bench) saveJSON() error {
	if b.cfg.json == "-" {
		return b.writeJSON(os.Stdout)
	}
	f, err := os.Create(b.cfg.json)
	if err != nil {
		return err
	}
	if err := b.writeJSON(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// sweep kills whatever a tool left behind in the bench's process tree
// (nothing, when every tool cleans up after itself) and says so. A worker
// whose supervisor was just SIGKILLed is given a moment to die of its
// parent-death signal first.
func (b *bench) sweep(after string) {
	var pids []int
	for _, pid := range descendants(os.Getpid()) {
		tracked.Lock()
		mine := tracked.pids[pid]
		tracked.Unlock()
		if !mine {
			pids = append(pids, pid)
		}
	}
	dying := openPidfds(pids)
	dying.waitAll(200 * time.Millisecond)
	var left []string
	for pid := range dying {
		if alive(pid) {
			left = append(left, fmt.Sprintf("%d (%s)", pid, exePath(pid)))
		}
	}
	dying.close()
	if len(left) > 0 {
		b.logf("  left behind after %s, killed: %s", after, strings.Join(left, ", "))
	}
	killDescendants()
}

// cleanup kills every process the bench started and removes its files.
func (b *bench) cleanup() {
	killDescendants()
	if b.cfg.keep {
		b.logf("scratch directory kept: %s", b.tmp)
		return
	}
	os.RemoveAll(b.tmp)
}

// onInterrupt cleans up and exits when the bench itself is told to stop.
func (b *bench) onInterrupt() {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		sig := <-sigs
		b.logf("%v: stopping", sig)
		b.cleanup()
		os.Exit(130)
	}()
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

func (b *bench) progress(r recorder, format string, args ...any) {
	run := fmt.Sprintf("run %d/%d", b.run, b.cfg.runs)
	if r.warmup {
		run = "warm-up"
	}
	b.logf("%5s %s %s: %s", time.Since(b.began).Round(time.Second), run, r.tool.name, fmt.Sprintf(format, args...))
}
