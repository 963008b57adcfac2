package slots_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/slotrun/slotrun/slots"
)

func TestFromEnv(t *testing.T) {
	tests := []struct {
		id, count string // "-" leaves the variable unset
		wantID    int
		wantCount int
		ok        bool
	}{
		{"0", "1", 0, 1, true},
		{"3", "8", 3, 8, true},
		{"7", "8", 7, 8, true},
		{"8", "8", 0, 0, false},
		{"-1", "8", 0, 0, false},
		{"0", "0", 0, 0, false},
		{"0", "-4", 0, 0, false},
		{"", "8", 0, 0, false},
		{"-", "8", 0, 0, false},
		{"2", "-", 0, 0, false},
		{"-", "-", 0, 0, false},
		{"abc", "8", 0, 0, false},
		{"2", "8x", 0, 0, false},
		{" 2", "8", 0, 0, false},
		{"1.0", "8", 0, 0, false},
		{"99999999999999999999", "8", 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("id=%q,count=%q", tt.id, tt.count), func(t *testing.T) {
			setenv(t, slots.EnvProcessID, tt.id)
			setenv(t, slots.EnvProcessCount, tt.count)
			id, count, ok := slots.FromEnv()
			if id != tt.wantID || count != tt.wantCount || ok != tt.ok {
				t.Errorf("FromEnv() = %d, %d, %v; want %d, %d, %v", id, count, ok, tt.wantID, tt.wantCount, tt.ok)
			}
		})
	}
}

// setenv sets key to value for the test, or unsets it if value is "-".
func setenv(t *testing.T, key, value string) {
	t.Setenv(key, value) // restores the old value after the test
	if value == "-" {
		os.Unsetenv(key)
	}
}

// getProcessID calls GetProcessID and releases the id when the test ends.
func getProcessID(t *testing.T, path string) int {
	t.Helper()
	id, err := slots.GetProcessID(path)
	if err != nil {
		t.Fatalf("GetProcessID(%s): %v", path, err)
	}
	t.Cleanup(func() { slots.ReleaseProcessID(path) })
	return id
}

func TestGetProcessIDCreatesATableOfGOMAXPROCSSlots(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".pid", "app.slots")
	if id := getProcessID(t, path); id != 0 {
		t.Errorf("first id from a new table = %d, want 0", id)
	}
	want := min(runtime.GOMAXPROCS(0), slots.MaxSlots)
	if got := openTable(t, path, 1).Size(); got != want {
		t.Errorf("new table has %d slots, want GOMAXPROCS = %d", got, want)
	}
}

func TestGetProcessIDKeepsTheSizeOfAnExistingTable(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(8))
	path := newTable(t, 2)
	getProcessID(t, path)
	if got := openTable(t, path, 1).Size(); got != 2 {
		t.Errorf("table has %d slots after GetProcessID with GOMAXPROCS 8, want its 2", got)
	}
}

func TestGetProcessIDTwiceReturnsTheSameID(t *testing.T) {
	other := startChild(t, "block", nil)
	other.expect("ready")
	path := newTable(t, 4)
	if err := openTable(t, path, 4).AcquireSlot(0, other.pid); err != nil {
		t.Fatal(err)
	}
	first := getProcessID(t, path)
	if first != 1 {
		t.Fatalf("GetProcessID = %d, want the lowest free slot, 1", first)
	}
	for _, p := range []string{path, filepath.Join(filepath.Dir(path), ".", filepath.Base(path))} {
		if again, err := slots.GetProcessID(p); again != first || err != nil {
			t.Errorf("GetProcessID(%s) again = %d, %v; want %d", p, again, err, first)
		}
	}
}

// TestGetProcessIDReturnsTheSlotASupervisorGaveIt: a worker whose supervisor
// transferred a slot to it finds that slot rather than taking another.
func TestGetProcessIDReturnsTheSlotASupervisorGaveIt(t *testing.T) {
	path := newTable(t, 4)
	if err := openTable(t, path, 4).AcquireSlot(2, os.Getpid()); err != nil {
		t.Fatal(err)
	}
	if id := getProcessID(t, path); id != 2 {
		t.Errorf("GetProcessID = %d, want slot 2 that this process holds", id)
	}
}

// TestGetProcessIDUnderASupervisor: a worker started with COMET_PROCESS_ID
// gets that id even before its supervisor (here the test process) handed
// the slot over, and ReleaseProcessID leaves the slot to the supervisor,
// which keeps it while the worker restarts.
func TestGetProcessIDUnderASupervisor(t *testing.T) {
	path := newTable(t, 4)
	table := openTable(t, path, 4)
	if err := table.AcquireSlot(2, os.Getpid()); err != nil {
		t.Fatal(err)
	}
	held := readWord(t, path, 2)
	worker := startChild(t, "getid", []string{"SLOTS_TEST_PATH=" + path,
		slots.EnvProcessID + "=2", slots.EnvProcessCount + "=4"})
	worker.expect("id 2")
	if code := worker.end(); code != 0 {
		t.Fatalf("worker exited %d", code)
	}
	if w := readWord(t, path, 2); w != held {
		t.Errorf("slot 2 word %#x after the worker's ReleaseProcessID; want the supervisor's %#x", w, held)
	}
	// Without COMET_PROCESS_ID the same helper takes the lowest free slot.
	other := startChild(t, "getid", []string{"SLOTS_TEST_PATH=" + path})
	other.expect("id 0")
	other.end()
}

