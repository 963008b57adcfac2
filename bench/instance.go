package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

const (
	modeServe = "serve" // workers wait for signals
	modeCrash = "crash" // workers exit right after their start line
)

// instance is one running supervisor with its workers, in a directory of
// its own: its configuration, its report FIFO, its logs, its PID files.
type instance struct {
	b    *bench
	tool *tool
	dir  string
	n    int
	mode string
	calm string   // once this file exists, crash-mode workers stay up
	env  []string // the supervisor's environment; its CLI commands get it too

	sup  *process
	rep  *reports
	logf *os.File
	t0   int64 // CLOCK_MONOTONIC just before the supervisor was exec'd

	live map[string]event // each slot's current worker, by its start line
}

// launch writes the tool's configuration and starts it. The clock starts
// just before the fork/exec of the supervisor.
func (b *bench) launch(t *tool, n int, mode string) (*instance, error) {
	return b.launchWith(t, n, mode, nil)
}

// launchWith is launch with more environment for the supervisor.
func (b *bench) launchWith(t *tool, n int, mode string, env []string) (*instance, error) {
	dir, err := os.MkdirTemp(b.tmp, t.name+"-")
	if err != nil {
		return nil, err
	}
	in := &instance{b: b, tool: t, dir: dir, n: n, mode: mode,
		calm: filepath.Join(dir, "calm"), live: map[string]event{}}
	if in.rep, err = openReports(filepath.Join(dir, "report.fifo")); err != nil {
		return nil, err
	}
	argv, extra, err := t.setup(in)
	if err != nil {
		in.close()
		return nil, fmt.Errorf("%s: configure: %w", t.name, err)
	}
	in.env = append(os.Environ(),
		"BENCH_REPORT="+in.rep.path, "BENCH_MODE="+mode, "BENCH_CALM="+in.calm)
	in.env = append(append(in.env, extra...), env...)
	if in.logf, err = os.Create(filepath.Join(dir, "supervisor.log")); err != nil {
		in.close()
		return nil, err
	}
	in.t0 = monotonic()
	if in.sup, err = startProcess(argv, in.env, dir, in.logf, true); err != nil {
		in.close()
		return nil, err
	}
	return in, nil
}

// next returns the next worker event, failing early if the supervisor died.
func (in *instance) next(deadline time.Time) (event, error) {
	for {
		step := time.Now().Add(200 * time.Millisecond)
		if step.After(deadline) {
			step = deadline
		}
		ev, err := in.rep.next(step)
		if err == nil {
			if ev.kind == "start" {
				in.live[ev.slot] = ev
			}
			return ev, nil
		}
		if !errors.Is(err, errTimeout) {
			return event{}, err
		}
		if waitReadable(in.sup.pidfd, 0) {
			return event{}, fmt.Errorf("%s exited unexpectedly; its log ends: %s", in.tool.name, in.logTail())
		}
		if !time.Now().Before(deadline) {
			return event{}, errTimeout
		}
	}
}

// settle takes in the events already read, so that the next measurement
// starts from a quiet instance with an up-to-date list of workers.
func (in *instance) settle() {
	for _, ev := range in.rep.drain() {
		if ev.kind == "start" {
			in.live[ev.slot] = ev
		}
	}
}

// awaitStarted waits until every one of the n slots has a worker that
// reported, and returns the time of the last of those first reports.
func (in *instance) awaitStarted(timeout time.Duration) (int64, error) {
	deadline := time.Now().Add(timeout)
	var last int64
	for len(in.live) < in.n {
		ev, err := in.next(deadline)
		if err != nil {
			return 0, fmt.Errorf("%d of %d workers started: %w", len(in.live), in.n, err)
		}
		if ev.kind == "start" && ev.at > last {
			last = ev.at
		}
	}
	return last, nil
}

