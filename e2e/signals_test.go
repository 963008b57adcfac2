package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The signal tests rely on how a signal reaches the helper worker: the
// kernel delivers the lowest-numbered pending signal first and Go's runtime
// passes them on in that order, so once a worker has printed the line of a
// marker signal sent after signal X, X itself — had it been sent, and had X
// the lower number — would have been printed before the marker.

func TestSignalCommandReachesEveryWorker(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"HUP", "SIGHUP", "hup", "1"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := start(t, "-n", "4", "--", workerBin)
			pids := p.waitReady(0, seq(4)...)
			from := p.lineCount()
			// Another process in the same directory finds slotrun by its PID file.
			code, _, stderr := runOnce(t, p.dir, "signal", name)
			if code != 0 {
				t.Fatalf("slotrun signal %s: exit code %d, stderr %q; want 0", name, code, stderr)
			}
			for id, pid := range pids {
				waitLine(t, p.stdout, from, fmt.Sprintf(`^signal id=%d pid=%d sig=HUP$`, id, pid))
			}
		})
	}
}

func TestDefaultForwardedSignalsReachEveryWorker(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH} {
		name := strings.TrimPrefix(unix.SignalName(sig), "SIG")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := start(t, "-n", "2", "--", workerBin)
			pids := p.waitReady(0, 0, 1)
			from := p.lineCount()
			p.signal(sig)
			for id, pid := range pids {
				waitLine(t, p.stdout, from, fmt.Sprintf(`^signal id=%d pid=%d sig=%s$`, id, pid, name))
			}
		})
	}
}

// A forward action may send another signal than the one it acts on. ALRM
// has no default action, and would end slotrun uncaught: it is caught once
// the settings give it one, though the default signals are caught before
// the settings are read (internal/prestart).
func TestSignalForwardRewritesTheSignal(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		action   string
		sig      syscall.Signal
		sentName string
		want     string
	}{
		{"USR1=forward:USR2", syscall.SIGUSR1, "USR1", "USR2"},
		{"ALRM=forward:USR1", syscall.SIGALRM, "ALRM", "USR1"},
	} {
		t.Run(tt.action, func(t *testing.T) {
			t.Parallel()
			p := start(t, "-n", "2", "--signal", tt.action, "--", workerBin)
			pids := p.waitReady(0, 0, 1)
			from := p.lineCount()
			p.signal(tt.sig)
			for id, pid := range pids {
				waitLine(t, p.stdout, from, fmt.Sprintf(`^signal id=%d pid=%d sig=%s$`, id, pid, tt.want))
			}
			// WINCH (28) sent now would arrive after a signal with a
			// lower number sent before it.
			p.signal(syscall.SIGWINCH)
			for id, pid := range pids {
				marker, _ := waitLine(t, p.stdout, from, fmt.Sprintf(`^signal id=%d pid=%d sig=WINCH$`, id, pid))
				if got := linesMatching(p.stdout, from, marker, fmt.Sprintf(`^signal id=%d .*sig=%s$`, id, tt.sentName)); len(got) > 0 {
					t.Errorf("worker %d got %s itself: %q; want only %s", id, tt.sentName, got, tt.want)
				}
			}
			if !alive(p.pid()) {
				t.Errorf("slotrun died of %s", tt.sentName)
			}
		})
	}
}

func TestSignalIgnoreSendsNothing(t *testing.T) {
	t.Parallel()
	p := start(t, "-n", "2", "--signal", "HUP=ignore", "--", workerBin)
	pids := p.waitReady(0, 0, 1)
	from := p.lineCount()
	p.signal(syscall.SIGHUP)
	// USR2 (12) sent after HUP (1) would arrive after it.
	p.signal(syscall.SIGUSR2)
	for id, pid := range pids {
		marker, _ := waitLine(t, p.stdout, from, fmt.Sprintf(`^signal id=%d pid=%d sig=USR2$`, id, pid))
		if got := linesMatching(p.stdout, from, marker, fmt.Sprintf(`^signal id=%d .*sig=HUP$`, id)); len(got) > 0 {
			t.Errorf("worker %d got HUP under HUP=ignore: %q", id, got)
		}
	}
	if !alive(p.pid()) {
		t.Errorf("slotrun died of the ignored HUP")
	}
}

func TestSignalStopActionStopsGracefully(t *testing.T) {
	t.Parallel()
	p := start(t, "-n", "2", "--signal", "USR2=stop", "--", workerBin)
	pids := p.waitReady(0, 0, 1)
	p.signal(syscall.SIGUSR2)
	for id, pid := range pids {
		p.waitStdout(fmt.Sprintf(`^signal id=%d pid=%d sig=TERM$`, id, pid))
	}
	if code := p.wait(); code != 0 {
		t.Errorf("exit code %d after USR2=stop; want 0 (a graceful stop)", code)
	}
	p.waitEOF()
	if got := linesMatching(p.stdout, 0, p.lineCount(), `sig=USR2$`); len(got) > 0 {
		t.Errorf("workers got USR2 itself: %q; want only the stop signal", got)
	}
}