// TestGetProcessIDUnderASupervisorWithReplicas: with ids spread over
// several supervisors (slotrun --ordinal 2 --replicas 3 --slots 4), a
// worker in slot 2 of this host's table is told id 10 of 12, and
// GetProcessID returns that id while the slot it holds stays slot 2, left
// to the supervisor at ReleaseProcessID. Without a usable SLOTRUN_SLOT it
// takes a free slot of its own, as any process not started by slotrun.
func TestGetProcessIDUnderASupervisorWithReplicas(t *testing.T) {
	path := newTable(t, 4)
	table := openTable(t, path, 4)
	if err := table.AcquireSlot(2, os.Getpid()); err != nil {
		t.Fatal(err)
	}
	held := readWord(t, path, 2)
	worker := startChild(t, "getid", []string{"SLOTS_TEST_PATH=" + path,
		slots.EnvProcessID + "=10", slots.EnvProcessCount + "=12", slots.EnvSlot + "=2"})
	worker.expect("id 10")
	if code := worker.end(); code != 0 {
		t.Fatalf("worker exited %d", code)
	}
	if w := readWord(t, path, 2); w != held {
		t.Errorf("slot 2 word %#x after the worker's ReleaseProcessID; want the supervisor's %#x", w, held)
	}
	for _, bad := range []string{"x", "11", "-1", "4"} {
		other := startChild(t, "getid", []string{"SLOTS_TEST_PATH=" + path,
			slots.EnvProcessID + "=10", slots.EnvProcessCount + "=12", slots.EnvSlot + "=" + bad})
		other.expect("id 0")
		other.end()
	}
}

func TestReleaseProcessID(t *testing.T) {
	path := newTable(t, 2)
	id, err := slots.GetProcessID(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := slots.ReleaseProcessID(path); err != nil {
		t.Fatalf("ReleaseProcessID: %v", err)
	}
	if w := readWord(t, path, id); w != 0 {
		t.Errorf("slot %d word %#x after ReleaseProcessID, want 0", id, w)
	}
	if err := slots.ReleaseProcessID(path); !errors.Is(err, slots.ErrNotHolder) {
		t.Errorf("second ReleaseProcessID: %v, want ErrNotHolder", err)
	}
	if err := slots.ReleaseProcessID(filepath.Join(t.TempDir(), "other.slots")); !errors.Is(err, slots.ErrNotHolder) {
		t.Errorf("ReleaseProcessID of a table never used: %v, want ErrNotHolder", err)
	}
}

func TestGetProcessIDFailsWhenEveryHolderIsAlive(t *testing.T) {
	holder := startChild(t, "block", nil)
	holder.expect("ready")
	path := newTable(t, 1)
	if err := openTable(t, path, 1).AcquireSlot(0, holder.pid); err != nil {
		t.Fatal(err)
	}
	if id, err := slots.GetProcessID(path); !errors.Is(err, slots.ErrNoFreeSlot) {
		t.Fatalf("GetProcessID = %d, %v; want ErrNoFreeSlot", id, err)
	}
	// The failure is not remembered: once the holder is gone, it works.
	holder.end()
	if id := getProcessID(t, path); id != 0 {
		t.Errorf("GetProcessID after the holder exited = %d, want 0", id)
	}
}

// TestRaceForSlotsHasOneWinnerPerSlot: 200 processes ask for an id from a
// 32-slot table at once. Exactly 32 get one, all different; the rest get
// ErrNoFreeSlot.
func TestRaceForSlotsHasOneWinnerPerSlot(t *testing.T) {
	const procs, size = 200, 32
	path := newTable(t, size)
	gateR, open := gate(t)
	children := make([]*child, procs)
	for i := range children {
		children[i] = startChild(t, "getid", []string{"SLOTS_TEST_PATH=" + path, "SLOTS_TEST_GATE=1"}, gateR)
	}
	for _, c := range children {
		c.expect("ready")
	}
	open()

	winner := map[int]*child{} // by slot
	var losers []*child
	for _, c := range children {
		line := c.line()
		var id int
		if line == "full" {
			losers = append(losers, c)
			continue
		}
		if _, err := fmt.Sscanf(line, "id %d", &id); err != nil {
			t.Fatalf("pid %d said %q, want \"id N\" or \"full\"", c.pid, line)
		}
		if id < 0 || id >= size {
			t.Errorf("pid %d got id %d, outside 0..%d", c.pid, id, size-1)
		}
		if other, dup := winner[id]; dup {
			t.Errorf("pids %d and %d both got id %d", other.pid, c.pid, id)
		}
		winner[id] = c
	}
	if len(winner) != size || len(losers) != procs-size {
		t.Fatalf("%d distinct ids and %d ErrNoFreeSlot, want %d and %d", len(winner), len(losers), size, procs-size)
	}
	for _, c := range losers {
		if code := c.wait(); code != exitFull {
			t.Errorf("loser pid %d exited %d, want %d; stderr: %s", c.pid, code, exitFull, c.errb.String())
		}
	}

	tbl := openTable(t, path, size)
	for _, h := range tbl.Snapshot() {
		if c := winner[h.Slot]; h.PID != c.pid || !h.Alive {
			t.Errorf("slot %d: %+v, want pid %d alive", h.Slot, h, c.pid)
		}
	}
	for _, c := range winner {
		c.stdin.Close() // all at once, then wait
	}
	for _, c := range winner {
		if code := c.wait(); code != 0 {
			t.Errorf("winner pid %d exited %d; stderr: %s", c.pid, code, c.errb.String())
		}
	}
	for _, h := range tbl.Snapshot() {
		if h.PID != 0 {
			t.Errorf("after every winner released its id, slot %d: %+v", h.Slot, h)
		}
	}
}
