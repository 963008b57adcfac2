package slots_test

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/slotrun/slotrun/slots"
)

func TestAcquireTakesTheLowestFreeSlot(t *testing.T) {
	tbl := openTable(t, newTable(t, 4), 4)
	pid := os.Getpid()
	for want := range 4 {
		if got, err := tbl.Acquire(pid); got != want || err != nil {
			t.Fatalf("Acquire #%d = %d, %v; want slot %d", want, got, err, want)
		}
	}
	if slot, err := tbl.Acquire(pid); !errors.Is(err, slots.ErrNoFreeSlot) {
		t.Fatalf("Acquire on a full table = %d, %v; want ErrNoFreeSlot", slot, err)
	}
	if err := tbl.Release(1, pid); err != nil {
		t.Fatal(err)
	}
	if got, err := tbl.Acquire(pid); got != 1 || err != nil {
		t.Fatalf("Acquire after releasing slot 1 = %d, %v; want 1", got, err)
	}
}

func TestAcquireRejectsAProcessThatIsNotRunning(t *testing.T) {
	tbl := openTable(t, newTable(t, 2), 2)
	c := startChild(t, "block", nil)
	c.expect("ready")
	c.end()
	for _, pid := range []int{0, -1, 1<<22 + 1, c.pid} {
		if slot, err := tbl.Acquire(pid); err == nil {
			t.Errorf("Acquire(%d) = slot %d, want an error", pid, slot)
		}
	}
	if hs := tbl.Snapshot(); hs[0].PID != 0 || hs[1].PID != 0 {
		t.Errorf("failed Acquires changed the table: %+v", hs)
	}
}

// TestKilledHolderFreesItsSlot: the slot of a holder killed with SIGKILL is
// free at once, even before its parent reaps it.
func TestKilledHolderFreesItsSlot(t *testing.T) {
	for _, reaped := range []bool{false, true} {
		t.Run(map[bool]string{false: "zombie", true: "reaped"}[reaped], func(t *testing.T) {
			path := newTable(t, 1)
			holder := startChild(t, "getid", []string{"SLOTS_TEST_PATH=" + path})
			holder.expect("id 0")
			tbl := openTable(t, path, 1)
			me := os.Getpid()

			// Control: while the holder lives, its slot is not free.
			if slot, err := tbl.Acquire(me); !errors.Is(err, slots.ErrNoFreeSlot) {
				t.Fatalf("with a live holder, Acquire = %d, %v; want ErrNoFreeSlot", slot, err)
			}
			if err := holder.cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			if reaped {
				holder.wait()
			} else {
				// A zombie main thread is not yet a zombie process: the
				// other threads of the Go helper may still be exiting.
				eventually(t, fmt.Sprintf("pid %d becomes a zombie", holder.pid), func() bool {
					return procState(holder.pid) == "Z" && threadCount(holder.pid) == "1"
				})
			}
			if slot, err := tbl.Acquire(me); slot != 0 || err != nil {
				t.Fatalf("after the holder was killed, Acquire = %d, %v; want slot 0", slot, err)
			}
			if !reaped {
				if s := procState(holder.pid); s != "Z" {
					t.Fatalf("pid %d is in state %q, no longer a zombie: the test did not test a zombie", holder.pid, s)
				}
			}
		})
	}
}

