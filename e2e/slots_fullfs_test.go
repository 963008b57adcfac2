package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/slotrun/slotrun/internal/testfs"
)

// oneLine fails the test unless stderr is one line and no Go crash.
func oneLine(t *testing.T, stderr string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	if len(lines) != 1 || strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "SIGBUS") || strings.Contains(stderr, "panic") {
		t.Errorf("stderr is %d lines; want one line that says what failed:\n%s", len(lines), stderr)
	}
}

// TestSlotTableOnAFullFileSystem: a table that does not fit on its file
// system (600 slots, 4864 bytes, on a 4 KiB tmpfs) makes slotrun exit 1
// with one line, and leave no PID file: no SIGBUS, no Go stack trace.
func TestSlotTableOnAFullFileSystem(t *testing.T) {
	t.Parallel()
	tmp := testfs.MountTmpfs(t, 4096)
	run := t.TempDir()
	code, stdout, stderr := runOnce(t, run, "-n", "1", "--slots", "600", "--slots-file", filepath.Join(tmp, "ids.slots"), "--", workerBin)
	if code != 1 {
		t.Errorf("exit code %d; want 1", code)
	}
	oneLine(t, stderr)
	if !strings.Contains(stderr, "ids.slots") || !strings.Contains(stderr, "no space left on device") {
		t.Errorf("stderr %q should name the slot table and say the device is full", stderr)
	}
	if stdout != "" {
		t.Errorf("stdout %q; want nothing", stdout)
	}
	if _, err := os.Stat(filepath.Join(run, ".pid", "slotrun.pid")); !os.IsNotExist(err) {
		t.Errorf("pid file left behind: %v", err)
	}
}

// TestStartAfterTheFileSystemWasFull: a start that could not create the
// table, the file system being full, leaves nothing that refuses the next
// start once there is room.
func TestStartAfterTheFileSystemWasFull(t *testing.T) {
	t.Parallel()
	tmp := testfs.MountTmpfs(t, 4096)
	ballast := filepath.Join(tmp, "ballast")
	if err := os.WriteFile(ballast, make([]byte, 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	run := t.TempDir()
	table := filepath.Join(tmp, "ids.slots")
	code, _, stderr := runOnce(t, run, "-n", "2", "--slots-file", table, "--", workerBin)
	if code != 1 {
		t.Errorf("start on a full file system: exit code %d; want 1", code)
	}
	oneLine(t, stderr)

	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	p := startIn(t, run, "-n", "2", "--slots-file", table, "--", workerBin)
	p.waitReady(0, 0, 1)
	p.signal(syscall.SIGTERM)
	if code := p.wait(); code != 0 {
		t.Errorf("second start: exit code %d after TERM; want 0\n%s", code, p.stderr.text())
	}
}
