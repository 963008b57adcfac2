package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// A session is one supervisor's life: started, measured, stopped. Each run
// of the bench runs every session of every tool once; runs interleave the
// tools, so that a burst of load elsewhere on the machine spreads over all
// of them instead of landing on one.

// recorder files figures under a tool, or drops them in the warm-up run.
type recorder struct {
	b      *bench
	tool   *tool
	warmup bool
}

func (r recorder) value(metric string, v float64, samples []float64) {
	if !r.warmup {
		r.b.res.get(r.tool.name, metric).add(v, samples)
	}
}

func (r recorder) detail(metric string, d any) {
	if !r.warmup {
		s := r.b.res.get(r.tool.name, metric)
		s.Details = append(s.Details, d)
	}
}

// fail records err against every metric the session had left to measure.
func (r recorder) fail(err error, metrics ...string) {
	r.b.logf("  %s: %v", r.tool.name, err)
	for _, m := range metrics {
		s := r.b.res.get(r.tool.name, m)
		s.Errors = append(s.Errors, err.Error())
	}
}

// sessionSmall: start N workers, kill them one by one, HUP them. Their
// graceful stop is measured at the end of the idle phase, on supervisors
// that have run a while.
func (b *bench) sessionSmall(r recorder) {
	t := r.tool
	starts, in, err := b.repeatStarts(t, b.cfg.small)
	if err != nil {
		r.fail(err, "start_small", "restart", "hup_cli", "hup_direct")
		return
	}
	defer in.close()
	kills := b.cfg.kills
	if r.warmup {
		kills = min(kills, 2) // only to page the restart path in
	}
	// Each step measures one row; a failure fails its row and the ones after.
	steps := []struct {
		metric string
		run    func() error
	}{
		{"start_small", func() error {
			r.value("start_small", median(starts), starts)
			b.progress(r, "start %d: %.2f ms (median of %d)", b.cfg.small, median(starts), len(starts))
			return nil
		}},
		{"restart", func() error {
			samples, err := b.measureRestarts(in, kills)
			if err == nil {
				r.value("restart", median(samples), samples)
				b.progress(r, "restart: median %.2f ms of %d", median(samples), len(samples))
			}
			return err
		}},
		{"hup_cli", func() error {
			if t.hupCommands == nil {
				return nil
			}
			return b.repeatHUP(r, in, "hup_cli", t.hupCommands(in))
		}},
		{"hup_direct", func() error {
			if !t.hupDirect {
				return nil
			}
			return b.repeatHUP(r, in, "hup_direct", nil)
		}},
	}
	for i, st := range steps {
		if err := st.run(); err != nil {
			var rest []string
			for _, later := range steps[i:] {
				rest = append(rest, later.metric)
			}
			r.fail(fmt.Errorf("%s: %w", st.metric, err), rest...)
			return
		}
	}
}

// repeatHUP takes a few HUP timings and records their median.
func (b *bench) repeatHUP(r recorder, in *instance, metric string, cmds [][]string) error {
	var samples []float64
	for range b.cfg.hups {
		v, err := measureHUP(in, cmds)
		if err != nil {
			return err
		}
		samples = append(samples, v)
		time.Sleep(20 * time.Millisecond)
	}
	r.value(metric, median(samples), samples)
	b.progress(r, "%s: %.2f ms", metric, median(samples))
	return nil
}

// sessionLarge: start the large count of workers, read the supervisor's
// memory, stop.
func (b *bench) sessionLarge(r recorder) {
	f, done, err := b.measureLife(r.tool, b.cfg.large)
	if err != nil {
		// done stages succeeded: start, memory, stop.
		left := [][]string{{"start_large"}, {"pss", "rss"}, {"stop_large"}}
		r.fail(err, slices.Concat(left[done:]...)...)
	}
	if done >= 1 {
		r.value("start_large", f.start, nil)
	}
	if done >= 2 {
		r.value("pss", f.pss, nil)
		r.value("rss", f.rss, nil)
	}
	if done == 3 {
		r.value("stop_large", f.stop, nil)
		b.progress(r, "start %d: %.1f ms, PSS %.2f MiB, stop %.1f ms", b.cfg.large, f.start, f.pss, f.stop)
	}
}

// memoryDelay is how long after the workers have aged the bench reads a
// supervisor's memory.
const memoryDelay = 500 * time.Millisecond

// lifeFigures are what one supervisor of n serving workers gave from its
// start to its stop.
type lifeFigures struct {
	start    float64 // ms, exec → the last worker's first line
	rss, pss float64 // MiB, summed over the supervisor's processes
	stop     float64 // ms, stop signal → all gone
}