// TestAcquireSeesThroughPIDReuse: a slot whose word names a live process
// with another start time — a holder's pid reused — is free; one whose word
// matches a live process is not.
func TestAcquireSeesThroughPIDReuse(t *testing.T) {
	live := startChild(t, "block", nil)
	live.expect("ready")
	liveTag := mustTag(t, live.pid)

	gone := startChild(t, "block", nil)
	gone.expect("ready")
	goneTag := mustTag(t, gone.pid)
	gone.end()

	parent := os.Getppid()
	tests := []struct {
		name string
		word uint64
		free bool
	}{
		{"empty", 0, true},
		{"live process, wrong tag", word(live.pid, liveTag+1), true},
		{"live process, right tag", word(live.pid, liveTag), false},
		{"parent process, wrong tag", word(parent, mustTag(t, parent)^0x8000_0000), true},
		{"parent process, right tag", word(parent, mustTag(t, parent)), false},
		{"exited and reaped", word(gone.pid, goneTag), true},
		{"pid 0 with a tag", word(0, 7), true},
		{"pid above pid_max", word(1<<22+1, 7), true},
		{"pid that is -1 as an int32", word(-1, 7), true},
	}
	me := os.Getpid()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := newTable(t, 1)
			writeWord(t, path, 0, tt.word)
			tbl := openTable(t, path, 1)
			h := tbl.Snapshot()[0]
			if h.Alive == tt.free {
				t.Errorf("Snapshot: %+v, want Alive %v", h, !tt.free)
			}
			slot, err := tbl.Acquire(me)
			if tt.free {
				if slot != 0 || err != nil {
					t.Fatalf("Acquire = %d, %v; want slot 0", slot, err)
				}
				if got, want := readWord(t, path, 0), word(me, mustTag(t, me)); got != want {
					t.Errorf("slot word %#x after Acquire, want %#x", got, want)
				}
				return
			}
			if !errors.Is(err, slots.ErrNoFreeSlot) {
				t.Fatalf("Acquire = %d, %v; want ErrNoFreeSlot", slot, err)
			}
			if got := readWord(t, path, 0); got != tt.word {
				t.Errorf("slot word %#x after a refused Acquire, want it unchanged %#x", got, tt.word)
			}
		})
	}
}

func TestAcquireSlot(t *testing.T) {
	holder := startChild(t, "block", nil)
	holder.expect("ready")
	tbl := openTable(t, newTable(t, 3), 3)
	me := os.Getpid()

	if err := tbl.AcquireSlot(1, holder.pid); err != nil {
		t.Fatalf("AcquireSlot(1) of a free slot: %v", err)
	}
	if err := tbl.AcquireSlot(2, me); err != nil {
		t.Fatalf("AcquireSlot(2) of a free slot: %v", err)
	}
	for _, slot := range []int{1, 2} {
		err := tbl.AcquireSlot(slot, me)
		var held *slots.SlotHeldError
		if !errors.Is(err, slots.ErrSlotHeld) || !errors.As(err, &held) {
			t.Fatalf("AcquireSlot(%d) of a held slot: %v, want a *SlotHeldError", slot, err)
		}
		wantPID := map[int]int{1: holder.pid, 2: me}[slot]
		if held.PID != wantPID || held.Slot != slot {
			t.Errorf("SlotHeldError %+v, want slot %d, pid %d", held, slot, wantPID)
		}
		if msg := err.Error(); !strings.Contains(msg, fmt.Sprint(wantPID)) {
			t.Errorf("message %q does not name holder pid %d", msg, wantPID)
		}
	}
	for _, slot := range []int{-1, 3} {
		if err := tbl.AcquireSlot(slot, me); err == nil {
			t.Errorf("AcquireSlot(%d) on a 3-slot table succeeded", slot)
		}
	}
	// The holder dies: its slot is free again.
	holder.end()
	if err := tbl.AcquireSlot(1, me); err != nil {
		t.Errorf("AcquireSlot(1) after its holder exited: %v", err)
	}
}

func TestReleaseOnlyByTheHolder(t *testing.T) {
	tbl := openTable(t, newTable(t, 2), 2)
	me := os.Getpid()
	slot, err := tbl.Acquire(me)
	if err != nil {
		t.Fatal(err)
	}
	for _, pid := range []int{me + 1, 0, -1} {
		if err := tbl.Release(slot, pid); !errors.Is(err, slots.ErrNotHolder) {
			t.Errorf("Release by pid %d: %v, want ErrNotHolder", pid, err)
		}
	}
	if err := tbl.Release(1, me); !errors.Is(err, slots.ErrNotHolder) {
		t.Errorf("Release of a free slot: %v, want ErrNotHolder", err)
	}
	if err := tbl.Release(2, me); err == nil || errors.Is(err, slots.ErrNotHolder) {
		t.Errorf("Release of slot 2 of 2: %v, want an out-of-range error", err)
	}
	if err := tbl.Release(slot, me); err != nil {
		t.Fatalf("Release by the holder: %v", err)
	}
	if h := tbl.Snapshot()[slot]; h != (slots.Holder{Slot: slot}) {
		t.Errorf("after Release, %+v; want a free slot", h)
	}
	if err := tbl.Release(slot, me); !errors.Is(err, slots.ErrNotHolder) {
		t.Errorf("second Release: %v, want ErrNotHolder", err)
	}
}

