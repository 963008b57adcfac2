package slots_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/slotrun/slotrun/slots"
)

// helperPrefork is a worker of a prefork server: it prints "ready", waits
// for a line on stdin, takes an id itself if SLOTS_TEST_CLAIM is set
// (printing "self id N pid P"), then starts SLOTS_TEST_CHILDREN claim
// helpers that write to its stdout and share its fd 3, and runs until stdin
// closes.
func helperPrefork() int {
	fmt.Printf("ready pid %d\n", os.Getpid())
	var line string
	if _, err := fmt.Scanln(&line); err != nil {
		fmt.Fprintln(os.Stderr, "prefork:", err)
		return 1
	}
	path := os.Getenv("SLOTS_TEST_PATH")
	if os.Getenv("SLOTS_TEST_CLAIM") != "" {
		id, err := slots.GetProcessID(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "prefork:", err)
			return 1
		}
		fmt.Printf("self id %d pid %d\n", id, os.Getpid())
	}
	n, _ := strconv.Atoi(os.Getenv("SLOTS_TEST_CHILDREN"))
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "prefork:", err)
		return 1
	}
	for range n {
		c := exec.Command(exe)
		c.Env = append(os.Environ(), helperEnv+"=claim")
		// Not our stderr: the test reaps us while the children run, and
		// os/exec waits for every writer of a stderr it copies.
		c.Stdout, c.Stderr = os.Stdout, os.Stdout
		c.ExtraFiles = []*os.File{os.NewFile(3, "gate")}
		if err := c.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "prefork:", err)
			return 1
		}
	}
	io.Copy(io.Discard, os.Stdin)
	return 0
}

// helperClaim takes an id from SLOTS_TEST_PATH with GetProcessID, prints
// "claim id N pid P" (or "claim full pid P"), holds it until fd 3 closes,
// then gives it back.
func helperClaim() int {
	path := os.Getenv("SLOTS_TEST_PATH")
	id, err := slots.GetProcessID(path)
	switch {
	case errors.Is(err, slots.ErrNoFreeSlot):
		fmt.Printf("claim full pid %d\n", os.Getpid())
		waitGate()
		return 0
	case err != nil:
		fmt.Fprintln(os.Stderr, "claim:", err)
		return 1
	}
	fmt.Printf("claim id %d pid %d\n", id, os.Getpid())
	waitGate()
	if err := slots.ReleaseProcessID(path); err != nil {
		fmt.Fprintln(os.Stderr, "claim:", err)
		return 1
	}
	return 0
}

// claimed reads n "claim id N pid P" lines from c and returns the pids by
// id, failing on a duplicate id. The claimants are killed when the test
// ends, their parent or not.
func claimed(t *testing.T, c *child, n int) map[int]int {
	t.Helper()
	exe, _ := os.Executable()
	byID := map[int]int{}
	for range n {
		line := c.line()
		var id, pid int
		if _, err := fmt.Sscanf(line, "claim id %d pid %d", &id, &pid); err != nil {
			t.Fatalf("helper said %q, want \"claim id N pid P\"", line)
		}
		t.Cleanup(func() {
			if self, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); self == exe {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		})
		if other, dup := byID[id]; dup {
			t.Errorf("pids %d and %d both got id %d", other, pid, id)
		}
		byID[id] = pid
	}
	return byID
}

// startPrefork starts a prefork helper as the worker of slot 2 of the
// 8-slot table at path, handed the slot as slotrun does (AcquireSlot in the
// supervisor's name, fork, Transfer), and lets it go.
func startPrefork(t *testing.T, path string, tbl *slots.Table, claim bool, children int) (*child, func()) {
	t.Helper()
	me := os.Getpid()
	if err := tbl.AcquireSlot(2, me); err != nil {
		t.Fatal(err)
	}
	gateR, open := gate(t)
	env := []string{"SLOTS_TEST_PATH=" + path, "SLOTS_TEST_CHILDREN=" + strconv.Itoa(children),
		slots.EnvProcessID + "=2", slots.EnvProcessCount + "=8"}
	if claim {
		env = append(env, "SLOTS_TEST_CLAIM=1")
	}
	w := startChild(t, "prefork", env, gateR)
	w.expect(fmt.Sprintf("ready pid %d", w.pid))
	if err := tbl.Transfer(2, me, w.pid); err != nil {
		t.Fatal(err)
	}
	if _, err := w.stdin.WriteString("go\n"); err != nil {
		t.Fatal(err)
	}
	return w, open
}

// TestChildrenOfAWorkerThatClaimedItsIDGetIDsOfTheirOwn: a worker took its
// id with GetProcessID, then started four children that ask too (a prefork
// server): each child gets a free slot of its own, held in its own name.
func TestChildrenOfAWorkerThatClaimedItsIDGetIDsOfTheirOwn(t *testing.T) {
	path := newTable(t, 8)
	tbl := openTable(t, path, 8)
	w, endChildren := startPrefork(t, path, tbl, true, 4)
	w.expect(fmt.Sprintf("self id 2 pid %d", w.pid))
	ids := claimed(t, w, 4)
	if pid, ok := ids[2]; ok {
		t.Errorf("child pid %d got id 2, which its parent, the worker, has", pid)
	}
	hs := tbl.Snapshot()
	for id, pid := range ids {
		if hs[id].PID != pid {
			t.Errorf("slot %d: %+v; want it held by pid %d, which got id %d", id, hs[id], pid, id)
		}
	}
	if hs[2].PID != w.pid {
		t.Errorf("slot 2: %+v; want the worker pid %d", hs[2], w.pid)
	}

	endChildren()
	eventually(t, "the children give their ids back", func() bool {
		for _, h := range tbl.Snapshot() {
			if h.Slot != 2 && h.PID != 0 {
				return false
			}
		}
		return true
	})
}

