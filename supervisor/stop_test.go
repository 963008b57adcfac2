package supervisor

import (
	"slices"
	"syscall"
	"testing"
	"time"
)

// TERM stops every worker's group with the stop signal; workers that end
// within the timeout, whatever their codes, make the exit 0.
func TestStopEndsEveryWorkerAndExitsZero(t *testing.T) {
	h := start(t, testOptions(3))
	for i := range 3 {
		h.proc(i).stubborn = true
	}
	h.signal(syscall.SIGTERM)
	h.wantStates("stopping stopping stopping")
	for i := range 3 {
		if got := h.sys.signalsTo(h.pid(i), 0); !slices.Equal(got, []syscall.Signal{syscall.SIGTERM, syscall.SIGCONT}) {
			t.Fatalf("worker %d got %v, want TERM, then CONT for a stopped worker, to its group", i, got)
		}
	}
	h.exit(0, code(0))
	h.exit(1, code(1)) // a worker exiting with a failure during a stop
	h.exit(2, killedBy(syscall.SIGSEGV))
	h.wantExit(0)
	for i := range 3 {
		h.wantTableHolder(i, 0)
	}
}

// A worker that outlives the stop timeout is SIGKILLed, and slotrun exits 1.
func TestStopTimeoutKillsAndExitsOne(t *testing.T) {
	h := start(t, testOptions(2))
	h.proc(0).stubborn = true
	h.signal(syscall.SIGTERM)
	h.wantStates("stopping idle")
	h.advance(10*time.Second - time.Millisecond)
	h.wantStates("stopping idle")
	h.advance(time.Millisecond)
	h.wantLog("killing the worker's process group", "outlived the stop timeout")
	h.wantExit(1)
}

// A second TERM during a stop kills at once; so does a second TERM that
// arrived before the loop looked at the first.
func TestSecondStopKillsAtOnce(t *testing.T) {
	for _, merged := range []bool{false, true} {
		name := "one after the other"
		if merged {
			name = "both pending"
		}
		t.Run(name, func(t *testing.T) {
			h := start(t, testOptions(2))
			h.proc(0).stubborn = true
			h.proc(1).stubborn = true
			if merged {
				h.s.inbox.add(syscall.SIGTERM)
				h.s.inbox.add(syscall.SIGINT)
				h.settle()
			} else {
				h.signal(syscall.SIGTERM)
				h.wantStates("stopping stopping")
				h.signal(syscall.SIGINT)
			}
			h.wantLog("second stop request")
			h.wantExit(1)
		})
	}
}

// A slot waiting out its backoff when the stop comes ends at once.
func TestStopDuringBackoff(t *testing.T) {
	h := start(t, testOptions(2))
	h.exit(1, code(1))
	h.wantStates("starting backoff")
	h.signal(syscall.SIGTERM)
	h.wantExit(0)
	h.advance(time.Minute) // the backoff timer must not start anything
	h.wantStates("idle idle")
}

// A worker whose main process ended while something of its group lives on
// drains: the group gets the stop signal and the slot restarts only once the
// group is gone; SIGKILL follows after the stop timeout.
func TestDrainingGroupDelaysTheRestart(t *testing.T) {
	h := start(t, testOptions(1))
	h.advance(time.Second)
	p := h.exitLeavingGroup(0)
	if got := h.sys.signalsTo(p.pid, 0); !slices.Contains(got, syscall.SIGTERM) {
		t.Fatalf("the group got %v, want TERM", got)
	}
	h.advance(5 * time.Second)
	h.wantStates("draining")
	h.advance(5 * time.Second)
	h.wantLog("killing the worker's process group")
	h.advance(maxPoll) // the killed group ends unseen: the poll notices
	h.wantStates("starting")
	if h.pid(0) == p.pid {
		t.Fatal("not restarted once the group was gone")
	}
}

// A group that ends without telling us (its last member's parent was
// another member) is noticed by the poll.
func TestDrainingGroupThatEndsUnseen(t *testing.T) {
	h := start(t, testOptions(1))
	h.advance(time.Second)
	p := h.exitLeavingGroup(0)
	p.survivors = 0 // gone, and no SIGCHLD for it
	h.advance(firstPoll)
	h.wantStates("starting")
}

// A flood of forwarded signals and one TERM, all pending at once: the stop
// begins first, and the flood costs one forward per worker, not thousands.
// (Workers still get forwarded signals while they stop: a QUIT for a stack
// dump of a worker that hangs in its stop is worth passing on.)
func TestSignalFloodCoalescesAndStopOvertakesIt(t *testing.T) {
	h := start(t, testOptions(4))
	for i := range 4 {
		h.proc(i).stubborn = true
	}
	mark := len(h.sys.sent)
	for range 10000 {
		h.s.inbox.add(syscall.SIGHUP)
	}
	h.s.inbox.add(syscall.SIGTERM)
	for range 10000 {
		h.s.inbox.add(syscall.SIGHUP)
	}
	h.settle()
	h.wantStates("stopping stopping stopping stopping")
	got := h.sys.signalsTo(h.pid(0), mark)
	if !slices.Equal(got, []syscall.Signal{syscall.SIGTERM, syscall.SIGCONT, syscall.SIGHUP}) {
		t.Fatalf("worker 0 got %v: want the stop first, then one HUP", got)
	}
	h.wantLog("signal received", "signal=HUP", "count=20000")
}

