package supervisor

import (
	"slices"
	"syscall"

	"github.com/slotrun/slotrun/internal/signame"
)

// handleSignals acts on every signal in the inbox and reports whether there
// were any. Stop requests go first: a TERM that arrived behind a thousand
// HUPs must not wait for them to be forwarded.
func (s *supervisor) handleSignals() bool {
	pending := s.inbox.take()
	if len(pending) == 0 {
		return false
	}
	slices.SortStableFunc(pending, func(a, b pendingSignal) int {
		return s.signalRank(a.sig) - s.signalRank(b.sig)
	})
	for _, p := range pending {
		s.onSignal(p.sig, p.count)
	}
	return true
}

// stopPending reports whether a signal that asks for a stop waits in the
// inbox.
func (s *supervisor) stopPending() bool {
	return s.inbox.holds(func(sig syscall.Signal) bool { return s.opts.Signals[sig].Kind == ActStop })
}

func (s *supervisor) signalRank(sig syscall.Signal) int {
	if s.opts.Signals[sig].Kind == ActStop {
		return 0
	}
	return 1
}

// onSignal acts on sig, which arrived count times since the loop last
// looked. Like the kernel, it merges repeats where that changes nothing (a
// forward, a rolling restart); where the count matters it is kept (a second
// stop kills, each TTIN adds a worker).
func (s *supervisor) onSignal(sig syscall.Signal, count int) {
	act, ok := s.opts.Signals[sig]
	if !ok {
		return // SIGPIPE: a log reader went away; the write already failed
	}
	if act.Kind == ActForward {
		// Before the log line: the workers are waiting for it.
		target := sig
		if act.Signal != 0 {
			target = act.Signal
		}
		s.forward(target)
	}
	args := []any{"signal", signame.Name(sig), "action", act.String()}
	if count > 1 {
		args = append(args, "count", count)
	}
	s.log.Info("signal received", args...)
	switch act.Kind {
	case ActForward:
		if sig == syscall.SIGTSTP {
			// Ctrl-Z at a terminal reaches slotrun's process group only;
			// the workers, each in a group of its own, got it just now.
			// Then slotrun stops too, as the shell expects of a job; the
			// shell's CONT is forwarded in turn.
			s.log.Info("stopping slotrun itself until CONT, as a job does")
			s.sys.kill(s.self, syscall.SIGSTOP)
		}
	case ActStop:
		if !s.stopping && !s.shuttingDown {
			s.requestStop()
			count--
		}
		if count > 0 {
			s.beginStop(0) // a stop still in its shutdown delay begins now
			s.killAll()
		}
	case ActRestart:
		s.rollStart()
	case ActScaleUp:
		for range min(count, len(s.slots)) {
			s.scaleUp()
		}
	case ActScaleDown:
		for range min(count, len(s.slots)) {
			s.scaleDown()
		}
	case ActIgnore:
	}
}

// forward sends sig to every running worker's process group.
func (s *supervisor) forward(sig syscall.Signal) {
	for _, sl := range s.slots {
		if sl.state.running() {
			s.signalGroup(sl, sig)
		}
	}
}

// scaleUp starts a worker in the lowest slot this supervisor does not use,
// and returns that slot; nil if there was none. With no free slot, it
// takes back the lowest slot whose worker a scale-down is still stopping:
// a new worker starts there once the old one is gone (docs/control.md,
// "Busy slots").
func (s *supervisor) scaleUp() *slot {
	if s.stopping {
		return nil
	}
	held := 0
	for _, sl := range s.slots {
		if sl.state != stateIdle {
			continue
		}
		if err := s.table.AcquireSlot(sl.id, s.self); err != nil {
			held++
			continue // held by a process outside this supervisor
		}
		sl.holder = s.self
		sl.log.Info("scaling up")
		sl.takenAgain()
		s.spawn(sl)
		return sl
	}
	for _, sl := range s.slots {
		if sl.state != stateIdle && sl.then == thenRemove {
			sl.log.Info("scaling up: taking back the slot; its new worker starts once the old one, still stopping, is gone", "pid", sl.pid)
			sl.retake()
			return sl
		}
	}
	if held > 0 {
		s.log.Warn("scale-up: no free slot: those this supervisor does not use are held by another process (one that shares the slot table)", "held", held, "workers", s.countActive())
	} else {
		s.log.Warn("scale-up: no free slot among the id space; start with --slots larger than --workers to leave room",
			"slots", len(s.slots), "workers", s.countActive())
	}
	return nil
}

// scaleDown stops the worker in the highest slot in use and releases it,
// and returns that slot; nil if none may go.
func (s *supervisor) scaleDown() *slot {
	if s.stopping {
		return nil
	}
	if s.countActive() <= 1 {
		s.log.Warn("scale-down: one worker is the minimum")
		return nil
	}
	var last *slot
	for _, sl := range s.slots {
		if sl.active() {
			last = sl
		}
	}
	last.log.Info("scaling down", "pid", last.pid)
	s.stopSlot(last, thenRemove)
	return last
}

func (s *supervisor) countActive() int {
	n := 0
	for _, sl := range s.slots {
		if sl.active() {
			n++
		}
	}
	return n
}