// measureLife starts n workers, reads the supervisor's memory, and stops
// it once every worker has run minAge. done counts the figures it got, in
// that order (start, memory, stop); on an error, the ones after failed.
func (b *bench) measureLife(t *tool, n int) (f lifeFigures, done int, err error) {
	in, err := b.launch(t, n, modeServe)
	if err != nil {
		return f, 0, err
	}
	defer in.close()
	if f.start, err = measureStart(in); err != nil {
		return f, 0, fmt.Errorf("start: %w", err)
	}
	// Memory as it stays: once every worker has run minAge, past the
	// supervisor's min-uptime, where its start-up work ends (slotrun
	// settles its memory a second time then), and a moment more for what
	// that work leaves to the runtime.
	in.awaitAged(b.cfg.minAge)
	time.Sleep(memoryDelay)
	if f.rss, f.pss, err = measureMemory(in); err != nil {
		return f, 1, fmt.Errorf("memory: %w", err)
	}
	d, err := in.stop(stopTimeout)
	if err != nil {
		return f, 2, fmt.Errorf("stop: %w", err)
	}
	f.stop = ms(d)
	return f, 3, nil
}

// sessionSingle: one worker, as a container entrypoint runs it. The last
// start stays up for the HUPs; its stop is measured in the idle phase.
func (b *bench) sessionSingle(r recorder) {
	samples, in, err := b.repeatStarts(r.tool, 1)
	if err != nil {
		r.fail(err, "start_one", "hup_one")
		return
	}
	defer in.close()
	v := median(samples)
	r.value("start_one", v, samples)
	if r.tool.hupDirect {
		if err := b.repeatHUP(r, in, "hup_one", nil); err != nil {
			r.fail(fmt.Errorf("HUP: %w", err), "hup_one")
			return
		}
	}
	b.progress(r, "one worker: start %.2f ms (median of %d)", v, len(samples))
}

// repeatStarts starts the tool with n workers several times and returns
// each start's time, with the last instance still running. A start is a
// few milliseconds and one sample says little on a noisy machine, so a
// run takes the median of repeatedStarts starts, or of as many as fit in
// startsBudget, at least minStarts (supervisord and PM2 take a second or
// more).
func (b *bench) repeatStarts(t *tool, n int) ([]float64, *instance, error) {
	var samples []float64
	var in *instance
	end := time.Now().Add(startsBudget)
	for len(samples) < repeatedStarts && (len(samples) < minStarts || time.Now().Before(end)) {
		if in != nil {
			in.close()
		}
		var err error
		if in, err = b.launch(t, n, modeServe); err != nil {
			return nil, nil, err
		}
		v, err := measureStart(in)
		if err != nil {
			in.close()
			return nil, nil, fmt.Errorf("start: %w", err)
		}
		samples = append(samples, v)
	}
	return samples, in, nil
}

const (
	repeatedStarts = 9
	minStarts      = 3
	startsBudget   = 3 * time.Second
)

// sessionStorm: the large count of workers that exit as soon as they have
// started. The storm window gives the supervisor's CPU time and restart
// rate; then the tool is told to stop while the storm goes on, as an
// orchestrator would stop a crash-looping deployment. For slotrun, the slot
// table is checked in between (slotStormCheck).
func (b *bench) sessionStorm(r recorder) {
	left := []string{"storm_cpu", "storm_rate", "storm_cost", "storm_stop", "storm_slots"}
	slotrun := strings.HasPrefix(r.tool.name, "slotrun")
	if !slotrun {
		left = left[:4]
	}
	in, err := b.launch(r.tool, b.cfg.large, modeCrash)
	if err != nil {
		r.fail(err, left...)
		return
	}
	defer in.close()
	f, err := b.measureStorm(in)
	if err != nil {
		r.fail(fmt.Errorf("storm: %w", err), left...)
		return
	}
	r.value("storm_cpu", f.CPUSeconds, nil)
	r.value("storm_rate", float64(f.Starts)/f.Window, nil)
	if f.Starts > 0 {
		r.value("storm_cost", f.CPUSeconds/float64(f.Starts)*1e6, nil)
	}
	slots := "n/a"
	var slotErr error
	if slotrun {
		if slotErr = slotStormCheck(in, &f); slotErr != nil {
			r.fail(slotErr, "storm_slots")
			slots = "FAILED"
		}
	}
	r.detail("storm_cpu", f)

	stop := "failed"
	d, err := in.stop(stormStopTimeout)
	if err != nil {
		r.fail(fmt.Errorf("stop during the crash storm: %w", err), "storm_stop")
	} else {
		r.value("storm_stop", ms(d), nil)
		stop = fmt.Sprintf("%.1f ms", ms(d))
	}
	if slotrun && slotErr == nil && err == nil {
		if err := slotrunExitedClean(in); err != nil {
			r.fail(err, "storm_slots")
			slots = "FAILED"
		} else {
			r.value("storm_slots", 1, nil)
			slots = "ok"
		}
	}
	b.progress(r, "storm: %.2f s CPU, %d starts in %.1f s, stop during it %s, slots %s",
		f.CPUSeconds, f.Starts, f.Window, stop, slots)
}

