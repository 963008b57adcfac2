package e2e

import (
	"strings"
	"syscall"
	"testing"
)

// A worker that is stopped (a debugger's STOP, TTOU from a terminal) is
// logged, and does not stall a graceful stop: CONT follows the stop signal,
// so the stop signal is acted on at once instead of after the timeout.
func TestStoppedWorkerIsLoggedAndDoesNotStallAStop(t *testing.T) {
	t.Parallel()
	p := start(t, "-n", "2", "--stop-timeout", "5s", "--", workerBin)
	pids := p.waitReady(0, 0, 1)
	if err := syscall.Kill(pids[0], syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	p.waitStderr(`worker stopped.*slot=0 .*signal=STOP`)
	p.signal(syscall.SIGTERM)
	if code := p.wait(); code != 0 {
		t.Errorf("exit code %d; want 0 (no kill at the stop timeout)", code)
	}
	if strings.Contains(p.stderr.text(), "killing") {
		t.Errorf("a stopped worker had to be killed:\n%s", p.stderr.text())
	}
}

// Ctrl-Z at a terminal sends TSTP to slotrun's process group, not to the
// workers, which lead groups of their own: slotrun passes it on and then
// stops itself, so the whole job stops; CONT (fg) continues all of it.
func TestCtrlZStopsTheWholeJob(t *testing.T) {
	t.Parallel()
	p := start(t, "-n", "2", "--", workerBin)
	pids := p.waitReady(0, 0, 1)
	all := []int{p.pid(), pids[0], pids[1]}
	p.signal(syscall.SIGTSTP)
	for _, pid := range all {
		eventually(t, waitFor, "every process of the job is stopped", func() bool {
			state, _, _ := procStat(pid)
			return state == 'T'
		})
	}
	p.signal(syscall.SIGCONT)
	for _, pid := range all {
		eventually(t, waitFor, "every process of the job runs again", func() bool {
			state, _, _ := procStat(pid)
			return state != 'T'
		})
	}
	p.signal(syscall.SIGTERM)
	if code := p.wait(); code != 0 {
		t.Errorf("exit code %d; want 0", code)
	}
}