// awaitAged waits until every current worker has run for at least age.
// Stops are measured on workers that have run a while, as in real use:
// runsv sleeps a second after a service that ran for less than one ends,
// even when runsv itself is about to exit.
func (in *instance) awaitAged(age time.Duration) {
	in.settle()
	var youngest int64
	for _, ev := range in.live {
		youngest = max(youngest, ev.at)
	}
	if d := youngest + int64(age) - monotonic(); d > 0 {
		time.Sleep(time.Duration(d))
	}
}

// supervisorPIDs lists the processes that make up the supervisor: the one
// the bench started and every descendant that is not a worker (s6-supervise
// and runsv, one per service). Memory, CPU and context switches are summed
// over them.
func (in *instance) supervisorPIDs() []int {
	pids := []int{in.sup.pid}
	workers := map[int]bool{}
	for _, ev := range in.live {
		workers[ev.pid] = true
	}
	for _, pid := range descendants(in.sup.pid) {
		if !workers[pid] && exePath(pid) != in.b.bin.worker && alive(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// stop sends the tool's stop signal and waits until the supervisor and
// everything under it are gone. It returns how long that took, in ns.
func (in *instance) stop(timeout time.Duration) (int64, error) {
	watch := openPidfds(append([]int{in.sup.pid}, descendants(in.sup.pid)...))
	defer watch.close()
	t0 := monotonic()
	if err := unix.Kill(in.sup.pid, in.tool.stopSignal); err != nil {
		return 0, fmt.Errorf("signal %s: %w", in.tool.name, err)
	}
	last, err := watch.waitAll(timeout)
	if err != nil {
		return 0, fmt.Errorf("%s stop: %w", in.tool.name, err)
	}
	if err := in.sup.wait(time.Second); err != nil {
		return 0, err
	}
	return last - t0, nil
}

// close kills whatever is left of the instance and reaps it. It is safe to
// call after stop, and more than once.
func (in *instance) close() {
	var pids []int
	for _, ev := range in.live {
		pids = append(pids, ev.pid)
	}
	if in.sup != nil && !in.sup.exited {
		// Freeze the tree first, so that nothing in it (a runsv in a
		// crash storm) forks a worker between the listing and the kill.
		tree := openPidfds(append([]int{in.sup.pid}, descendants(in.sup.pid)...))
		tree.signal(unix.SIGSTOP)
		awaitStopped(tree, 200*time.Millisecond)
		tree.close()
		pids = append(pids, in.sup.pid)
		pids = append(pids, descendants(in.sup.pid)...)
	}
	// Only processes of the bench's own tree: a worker that died long ago
	// may have left its pid to someone else.
	ours := map[int]bool{}
	for _, pid := range descendants(os.Getpid()) {
		ours[pid] = true
	}
	var kill []int
	for _, pid := range pids {
		if ours[pid] {
			kill = append(kill, pid)
		}
	}
	set := openPidfds(kill)
	set.signal(unix.SIGKILL)
	// Gone before the next measurement starts: a tree torn down while the
	// next start runs (64 workers, PM2's node) would take the processors
	// it measures.
	set.waitAll(killWait)
	set.close()
	if in.sup != nil {
		in.sup.kill()
	}
	if in.rep != nil {
		in.rep.close()
		in.rep = nil
	}
	if in.logf != nil {
		in.logf.Close()
		in.logf = nil
	}
}

// killWait bounds the wait for a killed tree to be gone.
const killWait = 2 * time.Second

// logTail returns the end of the supervisor's log, for error messages.
func (in *instance) logTail() string {
	b, err := os.ReadFile(filepath.Join(in.dir, "supervisor.log"))
	if err != nil {
		return ""
	}
	if len(b) > 400 {
		b = b[len(b)-400:]
	}
	return string(b)
}

// awaitStopped waits until every process of the set is stopped or gone.
func awaitStopped(set pidfdSet, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for pid := range set {
		for time.Now().Before(deadline) {
			st, err := readStat(pid)
			if err != nil || st.state == 'T' || st.state == 'Z' || st.state == 'X' {
				break
			}
			time.Sleep(time.Millisecond)
		}
	}
}