// Forwarded signals reach every running worker's group, rewritten where
// the action says so, and not workers that are gone.
func TestForwardReachesRunningWorkers(t *testing.T) {
	opts := testOptions(3)
	opts.Signals[syscall.SIGUSR1] = Action{Kind: ActForward, Signal: syscall.SIGUSR2}
	h := start(t, opts)
	h.exit(2, code(1))
	mark := len(h.sys.sent)
	h.signal(syscall.SIGUSR1)
	for i := range 2 {
		if got := h.sys.signalsTo(h.pid(i), mark); !slices.Equal(got, []syscall.Signal{syscall.SIGUSR2}) {
			t.Fatalf("worker %d got %v, want [USR2]", i, got)
		}
	}
	if got := h.sys.signalsTo(h.pid(2), mark); len(got) != 0 {
		t.Fatalf("the slot in backoff got %v, want nothing", got)
	}
}

func TestIgnoreActionDoesNothing(t *testing.T) {
	opts := testOptions(1)
	opts.Signals[syscall.SIGHUP] = Action{Kind: ActIgnore}
	h := start(t, opts)
	mark := len(h.sys.sent)
	h.signal(syscall.SIGHUP)
	if len(h.sys.sent) != mark {
		t.Fatalf("sent %v for an ignored signal", h.sys.sent[mark:])
	}
	h.wantStates("starting")
}

// Ctrl-Z reaches slotrun only (the workers lead groups of their own): it
// forwards TSTP to every worker, then stops itself; CONT is forwarded too.
func TestCtrlZStopsTheWorkersAndThenSlotrun(t *testing.T) {
	h := start(t, testOptions(2))
	mark := len(h.sys.sent)
	h.signal(syscall.SIGTSTP)
	want := []sentSignal{{-h.pid(0), syscall.SIGTSTP}, {-h.pid(1), syscall.SIGTSTP}, {h.s.self, syscall.SIGSTOP}}
	if got := h.sys.sent[mark:]; !slices.Equal(got, want) {
		t.Fatalf("sent %v, want %v", got, want)
	}
	mark = len(h.sys.sent)
	h.signal(syscall.SIGCONT)
	want = []sentSignal{{-h.pid(0), syscall.SIGCONT}, {-h.pid(1), syscall.SIGCONT}}
	if got := h.sys.sent[mark:]; !slices.Equal(got, want) {
		t.Fatalf("sent %v, want %v", got, want)
	}
}

// A worker that was stopped (TTOU, STOP) is logged, and is no exit.
func TestStoppedWorkerIsLoggedNotRestarted(t *testing.T) {
	h := start(t, testOptions(1))
	pid := h.pid(0)
	h.sys.changed = append(h.sys.changed, fakeChange{pid, childChange{stopped: syscall.SIGTTOU}})
	h.settle()
	h.wantLog("worker stopped", "signal=TTOU")
	h.sys.changed = append(h.sys.changed, fakeChange{pid, childChange{continued: true}})
	h.settle()
	h.wantLog("worker continued")
	h.wantStates("starting")
	if h.pid(0) != pid {
		t.Fatal("a stopped worker was taken for one that ended")
	}
}

// Before it exits, slotrun stops what the workers left outside their
// groups and was re-parented to it: the stop signal, CONT, then SIGKILL
// after the timeout (exit 1, as for a worker killed at stop).
func TestStopEndsWhatWorkersLeftBehind(t *testing.T) {
	for _, stubborn := range []bool{false, true} {
		t.Run(map[bool]string{false: "obeys", true: "stubborn"}[stubborn], func(t *testing.T) {
			h := start(t, testOptions(1))
			stray := h.sys.addStray(stubborn)
			h.signal(syscall.SIGTERM)
			h.wantLog("stopping processes the workers left behind", "pids=")
			want := []syscall.Signal{syscall.SIGTERM, syscall.SIGCONT}
			if stubborn {
				if h.s.finished() {
					t.Fatal("finished while a stray lives")
				}
				h.advance(10 * time.Second)
				want = append(want, syscall.SIGKILL)
				h.wantLog("killing processes the workers left behind")
			}
			if !h.s.finished() {
				t.Fatal("not finished once the strays are gone")
			}
			if got := dedupe(h.sys.signalsTo(stray.pid, 0)); !slices.Equal(got, want) {
				t.Fatalf("stray got %v, want %v", got, want)
			}
			wantCode := map[bool]int{false: 0, true: 1}[stubborn]
			h.wantExit(wantCode)
		})
	}
}

// dedupe drops a signal repeated at once (a group, then the pid alone).
func dedupe(sigs []syscall.Signal) []syscall.Signal { return slices.Compact(sigs) }

// A stop that arrives during a round of restarts (a crash storm: many
// workers ended at once, each restarted with a fork and exec) is acted on
// before the next start: the rest of the round ends instead of starting
// workers only to stop them. The workers reaped in that round but not yet
// handled are never signalled by pid, which may be reused by now.
func TestStopDuringRestartRoundStartsNoMore(t *testing.T) {
	opts := testOptions(8)
	opts.MinUptime = 0 // every exit restarts at once, as in a storm
	h := start(t, opts)
	var reaped []int
	for i := range 8 {
		reaped = append(reaped, h.pid(i))
		h.sys.end(h.proc(i), code(1))
	}
	before, sent := h.sys.nextPID, len(h.sys.sent)
	h.sys.onFork = func() {
		h.sys.onFork = nil
		h.s.inbox.add(syscall.SIGTERM) // arrives during the round's first start
	}
	h.settle()
	if n := h.sys.nextPID - before; n != 1 {
		t.Errorf("%d workers started in the round, want 1: the one being started when the TERM came", n)
	}
	for _, sig := range h.sys.sent[sent:] {
		if slices.Contains(reaped, sig.pid) {
			t.Errorf("signal %v sent to pid %d, reaped before the stop", sig.sig, sig.pid)
		}
	}
	h.wantExit(0)
	for i := range 8 {
		h.wantTableHolder(i, 0)
	}
}
