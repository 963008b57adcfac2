package supervisor

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"

	"github.com/slotrun/slotrun/slots"
)

// fakeSystem is the operating system as the supervisor's decisions see it:
// processes that live until a test, or a signal, ends them; a clock that
// moves only when the test says; timers that fire on the test's goroutine.
type fakeSystem struct {
	now_    time.Time
	timers  []*fakeTimer
	nextPID int
	procs   map[int]*fakeProc // every forked process, by pid
	ended   []int             // main processes that ended and were not reaped yet
	changed []fakeChange      // job-control changes not reported yet
	sent    []sentSignal      // every kill, in order
	forkErr error             // the next forks fail with this, while set
	onFork  func()            // called after each successful fork, when set
	strays  map[int]*fakeProc // live children that are no workers
	settled int               // calls of settleMemory
}

type fakeProc struct {
	pid   int
	alive bool
	env   []string // what it was started with
	// survivors are members of its process group that outlive it unless
	// killed (a TERM handler that starts a helper, a child it forked).
	survivors int
	// stubborn processes ignore the stop signal; only SIGKILL ends them.
	stubborn bool
	reaped   bool
	status   exitStatus
}

type fakeChange struct {
	pid    int
	change childChange
}

type sentSignal struct {
	pid int // negative: a process group
	sig syscall.Signal
}

type fakeTimer struct {
	at      time.Time
	f       func()
	stopped bool
}

func newFakeSystem() *fakeSystem {
	return &fakeSystem{
		now_:    time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		nextPID: 1000,
		procs:   map[int]*fakeProc{},
		strays:  map[int]*fakeProc{},
	}
}

func (f *fakeSystem) now() time.Time { return f.now_ }

func (f *fakeSystem) settleMemory() error {
	f.settled++
	return nil
}

func (f *fakeSystem) afterFunc(d time.Duration, fn func()) func() bool {
	t := &fakeTimer{at: f.now_.Add(d), f: fn}
	f.timers = append(f.timers, t)
	return func() bool {
		was := !t.stopped
		t.stopped = true
		return was
	}
}

func (f *fakeSystem) fork(path string, argv, env []string, files []*os.File) (int, slots.Fork, error) {
	if f.forkErr != nil {
		return 0, slots.Fork{}, f.forkErr
	}
	f.nextPID++
	f.procs[f.nextPID] = &fakeProc{pid: f.nextPID, alive: true, env: env}
	if f.onFork != nil {
		f.onFork()
	}
	return f.nextPID, slots.Fork{}, nil
}

func (f *fakeSystem) kill(pid int, sig syscall.Signal) error {
	f.sent = append(f.sent, sentSignal{pid, sig})
	p := f.procs[max(pid, -pid)]
	if p == nil || !p.alive && (pid > 0 || p.survivors == 0) {
		return unix.ESRCH
	}
	switch {
	case sig == 0:
	case sig == syscall.SIGKILL:
		p.survivors = 0
		f.end(p, exitStatus{signal: sig})
	case sig == syscall.SIGTERM && !p.stubborn:
		if pid < 0 {
			p.survivors = 0
		}
		f.end(p, exitStatus{signal: sig})
	}
	return nil
}

// end makes p's main process end with status, if it still runs.
func (f *fakeSystem) end(p *fakeProc, status exitStatus) {
	if !p.alive {
		return
	}
	p.alive = false
	p.status = status
	f.ended = append(f.ended, p.pid)
}

func (f *fakeSystem) wait(pid int, hang bool) (int, childChange, bool) {
	if len(f.changed) > 0 && pid == -1 {
		c := f.changed[0]
		f.changed = f.changed[1:]
		return c.pid, c.change, true
	}
	for i, e := range f.ended {
		if pid == -1 || pid == e {
			f.ended = slices.Delete(f.ended, i, i+1)
			p := f.procs[e]
			p.reaped = true
			return e, childChange{exit: p.status}, true
		}
	}
	return 0, childChange{}, false
}

func (f *fakeSystem) children() []int {
	var kids []int
	for pid, p := range f.strays {
		if p.alive {
			kids = append(kids, pid)
		}
	}
	slices.Sort(kids)
	return kids
}

