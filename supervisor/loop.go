package supervisor

import (
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/slotrun/slotrun/pidfile"
	"github.com/slotrun/slotrun/slots"
)

// supervisor is the state the loop goroutine owns. Other goroutines reach it
// only through post.
type supervisor struct {
	opts    Options
	log     hclog.Logger
	self    int
	pidfile *pidfile.File
	table   *slots.Table
	slots   []*slot       // one per id, 0..opts.Slots-1
	byPID   map[int]*slot // running workers by main pid
	baseEnv []string
	devnull *os.File
	out     *output // nil without --prefix

	childExited chan os.Signal // SIGCHLD: time to reap
	events      chan any       // signals with actions, timers
	done        chan struct{}  // closed when the loop must end, or has
	quitOnce    sync.Once

	stopping  bool
	exitCode  int          // what slotrun exits with once stopped
	firstFail *exitStatus  // first failing exit of a slot ended by policy
	rolling   *rollingPlan // a rolling restart in progress
}

type signalEvent struct{ sig syscall.Signal }

// timerEvent is a slot's timer falling due. It is stale, and dropped, when
// the timer was re-armed or stopped after it fired.
type timerEvent struct {
	slot  *slot
	timer *slotTimer
	gen   uint64
	kind  timerKind
}

type timerKind int

const (
	timerRestart timerKind = iota // backoff over: start the worker
	timerKill                     // stop timeout over: SIGKILL the group
	timerUp                       // rolling restart: the new worker stayed up
	timerPoll                     // look whether a draining group is gone
)

// slotTimer is one timer of a slot; gen tells a stale event from a due one.
type slotTimer struct {
	t   *time.Timer
	gen uint64
}

func (st *slotTimer) stop() {
	if st.t != nil {
		st.t.Stop()
		st.t = nil
	}
	st.gen++
}

func newSupervisor(opts Options) *supervisor {
	s := &supervisor{
		opts:        opts,
		log:         opts.Logger,
		self:        os.Getpid(),
		byPID:       map[int]*slot{},
		events:      make(chan any, 64),
		childExited: make(chan os.Signal, 1),
		done:        make(chan struct{}),
	}
	if opts.Prefix {
		s.out = newOutput(opts.Name, opts.Stdout, opts.Stderr)
	}
	return s
}

// post hands an event to the loop; after the loop has ended it is dropped.
func (s *supervisor) post(ev any) {
	select {
	case s.events <- ev:
	case <-s.done:
	}
}

// quit ends the loop. It is the loop's interrupt in Run's group: safe to
// call from any goroutine, any number of times, also after the loop ended.
func (s *supervisor) quit() { s.quitOnce.Do(func() { close(s.done) }) }

// loop handles events until the supervisor has stopped, and returns the exit
// code.
func (s *supervisor) loop() int {
	defer s.quit()
	// SIGCHLD may have come and gone while we spawned; reap once to be sure.
	s.reap()
	for !s.finished() {
		// Signals and timers first: in a crash storm a SIGCHLD is nearly
		// always pending, and a TERM must not wait behind many rounds of
		// reaping and restarting.
		select {
		case ev := <-s.events:
			s.handle(ev)
			continue
		default:
		}
		select {
		case <-s.childExited:
			s.reap()
		case ev := <-s.events:
			s.handle(ev)
		case <-s.done:
			// Another actor of Run's group ended: no graceful stop.
			s.killRunning()
			return s.finish()
		}
	}
	return s.finish()
}

func (s *supervisor) handle(ev any) {
	switch ev := ev.(type) {
	case signalEvent:
		s.onSignal(ev.sig)
	case timerEvent:
		if ev.gen == ev.timer.gen {
			ev.timer.t = nil
			s.onTimer(ev.slot, ev.kind)
		}
	}
}

// finished reports whether no slot is in use any more: after a stop, or
// when every slot ended by policy.
func (s *supervisor) finished() bool {
	for _, sl := range s.slots {
		if sl.state != slotIdle {
			return false
		}
	}
	return true
}

// finish gives back everything the supervisor held.
func (s *supervisor) finish() int {
	for _, sl := range s.slots {
		s.stopTimers(sl)
	}
	s.releaseAll()
	s.table.Close()
	if s.out != nil {
		s.out.drain(s.opts.StopTimeout, s.log)
	}
	if err := s.pidfile.Remove(); err != nil {
		s.log.Warn("cannot remove the pid file", "path", s.opts.PIDFile, "error", err)
	}
	s.devnull.Close()
	s.log.Info("stopped", "exit_code", s.exitCode)
	return s.exitCode
}

func (s *supervisor) releaseAll() {
	for _, sl := range s.slots {
		if sl.holder != 0 {
			s.release(sl)
		}
	}
}

func (s *supervisor) release(sl *slot) {
	if err := s.table.Release(sl.id, sl.holder); err != nil {
		sl.log.Warn("cannot release the slot", "error", err)
	}
	sl.holder = 0
}

// --- timers ---------------------------------------------------------------

// arm (re)starts one of the slot's timers.
func (s *supervisor) arm(sl *slot, st *slotTimer, d time.Duration, kind timerKind) {
	st.stop()
	gen := st.gen
	st.t = time.AfterFunc(d, func() { s.post(timerEvent{sl, st, gen, kind}) })
}

func (s *supervisor) stopTimers(sl *slot) {
	sl.timer.stop()
	sl.poll.stop()
}

func (s *supervisor) onTimer(sl *slot, kind timerKind) {
	switch kind {
	case timerRestart:
		s.spawn(sl)
	case timerKill:
		s.kill(sl, "it outlived the stop timeout")
	case timerUp:
		s.rollNext()
	case timerPoll:
		s.checkGroup(sl)
		if sl.state == slotDraining {
			sl.pollEvery = min(2*sl.pollEvery, maxPoll)
			s.arm(sl, &sl.poll, sl.pollEvery, timerPoll)
		}
	}
}

// A draining group is looked at on every reap, but a member whose parent is
// another member, not us, ends without telling us. So while a group drains
// it is also looked at on a timer: soon at first, then less and less often.
const (
	firstPoll = 5 * time.Millisecond
	maxPoll   = time.Second
)
