package e2e

import (
	"strings"
	"syscall"
	"testing"
)

// A worker's descendant that left its process group (setsid) is out of
// reach of the group's stop signal; once its parent is gone it is slotrun's
// child, and slotrun stops it before it exits.
func TestStopEndsWhatLeftTheWorkersGroup(t *testing.T) {
	t.Parallel()
	p := start(t, "-n", "1", "--", workerBin, "-detach")
	pid := p.waitStdout(`^detached id=0 `).int(t, "pid")
	p.signal(syscall.SIGTERM)
	if code := p.wait(); code != 0 {
		t.Errorf("exit code %d; want 0", code)
	}
	if alive(pid) {
		t.Errorf("the detached process %d outlived slotrun", pid)
	}
	p.waitStderr(`stopping processes the workers left behind`)
}

// One that ignores the stop signal is killed after the stop timeout, and
// the stop exits 1, as when a worker must be killed.
func TestStopKillsWhatLeftTheWorkersGroupAfterTheTimeout(t *testing.T) {
	t.Parallel()
	p := start(t, "-n", "1", "--stop-timeout", "500ms", "--", workerBin, "-detach", "-ignore-term")
	pid := p.waitStdout(`^detached id=0 `).int(t, "pid")
	p.signal(syscall.SIGTERM)
	if code := p.wait(); code != 1 {
		t.Errorf("exit code %d; want 1", code)
	}
	if alive(pid) {
		t.Errorf("the detached process %d outlived slotrun", pid)
	}
	if !strings.Contains(p.stderr.text(), "killing processes the workers left behind") {
		t.Errorf("the kill is not logged:\n%s", p.stderr.text())
	}
}