// A worker may start something while it handles the stop signal, as a shell
// trap running a cleanup command does. That process was born after the
// group got the signal. When the worker exits, what is left of its group
// gets the stop signal (docs/states.md, "Restart, backoff, give-up"), so the stop of processes that all
// obey TERM ends at once with 0, not with a SIGKILL after the timeout and 1.
func TestStopSignalReachesWhatAWorkerStartsWhileStopping(t *testing.T) {
	t.Parallel()
	const timeout = 2 * time.Second
	p := start(t, "-n", "1", "--stop-timeout", timeout.String(), "--", workerBin, "-spawn-on-term")
	p.waitReady(0, 0)
	p.signal(syscall.SIGTERM)
	late := p.waitStdout(`^grandchild id=0 `).int(t, "pid")
	began := time.Now()
	code := p.wait()
	if took := time.Since(began); took >= timeout {
		t.Errorf("slotrun exited %s after the worker did; want at once: pid %d, started by the worker while stopping, never got TERM and waited for the stop timeout (%s)",
			took.Round(time.Millisecond), late, timeout)
	}
	if code != 0 {
		t.Errorf("exit code %d; want 0: every process obeys TERM, none needed a SIGKILL", code)
	}
	if alive(late) {
		t.Errorf("pid %d, started by the worker while stopping, outlived slotrun", late)
	}
}

func TestHUPRestartRollsOneSlotAtATime(t *testing.T) {
	t.Parallel()
	// Without readiness, a new worker is up once it has lived min_uptime;
	// the helper prints its ready line within milliseconds of its start.
	p := start(t, "-n", "3", "--min-uptime", "400ms", "--signal", "HUP=restart", "--", workerBin)
	old := p.waitReady(0, 0, 1, 2)
	from := p.lineCount()
	p.signal(syscall.SIGHUP)
	prevReady := -1
	for id := range 3 {
		term, _ := waitLine(t, p.stdout, from, fmt.Sprintf(`^signal id=%d pid=%d sig=TERM$`, id, old[id]))
		if term < prevReady {
			t.Errorf("slot %d got TERM (stdout line %d) before slot %d's new worker was ready (line %d); want one slot at a time, in slot order",
				id, term, id-1, prevReady)
		}
		ready, f := waitLine(t, p.stdout, term, fmt.Sprintf(`^ready id=%d `, id))
		if pid := f.int(t, "pid"); pid == old[id] {
			t.Errorf("slot %d: ready again with the old pid %d; want a new process", id, pid)
		}
		prevReady = ready
	}
	p.waitStderr(`rolling restart done`)
	if got := linesMatching(p.stdout, from, p.lineCount(), `sig=TERM$`); len(got) != 3 {
		t.Errorf("%d TERM lines after one HUP: %q; want each of the 3 workers stopped once", len(got), got)
	}
	if got := linesMatching(p.stdout, from, p.lineCount(), `sig=HUP$`); len(got) > 0 {
		t.Errorf("HUP forwarded under HUP=restart: %q", got)
	}
}

func TestTTINAndTTOUScaleWithinTheSlots(t *testing.T) {
	t.Parallel()
	p := start(t, "-n", "2", "--slots", "3", "--", workerBin)
	pids := p.waitReady(0, 0, 1)
	table := openTable(t, p.dir, 3)

	p.signal(syscall.SIGTTIN)
	_, f := waitLine(t, p.stdout, 0, `^ready id=2 `)
	pids[2] = f.int(t, "pid")
	if f["count"] != "3" {
		t.Errorf("scaled-up worker: COMET_PROCESS_COUNT=%q; want 3 (the id space)", f["count"])
	}

	p.signal(syscall.SIGTTIN)
	p.waitStderr(`no free slot`)

	p.signal(syscall.SIGTTOU)
	p.waitStdout(fmt.Sprintf(`^signal id=2 pid=%d sig=TERM$`, pids[2]))
	eventually(t, waitFor, "slot 2 free in the slot table after TTOU", func() bool { return table.Snapshot()[2].PID == 0 })

	p.signal(syscall.SIGTTOU)
	p.waitStdout(fmt.Sprintf(`^signal id=1 pid=%d sig=TERM$`, pids[1]))
	eventually(t, waitFor, "slot 1 free in the slot table after the second TTOU", func() bool { return table.Snapshot()[1].PID == 0 })

	p.signal(syscall.SIGTTOU)
	p.waitStderr(`one worker is the minimum`)
	if h := table.Snapshot()[0]; h.PID != pids[0] || !h.Alive {
		t.Errorf("slot 0 held by pid %d (alive %v); want worker %d still running", h.PID, h.Alive, pids[0])
	}
	if got := linesMatching(p.stdout, 0, p.lineCount(), `^signal id=0 `); len(got) > 0 {
		t.Errorf("the last worker was signalled: %q", got)
	}
}

