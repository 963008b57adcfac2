package supervisor

import (
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// What each restart policy does with each kind of exit: a quick failure
// under always or on-failure waits the backoff and starts again in the
// same slot; an exit the policy ends leaves the slot idle, and once every
// slot has ended slotrun exits with the first failure's code.
func TestRestartPolicyByExitStatus(t *testing.T) {
	tests := []struct {
		policy   Policy
		exit     exitStatus
		restarts bool
		exitCode int // once every slot ended; only when !restarts
	}{
		{RestartAlways, code(0), true, 0},
		{RestartAlways, code(3), true, 0},
		{RestartAlways, killedBy(syscall.SIGKILL), true, 0},
		{RestartOnFailure, code(0), false, 0},
		{RestartOnFailure, code(3), true, 0},
		{RestartOnFailure, killedBy(syscall.SIGSEGV), true, 0},
		{RestartNever, code(0), false, 0},
		{RestartNever, code(3), false, 3},
		{RestartNever, killedBy(syscall.SIGKILL), false, 137},
	}
	for _, tt := range tests {
		t.Run(tt.policy.String()+"/"+fmtStatus(tt.exit), func(t *testing.T) {
			opts := testOptions(1)
			opts.Restart = tt.policy
			h := start(t, opts)
			first := h.pid(0)
			h.exit(0, tt.exit)
			if !tt.restarts {
				h.wantStates("idle")
				h.wantExit(tt.exitCode)
				h.wantTableHolder(0, 0)
				return
			}
			h.wantStates("backoff")
			h.wantTableHolder(0, h.s.self) // nobody else takes the id while it waits
			h.advance(100 * time.Millisecond)
			h.wantStates("starting")
			if h.pid(0) == first {
				t.Fatal("the slot's worker was not replaced")
			}
			h.wantTableHolder(0, h.pid(0))
			h.wantLog("restart scheduled", "delay=100ms")
		})
	}
}

// A worker that ran for min_uptime is restarted at once, with two log
// lines: its exit, and the new worker's start with the restart count. A
// quick failure has a third in between, the backoff's.
func TestRestartLogLines(t *testing.T) {
	h := start(t, testOptions(1))
	h.advance(time.Second)
	h.exit(0, code(3))
	h.wantStates("starting")
	h.wantLog("worker exited", "code=3")
	h.wantLog("worker started", "restarts=1")
	if strings.Contains(h.logs.String(), "restart scheduled") {
		t.Fatalf("a restart at once logged a restart scheduled line:\n%s", h.logs)
	}
	h.exit(0, code(3))
	h.wantStates("backoff")
	h.wantLog("restart scheduled", "delay=100ms", "failures=1")
	h.advance(100 * time.Millisecond)
	h.wantLog("worker started", "restarts=2")
}

func fmtStatus(e exitStatus) string {
	if e.signal != 0 {
		return "signal-" + e.signal.String()
	}
	return "code-" + strconv.Itoa(e.code)
}

// Under never and on-failure, slotrun exits with the first failing
// worker's code once every slot has ended, whatever the others did later.
func TestAllSlotsEndedExitWithTheFirstFailure(t *testing.T) {
	opts := testOptions(3)
	opts.Restart = RestartNever
	h := start(t, opts)
	h.exit(1, code(0))
	h.exit(2, code(7))
	h.wantStates("starting idle idle")
	h.exit(0, code(9))
	h.wantExit(7)
	h.wantLog("every slot has ended", "code=7")
}

// Quick failures wait min·2^(k-1), capped at max; a worker that ran at
// least min_uptime restarts at once and resets the streak.
func TestBackoffGrowsAndResets(t *testing.T) {
	opts := testOptions(1)
	opts.BackoffMax = 500 * time.Millisecond
	h := start(t, opts)
	for _, want := range []time.Duration{100, 200, 400, 500, 500} {
		want *= time.Millisecond
		h.exit(0, code(1))
		h.wantStates("backoff")
		h.advance(want - time.Millisecond)
		h.wantStates("backoff")
		h.advance(time.Millisecond)
		h.wantStates("starting")
	}
	// Up for min_uptime: ready, and its next exit restarts at once.
	h.advance(time.Second)
	h.wantStates("ready")
	before := h.pid(0)
	h.exit(0, code(1))
	h.wantStates("starting")
	if h.pid(0) == before {
		t.Fatal("a worker that ran min_uptime was not restarted at once")
	}
	if h.s.slots[0].failures != 0 {
		t.Fatalf("failure streak %d after a long run, want 0", h.s.slots[0].failures)
	}
	// The streak starts over: the next quick failure waits the minimum.
	h.exit(0, code(1))
	h.advance(100 * time.Millisecond)
	h.wantStates("starting")
}

// A slot restarted K times within the window gives up on its next failure:
// every worker is stopped and slotrun exits with that worker's code (1 if
// it was 0). Restarts that fell out of the window do not count.
func TestMaxRestartsGivesUp(t *testing.T) {
	tests := []struct {
		name     string
		exit     exitStatus
		wantCode int
	}{
		{"code", code(42), 42},
		{"clean exit", code(0), 1},
		{"signal", killedBy(syscall.SIGABRT), 134},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := testOptions(2)
			opts.MaxRestarts = 3
			opts.RestartWindow = 10 * time.Second
			opts.MinUptime = 0
			h := start(t, opts)
			h.proc(1).stubborn = true
			for range 3 {
				h.exit(0, tt.exit)
				h.wantStates("ready ready") // min_uptime 0: ready at once
			}
			h.exit(0, tt.exit)
			h.wantLog("giving up", "max_restarts=3")
			h.wantStates("idle stopping")
			h.exit(1, code(0)) // the other worker's code does not matter
			h.wantExit(tt.wantCode)
		})
	}
	t.Run("window", func(t *testing.T) {
		opts := testOptions(1)
		opts.MaxRestarts = 2
		opts.RestartWindow = 10 * time.Second
		opts.MinUptime = 0
		h := start(t, opts)
		h.exit(0, code(1))
		h.exit(0, code(1))
		h.advance(10 * time.Second) // both restarts leave the window
		h.exit(0, code(1))
		h.exit(0, code(1))
		h.wantStates("ready")
		h.exit(0, code(1))
		h.wantExit(1)
	})
}

