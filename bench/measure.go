package main

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// Every measurement works on an instance and returns figures; the sessions
// below chain them on one supervisor the way a user would meet them: start,
// crashes, a reload signal, a stop.

const (
	startTimeout   = 60 * time.Second // PM2 starting 64 instances on a busy machine
	replaceTimeout = 10 * time.Second // supervisord's backoff can reach seconds
	signalTimeout  = 30 * time.Second // the CLI of a Node or Python tool
	stopTimeout    = 30 * time.Second
)

func ms(ns int64) float64 { return float64(ns) / 1e6 }

// measureStart waits for every worker and returns exec → last first line.
func measureStart(in *instance) (float64, error) {
	last, err := in.awaitStarted(startTimeout)
	if err != nil {
		return 0, err
	}
	return ms(last - in.t0), nil
}

// measureRestarts kills workers with SIGKILL, one at a time, and times each
// kill to its replacement's first line. It always kills the oldest worker,
// and only once it has run minAge: every tool here restarts a worker that
// ran long enough at once, and a quick one only after a delay (slotrun's
// --min-uptime, runit's and s6's one second). The next kill waits for the
// replacement: supervisord restarts a worker on its next wake-up, and
// another kill would wake it early.
//
// A run takes `kills` kills, or as many as fit in restartBudget (at least
// minKills): supervisord needs a second for each.
func (b *bench) measureRestarts(in *instance, kills int) ([]float64, error) {
	in.settle()
	var samples []float64
	end := time.Now().Add(restartBudget)
	for len(samples) < kills && (len(samples) < minKills || time.Now().Before(end)) {
		victim := oldest(in.live)
		if wait := time.Duration(victim.at + int64(b.cfg.minAge) - monotonic()); wait > 0 {
			time.Sleep(wait)
			in.settle()
		}
		t0 := monotonic()
		if err := unix.Kill(victim.pid, unix.SIGKILL); err != nil {
			return samples, fmt.Errorf("kill %d: %w", victim.pid, err)
		}
		at, err := awaitReplacement(in, victim.slot)
		if err != nil {
			return samples, err
		}
		samples = append(samples, ms(at-t0))
	}
	return samples, nil
}

const (
	restartBudget = 10 * time.Second
	minKills      = 5
)

// awaitReplacement waits for the first line of the worker that replaces
// the one killed in slot.
func awaitReplacement(in *instance, slot string) (int64, error) {
	deadline := time.Now().Add(replaceTimeout)
	for {
		ev, err := in.next(deadline)
		if err != nil {
			return 0, fmt.Errorf("slot %s: no replacement after kill -9: %w", slot, err)
		}
		if ev.kind == "start" && ev.slot == slot {
			return ev.at, nil
		}
	}
}

// oldest is the longest-running worker.
func oldest(live map[string]event) event {
	var best event
	for _, ev := range live {
		if best.pid == 0 || ev.at < best.at {
			best = ev
		}
	}
	return best
}

// measureHUP sends SIGHUP — through the tool's CLI, or with kill(2) to the
// supervisor when cmds is nil — and times it to the last worker's report.
func measureHUP(in *instance, cmds [][]string) (float64, error) {
	in.settle()
	var procs []*process
	t0 := monotonic()
	if cmds == nil {
		if err := unix.Kill(in.sup.pid, unix.SIGHUP); err != nil {
			return 0, err
		}
	}
	for _, argv := range cmds {
		p, err := startProcess(argv, in.env, in.dir, in.logf, true)
		if err != nil {
			return 0, err
		}
		procs = append(procs, p)
	}
	last, err := awaitHUPs(in)
	for _, p := range procs {
		if ferr := p.finish(signalTimeout); ferr != nil && err == nil {
			err = fmt.Errorf("%s: %w", cmds[0][0], ferr)
		}
	}
	if err != nil {
		return 0, err
	}
	return ms(last - t0), nil
}

// awaitHUPs waits until every current worker reported a HUP.
func awaitHUPs(in *instance) (int64, error) {
	deadline := time.Now().Add(signalTimeout)
	got := map[string]bool{}
	var last int64
	for len(got) < len(in.live) {
		ev, err := in.next(deadline)
		if err != nil {
			return 0, fmt.Errorf("%d of %d workers got HUP: %w", len(got), len(in.live), err)
		}
		if ev.kind == "hup" && in.live[ev.slot].pid == ev.pid && !got[ev.slot] {
			got[ev.slot] = true
			last = max(last, ev.at)
		}
	}
	return last, nil
}

// measureMemory sums RSS and PSS (MiB) over the supervisor's processes.
func measureMemory(in *instance) (rss, pss float64, err error) {
	var sum memory
	for _, pid := range in.supervisorPIDs() {
		m, err := readMemory(pid)
		if err != nil {
			return 0, 0, err
		}
		sum.rss += m.rss
		sum.pss += m.pss
	}
	return float64(sum.rss) / 1024, float64(sum.pss) / 1024, nil
}

// switchCounter sums context switches over a fixed set of processes.
type switchCounter []int

func (c switchCounter) count() (int64, error) {
	var sum int64
	for _, pid := range c {
		n, err := contextSwitches(pid)
		if err != nil {
			return 0, fmt.Errorf("supervisor process %d went away: %w", pid, err)
		}
		sum += n
	}
	return sum, nil
}

// stormFigures is what one crash storm gave.
type stormFigures struct {
	CPUSeconds float64 `json:"cpu_s"`
	Starts     int     `json:"starts"`
	Window     float64 `json:"window_s"`
	During     any     `json:"slots_during,omitempty"`
	After      any     `json:"slots_after,omitempty"`
}

// measureStorm lets crash-mode workers die and restart for the storm window
// and counts the supervisor's CPU time (utime+stime of its processes) and
// the starts it achieved.
func (b *bench) measureStorm(in *instance) (stormFigures, error) {
	if _, err := in.awaitStarted(startTimeout); err != nil {
		return stormFigures{}, err
	}
	pids := in.supervisorPIDs()
	cpu0 := cpuSnapshot(pids)
	end := time.Now().Add(b.cfg.storm)
	t0 := monotonic()
	starts := 0
	for {
		ev, err := in.next(end)
		if errors.Is(err, errTimeout) {
			break
		}
		if err != nil {
			return stormFigures{}, err
		}
		if ev.kind == "start" {
			starts++
		}
	}
	window := ms(monotonic()-t0) / 1000
	cpu := cpuSince(cpu0)
	if !alive(in.sup.pid) {
		return stormFigures{}, fmt.Errorf("%s died in the storm", in.tool.name)
	}
	return stormFigures{CPUSeconds: float64(cpu) / 1e9, Starts: starts, Window: window}, nil
}

// cpuSnapshot reads the CPU time of every thread of the given processes.
func cpuSnapshot(pids []int) map[int]map[int]int64 {
	m := map[int]map[int]int64{}
	for _, pid := range pids {
		m[pid] = threadCPU(pid)
	}
	return m
}

// cpuSince returns the CPU time (ns) the processes of a snapshot used since
// it was taken, thread by thread; a thread that ended meanwhile is not
// counted, one that started is counted whole.
func cpuSince(before map[int]map[int]int64) int64 {
	var sum int64
	for pid, threads := range before {
		for tid, ns := range threadCPU(pid) {
			sum += ns - threads[tid]
		}
	}
	return sum
}