func TestSignalCommandWithoutPIDFileSaysNotRunning(t *testing.T) {
	t.Parallel()
	code, _, stderr := runOnce(t, t.TempDir(), "signal", "HUP")
	if code != 1 || !strings.Contains(stderr, "not running") {
		t.Errorf("slotrun signal HUP without a PID file: exit code %d, stderr %q; want 1 and `not running`", code, stderr)
	}
}

func TestSignalCommandNeverSignalsTheStalePID(t *testing.T) {
	t.Parallel()
	// A process whose default disposition of HUP kills it, named in a PID
	// file nobody holds the lock of.
	bystander := exec.Command(workerBin, "-sleep")
	if err := bystander.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		bystander.Process.Kill()
		bystander.Wait()
	})
	pid := bystander.Process.Pid
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, ".pid"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".pid", "slotrun.pid"), []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	code, _, stderr := runOnce(t, dir, "signal", "HUP")
	if code != 1 || !strings.Contains(stderr, "not running") {
		t.Errorf("slotrun signal HUP with a stale PID file: exit code %d, stderr %q; want 1 and `not running`", code, stderr)
	}
	if !survivesStop(t, pid) {
		t.Errorf("pid %d named in the stale PID file died: slotrun signal must never signal it", pid)
	}
}

func TestSignalCommandRejectsABadSignalName(t *testing.T) {
	t.Parallel()
	code, _, stderr := runOnce(t, t.TempDir(), "signal", "NOPE")
	if code != 2 || !strings.HasPrefix(stderr, "slotrun: ") || !strings.Contains(stderr, "NOPE") || strings.Contains(stderr, "\n") {
		t.Errorf("slotrun signal NOPE: exit code %d, stderr %q; want 2 and one line naming NOPE", code, stderr)
	}
}

// survivesStop reports whether pid is alive and had no signal that kills it
// pending or being handled. It stops the process and waits until it is
// seen stopped: SIGSTOP (19) is taken after any pending HUP (1), and a
// process dying of a signal never reaches the stopped state.
func survivesStop(t *testing.T, pid int) bool {
	t.Helper()
	if err := unix.Kill(pid, unix.SIGSTOP); err != nil {
		return false
	}
	defer unix.Kill(pid, unix.SIGCONT)
	var state byte
	eventually(t, waitFor, fmt.Sprintf("pid %d stopped or gone after SIGSTOP", pid), func() bool {
		state, _, _ = procStat(pid)
		return state == 'T' || !alive(pid)
	})
	return state == 'T'
}

// linesMatching returns the lines of o with index in [from, to) that match
// re; a to past the end means to the end.
func linesMatching(o *output, from, to int, re string) []string {
	rx := regexp.MustCompile(re)
	lines, _, _ := o.snapshot()
	var got []string
	for i := from; i < min(to, len(lines)); i++ {
		if rx.MatchString(lines[i]) {
			got = append(got, lines[i])
		}
	}
	return got
}

func TestRollingRestartHaltsWhenANewWorkerCannotStart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bin := filepath.Join(dir, "w")
	data, err := os.ReadFile(workerBin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	p := startIn(t, dir, "-n", "3", "--min-uptime", "100ms", "--backoff-min", "50ms", "--signal", "HUP=restart", "--", bin)
	p.waitReady(0, seq(3)...)
	// A deploy gone wrong: the binary is gone when slot 0 restarts.
	if err := os.Rename(bin, bin+".away"); err != nil {
		t.Fatal(err)
	}
	p.signal(syscall.SIGHUP)
	p.waitStderr(`rolling restart halted: the new worker could not start`)
	if err := os.Rename(bin+".away", bin); err != nil {
		t.Fatal(err)
	}
	// Slot 0 comes back under its restart policy; slots 1 and 2 were not
	// touched. A new HUP starts a new round instead of waiting for ever.
	from := p.lineCount()
	waitLine(t, p.stdout, from, `^ready id=0 `)
	p.signal(syscall.SIGHUP)
	waitLine(t, p.stderr, 0, `rolling restart: .*workers=3`)
	waitLine(t, p.stderr, 0, `rolling restart done`)
}

func TestScaleDownIsNotAFailure(t *testing.T) {
	t.Parallel()
	// Under --restart never, slotrun exits with the first failure's code.
	// A worker stopped by a scale-down did not fail.
	p := start(t, "-n", "2", "--restart", "never", "--", workerBin, "-exit-on-hup")
	p.waitReady(0, 0, 1)
	p.signal(syscall.SIGTTOU)
	p.waitStderr(`slot-1: worker exited:`)
	p.signal(syscall.SIGHUP) // slot 0 exits 0
	if code := p.wait(); code != 0 {
		t.Errorf("exit code %d; want 0: no worker failed", code)
	}
}
