package e2e

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestSecondInstanceInTheSameDirectoryIsRefused(t *testing.T) {
	t.Parallel()
	first := start(t, "-n", "2", "--", workerBin)
	pids := first.waitReady(0, 0, 1)

	began := time.Now()
	second := startIn(t, first.dir, "-n", "2", "--", workerBin)
	code := second.wait()
	took := time.Since(began)
	second.waitEOF()
	if code != 1 {
		t.Errorf("second instance: exit code %d; want 1", code)
	}
	if took > 3*time.Second {
		t.Errorf("second instance took %s to give up; want it to fail at once", took)
	}
	want := fmt.Sprintf("already running (pid %d", first.pid())
	if stderr := second.stderr.text(); !strings.Contains(stderr, want) {
		t.Errorf("second instance's stderr %q; want it to contain %q", stderr, want)
	}
	if out := second.stdout.text(); out != "" {
		t.Errorf("second instance started workers: its stdout is %q; want nothing", out)
	}

	if !alive(first.pid()) {
		t.Fatalf("first instance died when the second one started")
	}
	if got := readPIDFile(t, first.dir); got != first.pid() {
		t.Errorf("PID file names %d; want the first instance, %d", got, first.pid())
	}
	for _, h := range openTable(t, first.dir, 2).Snapshot() {
		if h.PID != pids[h.Slot] || !h.Alive {
			t.Errorf("slot %d held by pid %d (alive %v); want the first instance's worker %d", h.Slot, h.PID, h.Alive, pids[h.Slot])
		}
	}
}

func TestKilledSupervisorTakesItsWorkersAlongAndIsReplaced(t *testing.T) {
	t.Parallel()
	first := start(t, "-n", "3", "--", workerBin)
	pids := first.waitReady(0, 0, 1, 2)
	if err := first.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	first.wait()
	killed := time.Now()

	// Parent-death signal: no worker outlives slotrun holding a slot. It
	// takes milliseconds; the bound is only there to keep the test finite.
	eventually(t, 3*time.Second, "every worker dead after kill -9 of slotrun", func() bool {
		for _, pid := range pids {
			if alive(pid) {
				return false
			}
		}
		return true
	})
	t.Logf("workers gone %s after slotrun was killed", time.Since(killed).Round(time.Millisecond))

	if got := readPIDFile(t, first.dir); got != first.pid() {
		t.Fatalf("stale PID file names %d; want the killed instance, %d", got, first.pid())
	}
	second := startIn(t, first.dir, "-n", "3", "--", workerBin)
	second.waitReady(0, 0, 1, 2)
	if got := readPIDFile(t, first.dir); got != second.pid() {
		t.Errorf("PID file names %d after the takeover; want the new instance, %d", got, second.pid())
	}
}

func TestCleanExitRemovesPIDFileAndFreesSlots(t *testing.T) {
	t.Parallel()
	p := start(t, "-n", "3", "--", workerBin)
	p.waitReady(0, 0, 1, 2)
	if got := readPIDFile(t, p.dir); got != p.pid() {
		t.Errorf("PID file names %d; want slotrun, %d", got, p.pid())
	}
	p.signal(syscall.SIGTERM)
	if code := p.wait(); code != 0 {
		t.Fatalf("exit code %d after TERM; want 0", code)
	}
	if _, err := os.Stat(pidFilePath(p.dir)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("PID file after a clean exit: %v; want it removed", err)
	}
	for _, h := range openTable(t, p.dir, 3).Snapshot() {
		if h.PID != 0 {
			t.Errorf("slot %d still names pid %d (alive %v) after a clean exit; want it free", h.Slot, h.PID, h.Alive)
		}
	}
}

func pidFilePath(dir string) string { return filepath.Join(dir, ".pid", "slotrun.pid") }

// readPIDFile returns the PID in dir's default PID file, which must be a
// decimal number and a newline.
func readPIDFile(t *testing.T, dir string) int {
	t.Helper()
	data, err := os.ReadFile(pidFilePath(dir))
	if err != nil {
		t.Fatalf("read the PID file: %v", err)
	}
	s, ok := strings.CutSuffix(string(data), "\n")
	pid, err := strconv.Atoi(s)
	if !ok || err != nil {
		t.Fatalf("PID file holds %q; want a PID and a newline", data)
	}
	return pid
}
