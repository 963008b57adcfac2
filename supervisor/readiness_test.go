package supervisor

import (
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/slotrun/slotrun/notify"
)

func notifyOptions(n int) Options {
	opts := rollingOptions(n)
	opts.Ready = ReadyNotify
	opts.ReadyTimeout = 5 * time.Second
	return opts
}

// notify hands the loop a notification from slot's worker, as the reader
// does once it has placed the sender in the worker's group.
func (h *harness) notify(slot int, text string) {
	h.t.Helper()
	msg, err := notify.Parse([]byte(text))
	if err != nil {
		h.t.Fatal(err)
	}
	h.s.post(notifyEvent{pid: h.pid(slot), pgid: h.pid(slot), msg: msg})
	h.settle()
}

func TestNotifyWorkerIsReadyOnlyWhenItSaysSo(t *testing.T) {
	h := start(t, notifyOptions(2))
	h.advance(2 * time.Second) // past min_uptime: not what counts now
	h.wantStates("starting starting")
	h.notify(1, "READY=1\nSTATUS=warming up")
	h.wantStates("starting ready")
	if got := h.s.slots[1].status; got != "warming up" {
		t.Errorf("status %q", got)
	}
	h.notify(0, "READY=1")
	h.wantStates("ready ready")
	h.advance(time.Hour) // the ready timeout was disarmed
	h.wantStates("ready ready")
}

// A worker not ready within the ready timeout is stopped like any worker
// and counts as a quick failure, though it ran longer than min_uptime.
func TestNotReadyInTimeIsStoppedAsAFailure(t *testing.T) {
	h := start(t, notifyOptions(1))
	first := h.pid(0)
	h.advance(5*time.Second - time.Millisecond)
	h.wantStates("starting")
	h.advance(time.Millisecond)
	h.wantLog("worker not ready within 5s", "slot=0")
	if sigs := h.sys.signalsTo(first, 0); !slices.Contains(sigs, syscall.SIGTERM) {
		t.Fatalf("signals to the worker %v; want the stop signal", sigs)
	}
	h.wantStates("backoff")
	if h.s.slots[0].failures != 1 {
		t.Fatalf("failures = %d; want 1", h.s.slots[0].failures)
	}
	h.advance(100 * time.Millisecond)
	h.wantStates("starting")
}

func TestReloadingIsNotReadyUntilReadyAgain(t *testing.T) {
	h := start(t, notifyOptions(1))
	h.notify(0, "READY=1")
	h.notify(0, "RELOADING=1\nMONOTONIC_USEC=123")
	h.wantStates("starting")
	h.notify(0, "READY=1")
	h.wantStates("ready")
	// A reload that never ends is a worker not ready in time.
	h.notify(0, "RELOADING=1")
	h.advance(5 * time.Second)
	h.wantLog("worker not ready within 5s")
	h.wantStates("backoff")
}

// STOPPING=1 from a worker that then stays: it is on its way out, no
// longer ready, and SIGKILLed after the stop timeout; a stop of slotrun
// still sends it the stop signal.
func TestStoppingWorkerThatStaysIsKilledAfterTheStopTimeout(t *testing.T) {
	h := start(t, notifyOptions(2))
	h.notify(0, "READY=1")
	h.notify(1, "READY=1")
	h.proc(0).stubborn = true
	stubborn := h.pid(0)
	h.notify(0, "STOPPING=1")
	h.wantStates("stopping ready")
	if sigs := h.sys.signalsTo(stubborn, 0); len(sigs) != 0 {
		t.Fatalf("signals %v; want none before the stop timeout", sigs)
	}
	h.advance(10 * time.Second)
	if sigs := h.sys.signalsTo(stubborn, 0); !slices.Contains(sigs, syscall.SIGKILL) {
		t.Fatalf("signals %v; want SIGKILL after the stop timeout", sigs)
	}
	h.wantStates("starting ready") // it ran 10s: restarted at once

	h.notify(0, "READY=1")
	h.notify(1, "STOPPING=1")
	from := len(h.sys.sent)
	h.signal(syscall.SIGTERM)
	if sigs := h.sys.signalsTo(h.pid(1), from); !slices.Contains(sigs, syscall.SIGTERM) {
		t.Fatalf("signals %v; want the stop signal when slotrun stops", sigs)
	}
	h.wantExit(0)
}

// READY=1 and exit at once: it was ready (a rolling restart moves on), and
// its exit is a crash like any other.
func TestReadyThenExitIsACrash(t *testing.T) {
	h := start(t, notifyOptions(1))
	h.notify(0, "READY=1")
	h.exit(0, code(0))
	h.wantStates("backoff")
	h.wantLog("restart scheduled", "failures=1")
}

// A rolling restart waits for each new worker's READY=1.
func TestRollingRestartWaitsForReadyNotification(t *testing.T) {
	h := start(t, notifyOptions(2))
	h.notify(0, "READY=1")
	h.notify(1, "READY=1")
	old1 := h.pid(1)
	h.signal(syscall.SIGHUP)
	h.wantStates("starting ready")
	h.advance(3 * time.Second)
	h.wantStates("starting ready") // uptime does not count
	h.notify(0, "READY=1")
	h.wantStates("ready starting")
	if h.pid(1) == old1 {
		t.Fatal("slot 1 was not restarted")
	}
	h.notify(1, "READY=1")
	h.wantLog("rolling restart done")
}

// A new worker that is not ready within the ready timeout halts the
// rolling restart; the other slots keep their old workers.
func TestRollingRestartHaltsOnANewWorkerNeverReady(t *testing.T) {
	h := start(t, notifyOptions(3))
	for i := range 3 {
		h.notify(i, "READY=1")
	}
	keep := []int{h.pid(1), h.pid(2)}
	h.signal(syscall.SIGHUP)
	h.advance(5 * time.Second)
	h.wantLog("rolling restart halted", "not ready within 5s", "not_restarted=2")
	if h.s.rolling != nil {
		t.Fatal("the rolling restart went on")
	}
	h.wantStates("backoff ready ready")
	if h.pid(1) != keep[0] || h.pid(2) != keep[1] {
		t.Fatal("a slot after the halted one was restarted")
	}
}

// The watchdog: no WATCHDOG=1 for its time aborts the group with SIGABRT,
// no stop signal first, SIGKILL after the stop timeout, and the slot
// restarts as a failure.
func TestWatchdogExpiredAbortsTheWorker(t *testing.T) {
	opts := notifyOptions(1)
	opts.Watchdog = 2 * time.Second
	h := start(t, opts)
	h.notify(0, "READY=1")
	for range 5 {
		h.advance(1500 * time.Millisecond)
		h.notify(0, "WATCHDOG=1")
	}
	h.wantStates("ready")
	pid := h.pid(0)
	h.advance(2 * time.Second)
	h.wantLog("watchdog expired", "slot=0")
	if sigs := h.sys.signalsTo(pid, 0); len(sigs) != 1 || sigs[0] != syscall.SIGABRT {
		t.Fatalf("signals %v; want SIGABRT alone", sigs)
	}
	h.wantStates("stopping")
	h.advance(10 * time.Second)
	h.wantStates("backoff")
	if h.s.slots[0].failures != 1 {
		t.Fatalf("failures = %d; want 1", h.s.slots[0].failures)
	}
}

// What a worker's group says after the worker was reaped is dropped.
func TestNotificationForAGoneWorkerIsIgnored(t *testing.T) {
	h := start(t, notifyOptions(1))
	h.s.post(notifyEvent{pid: 4242, pgid: 4242, msg: notify.Message{Ready: true}})
	h.settle()
	h.wantStates("starting")
}