// addStray makes a child that no worker's group holds: a worker's
// descendant that called setsid and was re-parented to slotrun.
func (f *fakeSystem) addStray(stubborn bool) *fakeProc {
	f.nextPID++
	p := &fakeProc{pid: f.nextPID, alive: true, stubborn: stubborn}
	f.procs[p.pid] = p
	f.strays[p.pid] = p
	return p
}

func (f *fakeSystem) groupAlive(pgid int) bool {
	p := f.procs[pgid]
	return p != nil && (p.alive || p.survivors > 0)
}

// signalsTo lists the signals sent to pid or its group since index from.
func (f *fakeSystem) signalsTo(pid, from int) []syscall.Signal {
	var sigs []syscall.Signal
	for _, s := range f.sent[from:] {
		if s.pid == pid || s.pid == -pid {
			sigs = append(sigs, s.sig)
		}
	}
	return sigs
}

// fakeTable is a slot table in memory. Holders other than the supervisor
// and its workers are named in outside.
type fakeTable struct {
	sys     *fakeSystem
	self    int
	holders []int
	outside map[int]bool // pids of live processes outside the supervisor
}

func (t *fakeTable) alive(pid int) bool {
	if pid == t.self || t.outside[pid] {
		return true
	}
	p := t.sys.procs[pid]
	return p != nil && p.alive
}

func (t *fakeTable) AcquireSlot(slot, pid int) error {
	if h := t.holders[slot]; h != 0 && t.alive(h) {
		return &slots.SlotHeldError{Slot: slot, PID: h}
	}
	t.holders[slot] = pid
	return nil
}

func (t *fakeTable) Transfer(slot, from, to int) error {
	if t.holders[slot] != from {
		return slots.ErrNotHolder
	}
	t.holders[slot] = to
	return nil
}

func (t *fakeTable) TransferChild(slot, from, to int, _ slots.Fork) error {
	return t.Transfer(slot, from, to)
}

func (t *fakeTable) Release(slot, pid int) error {
	if t.holders[slot] != pid {
		return slots.ErrNotHolder
	}
	t.holders[slot] = 0
	return nil
}

func (t *fakeTable) Snapshot() []slots.Holder {
	hs := make([]slots.Holder, len(t.holders))
	for i, h := range t.holders {
		hs[i] = slots.Holder{Slot: i, PID: h, Alive: h != 0 && t.alive(h)}
	}
	return hs
}

func (t *fakeTable) Close() error { return nil }

// harness runs a supervisor on the fake system, on the test's goroutine:
// each step hands it an input and then lets it handle everything pending,
// as its loop would.
type harness struct {
	t    *testing.T
	sys  *fakeSystem
	tab  *fakeTable
	s    *supervisor
	logs *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// testOptions are the defaults of the command line, on n workers.
func testOptions(n int) Options {
	return Options{
		Name: "test", Path: "/bin/worker", Args: []string{"worker"},
		Workers: n, Slots: n,
		Restart:    RestartAlways,
		MinUptime:  time.Second,
		BackoffMin: 100 * time.Millisecond, BackoffMax: 30 * time.Second,
		RestartWindow: time.Minute,
		StopSignal:    syscall.SIGTERM, StopTimeout: 10 * time.Second,
		Signals: DefaultActions(),
	}
}

// start starts a supervisor with opts on a fake system and lets it settle.
func start(t *testing.T, opts Options, setup ...func(*harness)) *harness {
	t.Helper()
	h := &harness{t: t, sys: newFakeSystem(), logs: &syncBuffer{}}
	opts.Logger = hclog.New(&hclog.LoggerOptions{Output: h.logs, Level: hclog.Trace})
	h.s = newSupervisor(opts, h.sys)
	h.tab = &fakeTable{sys: h.sys, self: h.s.self, holders: make([]int, opts.Slots), outside: map[int]bool{}}
	h.s.table = h.tab
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { devnull.Close() })
	h.s.devnull = devnull
	for _, f := range setup {
		f(h)
	}
	if err := h.s.takeSlots(opts.Workers); err != nil {
		t.Fatalf("takeSlots: %v", err)
	}
	if err := h.s.startWorkers(); err != nil {
		t.Fatalf("startWorkers: %v", err)
	}
	h.s.afterStart()
	h.settle()
	t.Cleanup(func() {
		if h.s.badMoves > 0 {
			t.Errorf("%d slot moves outside the state machine; logs:\n%s", h.s.badMoves, h.logs)
		}
		if t.Failed() {
			t.Logf("supervisor logs:\n%s", h.logs)
		}
	})
	return h
}

