package supervisor

import (
	"syscall"
	"testing"
	"time"
)

func rollingOptions(n int) Options {
	opts := testOptions(n)
	opts.Signals[syscall.SIGHUP] = Action{Kind: ActRestart}
	return opts
}

// A rolling restart stops one slot, starts it again, waits until the new
// worker is ready, then goes on to the next slot, in slot order.
func TestRollingRestartOneSlotAtATime(t *testing.T) {
	h := start(t, rollingOptions(3))
	h.advance(time.Second)
	old := []int{h.pid(0), h.pid(1), h.pid(2)}
	h.signal(syscall.SIGHUP)
	h.wantStates("starting ready ready")
	if h.pid(0) == old[0] {
		t.Fatal("slot 0 was not restarted first")
	}
	h.advance(time.Second - time.Millisecond)
	h.wantStates("starting ready ready") // not before the new worker is ready
	h.advance(time.Millisecond)
	h.wantStates("ready starting ready")
	h.advance(time.Second)
	h.wantStates("ready ready starting")
	h.advance(time.Second)
	h.wantStates("ready ready ready")
	h.wantLog("rolling restart done")
	for i := range 3 {
		if h.pid(i) == old[i] {
			t.Fatalf("slot %d kept its worker", i)
		}
		if h.s.slots[i].failures != 0 {
			t.Fatalf("slot %d counts a rolling restart as a failure", i)
		}
	}
}

// A new worker that cannot start halts the rolling restart: the remaining
// slots keep their workers, and the slot goes on under the restart policy.
func TestRollingRestartHaltsWhenANewWorkerCannotStart(t *testing.T) {
	h := start(t, rollingOptions(3))
	h.advance(time.Second)
	keep := []int{h.pid(1), h.pid(2)}
	h.sys.forkErr = syscall.ENOMEM
	h.signal(syscall.SIGHUP)
	h.wantLog("rolling restart halted", "could not start", "not_restarted=2")
	h.wantStates("backoff ready ready")
	if h.s.rolling != nil {
		t.Fatal("the rolling restart went on")
	}
	h.sys.forkErr = nil
	h.advance(100 * time.Millisecond)
	h.wantStates("starting ready ready")
	if h.pid(1) != keep[0] || h.pid(2) != keep[1] {
		t.Fatal("slots after the halt were restarted")
	}
}

// A new worker that exits before it is ready halts it too.
func TestRollingRestartHaltsWhenANewWorkerDiesBeforeReady(t *testing.T) {
	h := start(t, rollingOptions(2))
	h.advance(time.Second)
	keep := h.pid(1)
	h.signal(syscall.SIGHUP)
	h.exit(0, code(1))
	h.wantLog("rolling restart halted", "did not stay up")
	h.advance(time.Minute)
	if h.pid(1) != keep {
		t.Fatal("slot 1 was restarted after the halt")
	}
}

// Requests during a rolling restart merge into one more round after it.
func TestRollingRestartRequestsMerge(t *testing.T) {
	h := start(t, rollingOptions(2))
	h.advance(time.Second)
	h.signal(syscall.SIGHUP)
	h.signal(syscall.SIGHUP)
	h.signal(syscall.SIGHUP)
	h.wantLog("another round will follow")
	starts := func() int { return h.sys.nextPID - 1000 }
	before := starts()
	h.advance(10 * time.Second)
	// The first round's second slot and one more round of two: three starts.
	if got := starts() - before; got != 3 {
		t.Fatalf("%d starts after the first, want 3 (one merged round)", got)
	}
	h.wantStates("ready ready")
}

// A stop during a rolling restart ends it: the slot being restarted is
// removed, not started again.
func TestStopDuringRollingRestart(t *testing.T) {
	h := start(t, rollingOptions(2))
	h.advance(time.Second)
	h.proc(0).stubborn = true
	h.signal(syscall.SIGHUP)
	h.wantStates("stopping ready")
	h.proc(1).stubborn = true
	h.signal(syscall.SIGTERM)
	h.exit(0, code(0))
	h.exit(1, code(0))
	h.wantExit(0)
}

// A scale-down of the slot being restarted wins over the restart.
func TestScaleDownWinsOverRollingRestart(t *testing.T) {
	opts := rollingOptions(2)
	h := start(t, opts)
	h.advance(time.Second)
	h.proc(1).stubborn = true
	h.signal(syscall.SIGTTOU) // slot 1 stopping, to be removed
	h.signal(syscall.SIGHUP)  // slot 0 restarts; slot 1 is skipped
	h.advance(time.Second)
	h.exit(1, code(0))
	h.wantStates("ready idle")
}

// With min_uptime 0 a new worker is ready as it starts: the rolling
// restart goes through every slot at once, still one after another.
func TestRollingRestartWithoutMinUptime(t *testing.T) {
	opts := rollingOptions(3)
	opts.MinUptime = 0
	h := start(t, opts)
	old := []int{h.pid(0), h.pid(1), h.pid(2)}
	h.signal(syscall.SIGHUP)
	h.wantStates("ready ready ready")
	h.wantLog("rolling restart done")
	for i := range 3 {
		if h.pid(i) == old[i] {
			t.Fatalf("slot %d kept its worker", i)
		}
	}
}
