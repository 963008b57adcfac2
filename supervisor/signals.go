package supervisor

import (
	"syscall"

	"github.com/slotrun/slotrun/internal/signame"
)

func (s *supervisor) onSignal(sig syscall.Signal) {
	act, ok := s.opts.Signals[sig]
	if !ok {
		return // SIGPIPE: a log reader went away; the write already failed
	}
	s.log.Info("signal received", "signal", signame.Name(sig), "action", act.String())
	switch act.Kind {
	case ActForward:
		target := sig
		if act.Signal != 0 {
			target = act.Signal
		}
		s.forward(target)
	case ActStop:
		if s.stopping {
			s.killAll()
			return
		}
		s.beginStop(0)
	case ActRestart:
		s.rollStart()
	case ActScaleUp:
		s.scaleUp()
	case ActScaleDown:
		s.scaleDown()
	case ActIgnore:
	}
}

func (s *supervisor) forward(sig syscall.Signal) {
	for _, sl := range s.slots {
		if sl.state == slotRunning {
			s.signalGroup(sl, sig)
		}
	}
}

// scaleUp starts a worker in the lowest slot this supervisor does not use.
func (s *supervisor) scaleUp() {
	if s.stopping {
		return
	}
	for _, sl := range s.slots {
		if sl.state != slotIdle {
			continue
		}
		if err := s.table.AcquireSlot(sl.id, s.self); err != nil {
			continue // held by a process outside this supervisor
		}
		sl.holder = s.self
		sl.log.Info("scaling up")
		s.spawn(sl)
		return
	}
	s.log.Warn("scale-up: no free slot among the id space; start with --slots larger than --workers to leave room",
		"slots", len(s.slots), "workers", s.countActive())
}

// scaleDown stops the worker in the highest slot in use and releases it.
func (s *supervisor) scaleDown() {
	if s.stopping {
		return
	}
	if s.countActive() <= 1 {
		s.log.Warn("scale-down: one worker is the minimum")
		return
	}
	var last *slot
	for _, sl := range s.slots {
		if sl.active() {
			last = sl
		}
	}
	last.removing = true
	last.log.Info("scaling down", "pid", last.pid)
	switch last.state {
	case slotRunning:
		if last.stopDeadline.IsZero() {
			s.stopWorker(last)
		}
	case slotWaiting:
		s.endSlot(last)
	}
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