// TestTransferFromAReapedWorker is the supervisor's restart path: the slot
// of a worker that died and was reaped goes to the supervisor, then to the
// worker's replacement, never free in between.
func TestTransferFromAReapedWorker(t *testing.T) {
	path := newTable(t, 2)
	tbl := openTable(t, path, 2)
	me := os.Getpid()

	worker := startChild(t, "block", nil)
	worker.expect("ready")
	if err := tbl.AcquireSlot(1, worker.pid); err != nil {
		t.Fatal(err)
	}
	if h := tbl.Snapshot()[1]; h.PID != worker.pid || !h.Alive || h.Tag != mustTag(t, worker.pid) {
		t.Fatalf("slot 1 = %+v, want live worker pid %d", h, worker.pid)
	}
	worker.end()
	if h := tbl.Snapshot()[1]; h.PID != worker.pid || h.Alive {
		t.Fatalf("slot 1 = %+v, want dead worker pid %d", h, worker.pid)
	}

	if err := tbl.Transfer(1, me+1, me); !errors.Is(err, slots.ErrNotHolder) {
		t.Errorf("Transfer from a pid that does not hold it: %v, want ErrNotHolder", err)
	}
	if err := tbl.Transfer(0, worker.pid, me); !errors.Is(err, slots.ErrNotHolder) {
		t.Errorf("Transfer of a free slot: %v, want ErrNotHolder", err)
	}
	if err := tbl.Transfer(1, worker.pid, me); err != nil {
		t.Fatalf("Transfer from the reaped worker to the supervisor: %v", err)
	}
	if h := tbl.Snapshot()[1]; h.PID != me || !h.Alive {
		t.Fatalf("after Transfer, slot 1 = %+v, want pid %d alive", h, me)
	}

	next := startChild(t, "block", nil)
	next.expect("ready")
	if err := tbl.Transfer(1, me, worker.pid); err == nil {
		t.Errorf("Transfer to the dead worker succeeded, want an error")
	}
	if err := tbl.Transfer(1, me, next.pid); err != nil {
		t.Fatalf("Transfer to the new worker: %v", err)
	}
	if got, want := readWord(t, path, 1), word(next.pid, mustTag(t, next.pid)); got != want {
		t.Errorf("slot 1 word %#x, want the new worker's %#x", got, want)
	}
	if err := tbl.Release(1, next.pid); err != nil {
		t.Errorf("Release by the new worker's pid: %v", err)
	}
}

// TestTransferToTheHolderSucceeds: a Transfer whose outcome is already
// there (a worker's GetProcessID took the slot from its supervisor before
// the supervisor's Transfer) succeeds, and changes nothing.
func TestTransferToTheHolderSucceeds(t *testing.T) {
	path := newTable(t, 1)
	tbl := openTable(t, path, 1)
	worker := startChild(t, "block", nil)
	worker.expect("ready")
	if err := tbl.AcquireSlot(0, worker.pid); err != nil {
		t.Fatal(err)
	}
	before := readWord(t, path, 0)
	if err := tbl.Transfer(0, os.Getpid(), worker.pid); err != nil {
		t.Errorf("Transfer to the pid that holds the slot: %v; want success", err)
	}
	if w := readWord(t, path, 0); w != before {
		t.Errorf("slot word %#x after the Transfer, want it unchanged %#x", w, before)
	}
}
