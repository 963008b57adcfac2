package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
)

// metric is one row of the table.
type metric struct {
	id     string
	label  string // {small}, {large}, {kills}, {idle}, {storm} stand for the run's settings
	unit   string
	target string // from the issue, for slotrun
}

var metrics = []metric{
	{"restart", "restart latency: `kill -9` → replacement's first line ({small} workers, median of {kills} kills per run)", "ms", "< 5 ms"},
	{"start_small", "all {small} workers started: exec → last first line", "ms", "< 25 ms"},
	{"start_large", "all {large} workers started", "ms", "< 150 ms"},
	{"pss", "supervisor PSS, {large} workers", "MiB", "< 7 MiB"},
	{"rss", "supervisor RSS, {large} workers", "MiB", ""},
	{"idle", "supervisor context switches in {idle} idle, {small} workers", "", "≤ 2"},
	{"hup_cli", "HUP → last of {small} workers, via the tool's CLI", "ms", "< 4 ms"},
	{"hup_direct", "HUP → last of {small} workers, kill(supervisor, SIGHUP)", "ms", ""},
	{"stop_small", "graceful stop, {small} workers: stop signal → all gone", "ms", "< 15 ms"},
	{"stop_large", "graceful stop, {large} workers", "ms", "< 60 ms"},
	{"storm_cpu", "crash storm, {large} workers, {storm}: supervisor CPU time", "s", ""},
	{"storm_rate", "crash storm: restarts per second", "/s", ""},
	{"storm_cost", "crash storm: supervisor CPU per restart", "µs", ""},
	{"storm_stop", "crash storm: stop signal during it → all gone", "ms", ""},
	{"storm_slots", "crash storm: every slot held once by a live worker, all released at exit", "", "always"},
	{"rolling", "rolling restart of {small} ready-notifying workers: HUP → slotrun's own READY=1", "ms", ""},
	{"rolling_failed", "requests failed during a rolling restart of {small} examples/server under load (hey)", "", "0"},
	{"ready_status", "a worker's READY=1 → slotrun's own STATUS= update", "ms", ""},
	{"flood_cpu", "100,000 READY=1 from outside every worker's group: supervisor CPU time", "s", ""},
	{"flood_restart", "after that flood: restart latency ({small} workers, median)", "ms", ""},
	{"flood_idle", "after that flood: supervisor context switches in {idle} idle", "", "0"},
	{"start_one", "1 worker started (entrypoint use)", "ms", ""},
	{"hup_one", "HUP → 1 worker, kill(supervisor, SIGHUP)", "ms", ""},
	{"stop_one", "graceful stop, 1 worker", "ms", ""},
	{"idle_one", "supervisor context switches in {idle} idle, 1 worker", "", ""},
	{"status_rtt", "`slotrun status --json` round trip, CLI start included ({large} workers, median of 20 per run)", "ms", "< 5 ms"},
	{"scrape", "`/metrics` scrape round trip on loopback, kept-alive connection ({large} workers, median of 100 per run)", "ms", "< 1 ms server time"},
	{"pss_http", "supervisor PSS, {large} workers, control socket and --http on, after those requests", "MiB", "< 7 MiB"},
	{"idle_http", "supervisor context switches in {idle} idle, control socket and --http on", "", "0"},
	{"restart_calm", "restart latency, {large} workers, control socket and --http on (median of half as many kills as above per run)", "ms", ""},
	{"restart_stuck", "the same while 20 stalled clients, one sending a byte every 200 ms and one sending a 10 MB body every 200 ms hold the control socket", "ms", "unchanged"},
}

func metricByID(id string) metric {
	for _, m := range metrics {
		if m.id == id {
			return m
		}
	}
	panic("unknown metric " + id)
}

// applicable says whether a tool can do a measurement, and if not, why.
func applicable(t *tool, id string) (bool, string) {
	single := id == "start_one" || id == "hup_one" || id == "stop_one" || id == "idle_one"
	switch {
	case t.single && !single:
		return false, t.name + " runs one child and never restarts it"
	case strings.HasPrefix(id, "hup") && t.serving:
		return false, t.noDirectHUP
	case id == "hup_cli" && t.hupCommands == nil:
		return false, t.name + " has no command to signal its workers; signal the process itself"
	case (id == "hup_direct" || id == "hup_one") && !t.hupDirect:
		return false, t.noDirectHUP
	case strings.HasPrefix(id, "storm") && t.skipStorm:
		return false, "once started, it runs the floor's code: the floor's storm figures are its own"
	case id == "storm_slots" && !strings.HasPrefix(t.name, "slotrun"):
		return false, "no slot table to check"
	case (id == "rolling" || id == "rolling_failed" || id == "ready_status" || strings.HasPrefix(id, "flood")) && !t.serving:
		return false, "measured with --listen and --ready notify (slotrun-serve)"
	case id == "rolling_failed" && !heyInstalled():
		return false, "hey, the load generator, is not installed (apt-get install hey)"
	case slices.Contains(controlMetrics, id) && t.name != "slotrun":
		return false, "slotrun's control socket and --http server"
	}
	return true, ""
}

// report is everything the bench writes with --json.
type report struct {
	Command  string            `json:"command"`
	Machine  machine           `json:"machine"`
	Versions map[string]string `json:"versions"`
	Settings map[string]string `json:"settings"`
	Config   map[string]any    `json:"config"`
	Results  results           `json:"results"`
	Scale    scaleResults      `json:"scale,omitempty"` // tool → metric → N → series
}