// settle handles every pending input, as the loop would, until none is
// left: signals first, then timer events, then reaping.
func (h *harness) settle() {
	for i := 0; ; i++ {
		if i > 100000 {
			h.t.Fatal("the supervisor never settled")
		}
		h.s.answerWaiters() // as the loop does before each step
		if h.s.handleSignals() {
			continue
		}
		select {
		case ev := <-h.s.events:
			h.s.handle(ev)
			continue
		default:
		}
		if len(h.sys.ended) > 0 || len(h.sys.changed) > 0 {
			h.s.reap()
			continue
		}
		// The loop looks for strays once every slot is idle.
		if h.s.slotsIdle() && !h.s.finished() && (len(h.s.events) > 0 || len(h.sys.ended) > 0) {
			continue
		}
		return
	}
}

// advance moves the clock by d, firing the timers that fall due on the
// way, in order.
func (h *harness) advance(d time.Duration) {
	end := h.sys.now_.Add(d)
	for {
		var next *fakeTimer
		for _, t := range h.sys.timers {
			if !t.stopped && !t.at.After(end) && (next == nil || t.at.Before(next.at)) {
				next = t
			}
		}
		if next == nil {
			break
		}
		next.stopped = true
		if next.at.After(h.sys.now_) {
			h.sys.now_ = next.at
		}
		next.f()
		h.settle()
	}
	h.sys.now_ = end
	h.sys.timers = slices.DeleteFunc(h.sys.timers, func(t *fakeTimer) bool { return t.stopped })
}

func (h *harness) signal(sig syscall.Signal) {
	h.s.inbox.add(sig)
	h.settle()
}

// exit ends slot's worker with status, as if it exited by itself.
func (h *harness) exit(slot int, status exitStatus) {
	h.t.Helper()
	p := h.proc(slot)
	h.sys.end(p, status)
	h.settle()
}

// exitLeavingGroup ends slot's worker with a failure while a member of its
// process group, which ignores the stop signal, lives on: the slot drains.
func (h *harness) exitLeavingGroup(slot int) *fakeProc {
	h.t.Helper()
	p := h.proc(slot)
	p.survivors = 1
	p.stubborn = true
	h.exit(slot, code(1))
	h.wantStates("draining")
	return p
}

// proc is the fake process of slot's current worker.
func (h *harness) proc(slot int) *fakeProc {
	h.t.Helper()
	p := h.sys.procs[h.s.slots[slot].pid]
	if p == nil {
		h.t.Fatalf("slot %d has no worker (state %s)", slot, h.s.slots[slot].state)
	}
	return p
}

func (h *harness) pid(slot int) int { return h.s.slots[slot].pid }

// states lists every slot's state, as "starting ready idle".
func (h *harness) states() string {
	var b strings.Builder
	for i, sl := range h.s.slots {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(sl.state.String())
	}
	return b.String()
}

func (h *harness) wantStates(want string) {
	h.t.Helper()
	if got := h.states(); got != want {
		h.t.Fatalf("slot states = %q, want %q", got, want)
	}
}

// wantLog fails unless the logs have a line containing every part.
func (h *harness) wantLog(parts ...string) {
	h.t.Helper()
	for _, line := range strings.Split(h.logs.String(), "\n") {
		if containsAll(line, parts) {
			return
		}
	}
	h.t.Fatalf("no log line with %q", parts)
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

func (h *harness) wantExit(code int) {
	h.t.Helper()
	if !h.s.finished() {
		h.t.Fatalf("supervisor still running: slots %s", h.states())
	}
	if h.s.exitCode != code {
		h.t.Fatalf("exit code %d, want %d", h.s.exitCode, code)
	}
}

func (h *harness) wantTableHolder(slot, pid int) {
	h.t.Helper()
	if got := h.tab.holders[slot]; got != pid {
		h.t.Fatalf("slot table names pid %d for slot %d, want %d", got, slot, pid)
	}
}

func code(n int) exitStatus                  { return exitStatus{code: n} }
func killedBy(sig syscall.Signal) exitStatus { return exitStatus{signal: sig} }