// TestFirstChildOfAWorkerThatTakesNoIDGetsIt: a worker that does not use
// its id itself (a wrapper, a prefork parent) passes it to the first child
// that asks, and the slot moves to that child; the other children get free
// slots. When the worker exits, its supervisor cannot take the slot back
// while the child holds it, and gets it as soon as the child is gone.
func TestFirstChildOfAWorkerThatTakesNoIDGetsIt(t *testing.T) {
	path := newTable(t, 8)
	tbl := openTable(t, path, 8)
	w, endChildren := startPrefork(t, path, tbl, false, 4)
	ids := claimed(t, w, 4)
	heir, ok := ids[2]
	if !ok {
		t.Fatalf("no child got the worker's id 2: %v", ids)
	}
	for id, pid := range ids {
		if h := tbl.Snapshot()[id]; h.PID != pid || !h.Alive {
			t.Errorf("slot %d: %+v; want it held by pid %d, which got id %d", id, h, pid, id)
		}
	}

	// The worker dies and is reaped, as slotrun would see it.
	w.cmd.Process.Kill()
	w.wait()
	me := os.Getpid()
	if err := tbl.Transfer(2, w.pid, me); !errors.Is(err, slots.ErrNotHolder) {
		t.Errorf("Transfer from the dead worker while its child holds slot 2: %v; want ErrNotHolder", err)
	}
	var held *slots.SlotHeldError
	if err := tbl.AcquireSlot(2, me); !errors.As(err, &held) || held.PID != heir {
		t.Fatalf("AcquireSlot(2) while child pid %d holds it: %v; want a SlotHeldError naming it", heir, err)
	}
	endChildren()
	eventually(t, "the supervisor takes slot 2 back once the child is gone", func() bool {
		return tbl.AcquireSlot(2, me) == nil
	})
}

// TestTwoClaimantsOfOneAssignedIDGetDifferentIDs: two children of a
// supervisor that holds slot 2 both say COMET_PROCESS_ID=2 before the
// supervisor handed the slot to either: one gets id 2, the other a free
// slot. The supervisor uses the table itself, so the slot stays in its
// name, for it to hand over.
func TestTwoClaimantsOfOneAssignedIDGetDifferentIDs(t *testing.T) {
	path := newTable(t, 4)
	tbl := openTable(t, path, 4)
	if err := tbl.AcquireSlot(2, os.Getpid()); err != nil {
		t.Fatal(err)
	}
	held := readWord(t, path, 2)
	gateR, endChildren := gate(t)
	env := []string{"SLOTS_TEST_PATH=" + path, slots.EnvProcessID + "=2", slots.EnvProcessCount + "=4"}
	got := map[int]int{}
	for range 2 {
		c := startChild(t, "claim", env, gateR)
		for id, pid := range claimed(t, c, 1) {
			if other, dup := got[id]; dup {
				t.Errorf("pids %d and %d both got id %d", other, pid, id)
			}
			got[id] = pid
		}
	}
	if _, ok := got[2]; !ok || len(got) != 2 {
		t.Errorf("the two claimants got ids %v; want 2 and another", got)
	}
	if w := readWord(t, path, 2); w != held {
		t.Errorf("slot 2 word %#x; want the supervisor's %#x, for it to hand over", w, held)
	}
	endChildren()
}

// TestGetProcessIDThroughAnotherPathReturnsTheSameID: the same table reached
// through a symlinked directory is the same table: asking through it returns
// the id this process has, rather than a second one.
func TestGetProcessIDThroughAnotherPathReturnsTheSameID(t *testing.T) {
	path := newTable(t, 4)
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(filepath.Dir(path), link); err != nil {
		t.Fatal(err)
	}
	first := getProcessID(t, path)
	other := filepath.Join(link, filepath.Base(path))
	if again, err := slots.GetProcessID(other); again != first || err != nil {
		t.Errorf("GetProcessID(%s) = %d, %v; want %d, the id from %s", other, again, err, first, path)
	}
	if err := slots.ReleaseProcessID(other); err != nil {
		t.Fatalf("ReleaseProcessID(%s): %v", other, err)
	}
	if err := slots.ReleaseProcessID(path); !errors.Is(err, slots.ErrNotHolder) {
		t.Errorf("ReleaseProcessID(%s) after releasing it through %s: %v; want ErrNotHolder", path, other, err)
	}
	if w := readWord(t, path, first); w != 0 {
		t.Errorf("slot %d word %#x after ReleaseProcessID, want 0", first, w)
	}
}