// stormStopTimeout bounds the stop during a storm; a tool that has not
// stopped by then is reported as failed.
const stormStopTimeout = 15 * time.Second

// slotStormCheck reads slotrun's slot table at the end of the storm window,
// calms the storm and checks that every slot ends up held exactly once by a
// live worker of its own id, then lets the storm resume so that the stop
// that follows happens in the middle of it.
func slotStormCheck(in *instance, f *stormFigures) error {
	during, after, err := checkSlotsAfterStorm(in)
	f.During, f.After = during, after
	if err != nil {
		return err
	}
	return resumeStorm(in)
}

// resumeStorm removes the calm file and kills the calm workers: slotrun
// restarts them at once, and they crash again.
func resumeStorm(in *instance) error {
	if err := os.Remove(in.calm); err != nil {
		return err
	}
	in.settle()
	for _, ev := range in.live {
		unix.Kill(ev.pid, unix.SIGKILL)
	}
	deadline := time.Now().Add(5 * time.Second)
	for starts := 0; starts < in.n; {
		ev, err := in.next(deadline)
		if err != nil {
			return fmt.Errorf("storm did not resume after the slot check: %w", err)
		}
		if ev.kind == "start" {
			starts++
		}
	}
	return nil
}

// slotrunExitedClean checks what slotrun left after the stop: exit code 0,
// and every slot of the table released.
func slotrunExitedClean(in *instance) error {
	if st := in.sup.status; !st.Exited() || st.ExitStatus() != 0 {
		return fmt.Errorf("slotrun exited with status %#x after a stop during the storm; its log ends: %s", uint32(st), in.logTail())
	}
	words, err := readSlotTable(filepath.Join(in.dir, ".pid", "slotrun.slots"))
	if err != nil {
		return err
	}
	for i, w := range words {
		if w != 0 {
			return fmt.Errorf("slot %d still names pid %d after slotrun exited", i, uint32(w))
		}
	}
	return nil
}

// idleCase is one supervisor of the idle phase, and the rows it gives.
type idleCase struct {
	tool       *tool
	n          int
	idleMetric string
	stopMetric string
	in         *instance
	pids       switchCounter
	before     int64
}

// idlePhase starts every tool at once, with the small count of workers and
// with one, lets them settle, and counts each supervisor's context switches
// over the idle window; then it stops them one after the other and times
// each stop, on supervisors that have run a while, as a user's would have.
// Idle wake-ups are timers and polls of each tool's own, so running the
// tools side by side changes nothing but the wall time; while one stops,
// the others sleep.
func (b *bench) idlePhase(tools []*tool, run int) {
	var cases []*idleCase
	for _, t := range tools {
		if !t.single {
			cases = append(cases, &idleCase{tool: t, n: b.cfg.small, idleMetric: "idle", stopMetric: "stop_small"})
		}
		cases = append(cases, &idleCase{tool: t, n: 1, idleMetric: "idle_one", stopMetric: "stop_one"})
	}
	defer func() {
		for _, c := range cases {
			if c.in != nil {
				c.in.close()
			}
		}
		b.sweep("the idle phase")
	}()
	var up []*idleCase
	for _, c := range cases {
		r := recorder{b: b, tool: c.tool}
		in, err := b.launch(c.tool, c.n, modeServe)
		if err == nil {
			c.in = in
			_, err = in.awaitStarted(startTimeout)
		}
		if err != nil {
			r.fail(fmt.Errorf("idle: %w", err), c.idleMetric, c.stopMetric)
			continue
		}
		up = append(up, c)
	}
	time.Sleep(time.Second) // start-up work done, timers armed
	for _, c := range up {
		c.pids = c.in.supervisorPIDs()
		c.before, _ = c.pids.count()
	}
	time.Sleep(b.cfg.idle)
	for _, c := range up {
		r := recorder{b: b, tool: c.tool}
		after, err := c.pids.count()
		if err != nil {
			r.fail(fmt.Errorf("idle: %w", err), c.idleMetric)
			continue
		}
		r.value(c.idleMetric, float64(after-c.before), nil)
	}
	for _, c := range up {
		r := recorder{b: b, tool: c.tool}
		d, err := c.in.stop(stopTimeout)
		if err != nil {
			r.fail(fmt.Errorf("stop: %w", err), c.stopMetric)
			continue
		}
		r.value(c.stopMetric, ms(d), nil)
	}
	b.logf("%5s idle run %d/%d: done", time.Since(b.began).Round(time.Second), run, b.cfg.runs)
}
