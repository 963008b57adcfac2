package e2e

import (
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/slotrun/slotrun/slots"
)

func TestWorkersGetTheirSlotIDs(t *testing.T) {
	// No -- before the command: everything after it belongs to the worker
	// (the worker's own flag parser needs the inner --).
	p := start(t, "-n", "8", workerBin, "--", "--port", "80", "-x")
	pids := p.waitReady(0, seq(8)...)
	seen := map[int]bool{}
	for id, pid := range pids {
		if seen[pid] {
			t.Errorf("pid %d holds two ids", pid)
		}
		seen[pid] = true
		f := p.waitStdout(`^ready id=` + strconv.Itoa(id) + ` `)
		if f["count"] != "8" {
			t.Errorf("worker %d: COMET_PROCESS_COUNT=%q, want 8", id, f["count"])
		}
		if f["pgid"] != f["pid"] {
			t.Errorf("worker %d: pgid %s, want its own group %s", id, f["pgid"], f["pid"])
		}
		if f["ppid"] != strconv.Itoa(p.pid()) {
			t.Errorf("worker %d: parent %s, want slotrun %d", id, f["ppid"], p.pid())
		}
		if f["stdin"] != "/dev/null" {
			t.Errorf("worker %d: stdin is %s, want /dev/null", id, f["stdin"])
		}
		if f["args"] != "--port,80,-x" {
			t.Errorf("worker %d: args %q, want the flags after the command untouched", id, f["args"])
		}
	}
	table := openTable(t, p.dir, 8)
	for _, h := range table.Snapshot() {
		if h.PID != pids[h.Slot] || !h.Alive {
			t.Errorf("slot table: slot %d held by pid %d (alive %v); want worker %d", h.Slot, h.PID, h.Alive, pids[h.Slot])
		}
	}
	p.signal(syscall.SIGTERM)
	if code := p.wait(); code != 0 {
		t.Errorf("exit code %d after TERM; want 0", code)
	}
}

func TestSlotsSetTheIDSpace(t *testing.T) {
	p := start(t, "-n", "2", "--slots", "12", "--", workerBin)
	p.waitReady(0, 0, 1)
	if f := p.waitStdout(`^ready id=1 `); f["count"] != "12" {
		t.Errorf("COMET_PROCESS_COUNT=%q; want 12", f["count"])
	}
}

func TestWorkerStartsWithCleanSignalMasks(t *testing.T) {
	// grep is C: the masks it prints are the ones it was started with.
	code, stdout, _ := runOnce(t, t.TempDir(), "-n", "1", "--restart", "never", "--", "/bin/sh", "-c",
		"exec grep -E '^Sig(Blk|Ign):' /proc/self/status")
	if code != 0 {
		t.Fatalf("exit code %d; want 0", code)
	}
	for _, line := range strings.Split(stdout, "\n") {
		k, v, _ := strings.Cut(line, ":")
		if strings.Trim(v, " \t0") != "" {
			t.Errorf("%s %s; want no signal blocked or ignored", k, strings.TrimSpace(v))
		}
	}
	if !strings.Contains(stdout, "SigBlk") || !strings.Contains(stdout, "SigIgn") {
		t.Errorf("masks not reported: %q", stdout)
	}
}

func TestWorkerEnvironment(t *testing.T) {
	p := start(t, "-n", "1", "--env", "EXTRA=hello", "--", workerBin)
	if f := p.waitStdout(`^ready id=0 `); f["extra"] != "hello" {
		t.Errorf("EXTRA=%q; want hello from --env", f["extra"])
	}
}

// openTable opens the slot table slotrun made in dir, which must have size
// slots. (Opening it with a size of 1 never grows it.)
func openTable(t *testing.T, dir string, size int) *slots.Table {
	t.Helper()
	table, err := slots.Open(filepath.Join(dir, ".pid", "slotrun.slots"), 1)
	if err != nil {
		t.Fatal(err)
	}
	if table.Size() != size {
		t.Fatalf("slot table has %d slots; want %d", table.Size(), size)
	}
	t.Cleanup(func() { table.Close() })
	return table
}
