package supervisor

import (
	"errors"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/slotrun/slotrun/control"
)

// answers records the answers to control requests made in a test.
type answers struct {
	got []error
}

func (a *answers) answer(err error) { a.got = append(a.got, err) }

func (a *answers) want(t *testing.T, n int) {
	t.Helper()
	if len(a.got) != n {
		t.Fatalf("%d answers; want %d: %v", len(a.got), n, a.got)
	}
}

func httpStatus(err error) int {
	var e *control.Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

func intp(n int) *int { return &n }

// The status shows the contract's four states: draining as stopping, idle
// slots not at all.
func TestStatusMapsStates(t *testing.T) {
	opts := testOptions(3)
	opts.Slots = 4
	h := start(t, opts)
	h.advance(time.Second) // all ready
	h.proc(1).stubborn = true
	h.proc(1).survivors = 1
	h.s.scaleDown() // slot 2 stops and goes
	h.settle()
	h.exit(1, code(3)) // slot 1: main process gone, group lives on
	if h.s.slots[1].state != stateDraining {
		t.Fatalf("slot 1 is %s; want draining", h.s.slots[1].state)
	}
	st := h.s.status()
	var got []string
	for _, w := range st.Workers {
		got = append(got, w.State)
	}
	if len(st.Workers) != 2 || st.Workers[0].Slot != 0 || st.Workers[1].Slot != 1 || got[0] != "ready" || got[1] != "stopping" {
		t.Errorf("workers %+v; want slot 0 ready, slot 1 stopping (draining)", st.Workers)
	}
	if st.Ready != 1 || st.Desired != 2 || st.Slots != 4 || st.IDs.Count != 4 {
		t.Errorf("status %+v", st)
	}
	if le := st.Workers[1].LastExit; le == nil || le.Code == nil || *le.Code != 3 || le.ShellCode != 3 {
		t.Errorf("slot 1 last exit %+v; want code 3", le)
	}
}

// A scale-down is answered once the removed workers are gone, not before.
func TestScaleDownAnswersWhenTheWorkersAreGone(t *testing.T) {
	opts := testOptions(3)
	h := start(t, opts)
	h.proc(2).stubborn = true
	var a answers
	h.s.scaleTo(control.ScaleRequest{Workers: intp(2)}, a.answer, nil)
	h.settle()
	a.want(t, 0)
	h.exit(2, code(0))
	a.want(t, 1)
	if a.got[0] != nil {
		t.Errorf("answer %v; want success", a.got[0])
	}
	h.wantStates("starting starting idle")
}

// Out-of-range requests are refused with 400 and change nothing; during a
// stop every change is refused with 409.
func TestScaleRefusals(t *testing.T) {
	h := start(t, testOptions(2))
	var a answers
	h.s.scaleTo(control.ScaleRequest{Workers: intp(3)}, a.answer, nil)
	h.s.scaleTo(control.ScaleRequest{Change: intp(-2)}, a.answer, nil)
	h.settle()
	a.want(t, 2)
	for _, err := range a.got {
		if httpStatus(err) != http.StatusBadRequest {
			t.Errorf("answer %v; want 400", err)
		}
	}
	h.wantStates("starting starting")
	h.proc(0).stubborn = true
	h.signal(syscall.SIGTERM)
	var b answers
	h.s.scaleTo(control.ScaleRequest{Workers: intp(1)}, b.answer, nil)
	h.s.restartRequest(control.RestartRequest{}, b.answer, nil)
	b.want(t, 2)
	for _, err := range b.got {
		if httpStatus(err) != http.StatusConflict {
			t.Errorf("answer during a stop %v; want 409", err)
		}
	}
}

// A restart request is answered when its round is done; one that arrives
// during a round is answered after the next.
func TestRestartRequestsAnswerWhenTheirRoundEnds(t *testing.T) {
	h := start(t, rollingOptions(2))
	h.advance(time.Second)
	var first, second answers
	h.s.restartRequest(control.RestartRequest{}, first.answer, nil)
	h.settle()
	h.s.restartRequest(control.RestartRequest{Slot: intp(1)}, second.answer, nil)
	h.settle()
	first.want(t, 0)
	h.advance(time.Second) // slot 0's new worker ready; slot 1 restarts
	first.want(t, 0)
	h.advance(time.Second) // round 1 done; round 2 (slot 1) begins
	first.want(t, 1)
	second.want(t, 0)
	if st := h.s.status(); st.Rolling == nil || st.Rolling.Total != 1 {
		t.Errorf("rolling %+v; want the second round, of 1 slot", st.Rolling)
	}
	h.advance(time.Second)
	second.want(t, 1)
	if first.got[0] != nil || second.got[0] != nil {
		t.Errorf("answers %v %v; want success", first.got, second.got)
	}
	if st := h.s.status(); st.Rolling != nil || st.RollingDone != 2 {
		t.Errorf("after both rounds: rolling %+v, completed %d", st.Rolling, st.RollingDone)
	}
}

// A request whose client went away is dropped at the loop's next step,
// unanswered; what it began goes on: the rolling restart completes, and
// the scale-down removes its slot.
func TestWaitersOfClientsThatWentAwayAreDropped(t *testing.T) {
	opts := rollingOptions(3)
	h := start(t, opts)
	h.advance(time.Second)
	var restart, scale answers
	restartGone, scaleGone := make(chan struct{}), make(chan struct{})
	h.proc(2).stubborn = true // the scale-down waits for its kill
	h.s.restartRequest(control.RestartRequest{Slot: intp(0)}, restart.answer, restartGone)
	h.s.scaleTo(control.ScaleRequest{Workers: intp(2)}, scale.answer, scaleGone)
	h.settle()
	if len(h.s.rolls.waiters) != 1 || len(h.s.waiters) != 1 {
		t.Fatalf("%d rolling and %d scale waiters; want one each", len(h.s.rolls.waiters), len(h.s.waiters))
	}
	close(restartGone)
	close(scaleGone)
	h.settle()
	if len(h.s.rolls.waiters) != 0 || len(h.s.waiters) != 0 {
		t.Errorf("%d rolling and %d scale waiters left after their clients went away; want none", len(h.s.rolls.waiters), len(h.s.waiters))
	}
	for range 10 {
		h.advance(time.Second)
	}
	restart.want(t, 0)
	scale.want(t, 0)
	st := h.s.status()
	if st.Rolling != nil || st.RollingDone != 1 || st.Desired != 2 {
		t.Errorf("after the clients went away: rolling %+v, completed %d, desired %d; want the restart done and 2 workers", st.Rolling, st.RollingDone, st.Desired)
	}
	h.wantStates("ready ready idle")
}

// A halt answers 409 with why, and the status keeps it until the next
// rolling restart.
func TestHaltedRestartAnswers409(t *testing.T) {
	h := start(t, rollingOptions(2))
	h.advance(time.Second)
	var a answers
	h.s.restartRequest(control.RestartRequest{}, a.answer, nil)
	h.settle()
	h.exit(0, code(1)) // the new worker of slot 0 does not stay up
	a.want(t, 1)
	if httpStatus(a.got[0]) != http.StatusConflict {
		t.Fatalf("answer %v; want 409", a.got[0])
	}
	st := h.s.status()
	if st.Rolling == nil || st.Rolling.Halted == "" || st.RollingHalted != 1 {
		t.Errorf("rolling %+v (halted %d); want the halt kept", st.Rolling, st.RollingHalted)
	}
}

// With a shutdown delay, TERM shows as stopping at once; the workers get
// the stop signal only once the delay is over.
func TestShutdownDelay(t *testing.T) {
	opts := testOptions(1)
	opts.ShutdownDelay = 5 * time.Second
	h := start(t, opts)
	h.signal(syscall.SIGTERM)
	if st := h.s.status(); !st.Stopping {
		t.Error("not stopping after TERM")
	}
	if sigs := h.sys.signalsTo(h.pid(0), 0); len(sigs) != 0 {
		t.Fatalf("the worker got %v during the shutdown delay", sigs)
	}
	h.advance(5 * time.Second)
	h.wantExit(0)
}

// A second TERM during the shutdown delay kills at once, as during a stop.
func TestSecondTermDuringShutdownDelayKills(t *testing.T) {
	opts := testOptions(1)
	opts.ShutdownDelay = 5 * time.Second
	h := start(t, opts)
	h.proc(0).stubborn = true
	h.signal(syscall.SIGTERM)
	h.signal(syscall.SIGTERM)
	h.wantExit(1)
}
