package supervisor

import (
	"syscall"
	"testing"
	"time"
)

// TTIN takes the lowest free slot, up to --slots; TTOU stops the highest
// and releases it, down to one. Neither is a failure.
func TestScaleUpAndDownWithinTheSlots(t *testing.T) {
	opts := testOptions(2)
	opts.Slots = 4
	h := start(t, opts)
	h.wantStates("starting starting idle idle")
	h.signal(syscall.SIGTTIN)
	h.signal(syscall.SIGTTIN)
	h.wantStates("starting starting starting starting")
	h.signal(syscall.SIGTTIN)
	h.wantLog("scale-up: no free slot")
	for range 3 {
		h.signal(syscall.SIGTTOU)
	}
	h.wantStates("starting idle idle idle")
	for i := 1; i < 4; i++ {
		h.wantTableHolder(i, 0)
	}
	h.signal(syscall.SIGTTOU)
	h.wantLog("scale-down: one worker is the minimum")
	h.wantStates("starting idle idle idle")
	if h.s.exitCode != 0 || h.s.stopping {
		t.Fatal("scaling down was taken for a failure or a stop")
	}
}

// Several TTINs pending at once each add a worker.
func TestPendingScaleUpsAddOneEach(t *testing.T) {
	opts := testOptions(1)
	opts.Slots = 4
	h := start(t, opts)
	for range 2 {
		h.s.inbox.add(syscall.SIGTTIN)
	}
	h.settle()
	h.wantStates("starting starting starting idle")
}

// A scale-up skips a slot that a process outside the supervisor holds.
func TestScaleUpSkipsASlotHeldOutside(t *testing.T) {
	opts := testOptions(1)
	opts.Slots = 3
	h := start(t, opts, func(h *harness) {
		h.tab.holders[1] = 4242
		h.tab.outside[4242] = true
	})
	h.signal(syscall.SIGTTIN)
	h.wantStates("starting idle starting")
}

// A scale-down of a worker that does not stop in time kills it, and still
// removes the slot rather than restarting it.
func TestScaleDownOfAStubbornWorker(t *testing.T) {
	h := start(t, testOptions(2))
	h.proc(1).stubborn = true
	h.signal(syscall.SIGTTOU)
	h.wantStates("starting stopping")
	h.advance(10 * time.Second)
	h.wantStates("ready idle")
	if h.s.exitCode != 0 {
		t.Fatalf("exit code %d after a scale-down kill, want 0", h.s.exitCode)
	}
}

// Scaling down a slot in backoff gives it up at once.
func TestScaleDownOfASlotInBackoff(t *testing.T) {
	h := start(t, testOptions(2))
	h.exit(1, code(1))
	h.wantStates("starting backoff")
	h.signal(syscall.SIGTTOU)
	h.wantStates("starting idle")
	h.advance(time.Minute)
	h.wantStates("ready idle")
}

// Scale requests during a stop do nothing.
func TestScaleDuringAStopDoesNothing(t *testing.T) {
	opts := testOptions(1)
	opts.Slots = 2
	h := start(t, opts)
	h.proc(0).stubborn = true
	h.signal(syscall.SIGTERM)
	h.signal(syscall.SIGTTIN)
	h.wantStates("stopping idle")
}

// A slot removed by a scale-down and taken again by a scale-up holds a new
// worker, which starts fresh in status: no restarts, no last exit, no
// STATUS= text, no backoff streak of the worker before it. The metrics'
// count of the slot's restarts goes on from where it was: a counter never
// goes down while slotrun runs.
func TestReAddedSlotStartsFreshInStatusNotInMetrics(t *testing.T) {
	opts := testOptions(2)
	opts.Slots = 2
	h := start(t, opts)
	for range 2 {
		h.exit(1, code(3))
		h.advance(time.Minute)
	}
	h.s.slots[1].status = "warming up"
	h.wantStates("ready ready")
	w := h.s.status().Workers[1]
	if w.Restarts != 2 || w.RestartsTotal != 2 || w.LastExit == nil || *w.LastExit.Code != 3 || w.Status != "warming up" {
		t.Fatalf("slot 1 before the scale-down: %+v; want 2 restarts, last exit 3, its STATUS=", w)
	}
	h.signal(syscall.SIGTTOU)
	h.wantStates("ready idle")
	h.signal(syscall.SIGTTIN)
	h.wantStates("ready starting")
	w = h.s.status().Workers[1]
	if w.Restarts != 0 || w.LastExit != nil || w.Status != "" || w.NextStartInSeconds != nil {
		t.Errorf("slot 1 re-added: %+v; want a fresh worker: 0 restarts, no last exit, no STATUS=", w)
	}
	if w.RestartsTotal != 2 {
		t.Errorf("slot 1 re-added: the metrics' restarts went from 2 to %d; a counter never goes down", w.RestartsTotal)
	}
	if sl := h.s.slots[1]; sl.failures != 0 || len(sl.restarts) != 0 {
		t.Errorf("slot 1 re-added: failure streak %d, restarts in the window %d; want none", sl.failures, len(sl.restarts))
	}
	// Its own failures count from there.
	h.exit(1, code(4))
	w = h.s.status().Workers[1]
	if w.Restarts != 1 || w.RestartsTotal != 3 || *w.LastExit.Code != 4 {
		t.Errorf("slot 1 after the new worker failed: %+v; want 1 restart (3 in all), last exit 4", w)
	}
}

// A scale-up while a scaled-down worker is still stopping takes its slot
// back: no worker is started beside the old one, and once the old one is
// gone a new worker starts there, with a fresh record.
func TestScaleUpTakesBackASlotStillStopping(t *testing.T) {
	opts := testOptions(2)
	h := start(t, opts)
	old := h.pid(1)
	h.proc(1).stubborn = true
	h.signal(syscall.SIGTTOU)
	h.wantStates("starting stopping")
	h.signal(syscall.SIGTTIN)
	h.wantLog("scaling up: taking back the slot")
	h.wantStates("starting stopping")
	if n := h.s.countActive(); n != 2 {
		t.Errorf("%d workers counted after the slot was taken back; want 2", n)
	}
	h.advance(opts.StopTimeout) // the old worker is killed
	h.wantStates("ready starting")
	if h.pid(1) == old {
		t.Error("no new worker in the slot taken back")
	}
	if sl := h.s.slots[1]; sl.exited || sl.restartCount != 0 || sl.retaken {
		t.Errorf("the new worker shows the old one's record: exited %v, restarts %d, retaken %v", sl.exited, sl.restartCount, sl.retaken)
	}
}