func (b *bench) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(report{
		Command:  strings.Join(os.Args, " "),
		Machine:  b.machine,
		Versions: b.versions,
		Settings: b.settings(),
		Config: map[string]any{
			"runs": b.cfg.runs, "warmup": b.cfg.warmup, "small": b.cfg.small, "large": b.cfg.large,
			"kills": b.cfg.kills, "hups": b.cfg.hups, "idle_s": b.cfg.idle.Seconds(), "storm_s": b.cfg.storm.Seconds(),
			"min_age_ms": b.cfg.minAge.Milliseconds(), "restart_budget_s": restartBudget.Seconds(),
			"scale_n": b.cfg.scaleN,
		},
		Results: b.res,
		Scale:   b.scale,
	})
}

func (b *bench) settings() map[string]string {
	m := map[string]string{}
	for _, t := range b.tools {
		m[t.name] = t.settings
	}
	return m
}

// writeMarkdown prints the table: a row per measurement, a column per tool,
// each cell the median over the runs with the min–max range.
func (b *bench) writeMarkdown(w io.Writer) {
	notes := &footnotes{}
	fmt.Fprintf(w, "| measurement | %s | target |\n", strings.Join(b.toolNames(), " | "))
	fmt.Fprintf(w, "|---|%s---|\n", strings.Repeat("---|", len(b.tools)))
	for _, m := range metrics {
		label := b.labelOf(m)
		if m.unit != "" {
			label += " [" + m.unit + "]"
		}
		cells := []string{label}
		for _, t := range b.tools {
			cells = append(cells, b.cell(t, m, notes))
		}
		fmt.Fprintf(w, "| %s | %s |\n", strings.Join(cells, " | "), m.target)
	}
	fmt.Fprintln(w)
	for i, text := range notes.list {
		fmt.Fprintf(w, "%d. %s\n", i+1, text)
	}
}

// labelOf fills a metric's label with the counts and windows of this run.
func (b *bench) labelOf(m metric) string {
	return strings.NewReplacer(
		"{small}", fmt.Sprint(b.cfg.small),
		"{large}", fmt.Sprint(b.cfg.large),
		"{kills}", fmt.Sprint(b.cfg.kills),
		"{idle}", fmt.Sprintf("%g s", b.cfg.idle.Seconds()),
		"{storm}", fmt.Sprintf("%g s", b.cfg.storm.Seconds()),
	).Replace(m.label)
}

func (b *bench) toolNames() []string {
	var names []string
	for _, t := range b.tools {
		names = append(names, t.name)
	}
	return names
}

func (b *bench) cell(t *tool, m metric, notes *footnotes) string {
	if why := b.missing[t.name]; why != "" {
		return "n/a " + notes.ref(why)
	}
	if ok, why := applicable(t, m.id); !ok {
		return "n/a " + notes.ref(why)
	}
	s := b.res[t.name][m.id]
	if s == nil {
		return "–"
	}
	what := t.name + ", " + m.id
	if m.id == "storm_slots" {
		return fmt.Sprintf("ok %d/%d", len(s.Runs), len(s.Runs)+len(s.Errors)) + failureNote(s, notes, what)
	}
	return formatSeries(m, s, notes, what)
}

// formatSeries is a cell: the median over the runs with the min–max range,
// and a footnote, under what, for the runs that failed.
func formatSeries(m metric, s *series, notes *footnotes, what string) string {
	var out string
	switch {
	case len(s.Runs) == 0:
		out = "error"
	case len(s.Runs) == 1:
		out = formatValue(m, s.Median)
	default:
		out = fmt.Sprintf("%s (%s–%s)", formatValue(m, s.Median), formatValue(m, s.Min), formatValue(m, s.Max))
	}
	return out + failureNote(s, notes, what)
}

// failureNote refers to a footnote on the runs of s that failed, if any.
func failureNote(s *series, notes *footnotes, what string) string {
	if len(s.Errors) == 0 {
		return ""
	}
	return " " + notes.ref(fmt.Sprintf("%s: %d run(s) failed: %s", what, len(s.Errors), s.Errors[0]))
}

// formatValue keeps three significant digits for times, whole numbers for
// counts.
func formatValue(m metric, v float64) string {
	switch m.unit {
	case "ms", "s":
		return sig3(v)
	case "MiB":
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.0f", v)
	}
}

func sig3(v float64) string {
	switch a := math.Abs(v); {
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	case a >= 1:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}

// footnotes numbers the reasons behind n/a and error cells, each once.
type footnotes struct{ list []string }

func (f *footnotes) ref(text string) string {
	for i, t := range f.list {
		if t == text {
			return fmt.Sprintf("[%d]", i+1)
		}
	}
	f.list = append(f.list, text)
	return fmt.Sprintf("[%d]", len(f.list))
}

// writeContext prints the machine, versions and settings under the table.
func (b *bench) writeContext(w io.Writer) {
	m := b.machine
	fmt.Fprintf(w, "\nMachine: %d CPUs, %s, kernel %s, %s RAM, %s; load average %s at start, %s at end.\n",
		m.CPUs, m.CPU, m.Kernel, m.Memory, m.Go, m.LoadStart, m.LoadEnd)
	fmt.Fprintln(w, "\nVersions and settings:")
	for _, t := range b.tools {
		v := b.versions[t.name]
		if v == "" {
			v = "not installed"
		}
		fmt.Fprintf(w, "- %s (%s): %s\n", t.name, v, t.settings)
	}
}