// When another process took the slot after its worker ended, the restart
// waits for the slot with the backoff, then takes it back.
func TestRestartWaitsForASlotHeldByAnotherProcess(t *testing.T) {
	h := start(t, testOptions(1))
	h.advance(time.Second)
	h.exit(0, code(1))
	// The restart was at once (it ran min_uptime); take that worker's slot
	// away as an outside process would, then end it.
	h.tab.holders[0] = 4242
	h.tab.outside[4242] = true
	h.exit(0, code(1))
	h.wantLog("another process took the slot")
	h.wantStates("backoff")
	h.advance(100 * time.Millisecond)
	h.wantLog("slot is held by another process", "delay=200ms")
	h.wantStates("backoff")
	delete(h.tab.outside, 4242)
	h.advance(200 * time.Millisecond)
	h.wantStates("starting")
	h.wantTableHolder(0, h.pid(0))
}

// A worker that cannot be started (fork fails) counts as one that failed
// at once: backoff, then another try.
func TestAFailedStartIsAQuickFailure(t *testing.T) {
	h := start(t, testOptions(1))
	h.advance(time.Second)
	h.sys.forkErr = syscall.EAGAIN
	h.exit(0, code(1))
	h.wantLog("cannot start the worker")
	h.wantStates("backoff")
	h.sys.forkErr = nil
	h.advance(100 * time.Millisecond)
	h.wantStates("starting")
}

// A transient start failure at the very start (EAGAIN under a pids limit)
// is not "not executable": the slot backs off and tries again, and the
// other slots start.
func TestTransientStartFailureAtStartBacksOff(t *testing.T) {
	h := start(t, testOptions(2), func(h *harness) { h.sys.forkErr = syscall.EAGAIN })
	h.wantStates("backoff backoff")
	h.wantLog("cannot start the worker", "resource temporarily unavailable")
	h.sys.forkErr = nil
	h.advance(100 * time.Millisecond)
	h.wantStates("starting starting")
}

// Giving up after transient start failures exits 1 (slotrun's runtime
// failure), not 126.
func TestGiveUpAfterTransientStartFailuresExitsOne(t *testing.T) {
	opts := testOptions(1)
	opts.MaxRestarts = 2
	h := start(t, opts)
	h.sys.forkErr = syscall.EAGAIN
	h.exit(0, code(0))
	h.advance(time.Minute)
	h.wantLog("giving up")
	h.wantExit(1)
}
