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
