package supervisor

import (
	"errors"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/slotrun/slotrun/internal/signame"
)

// stopSlot asks the slot's worker to go, and says what becomes of the slot
// once it is gone. A worker already on its way out is not signalled again;
// only what follows may change (a scale-down during a rolling restart
// removes the slot instead of restarting it).
func (s *supervisor) stopSlot(sl *slot, then afterGone) {
	sl.stopAsked(then)
	switch sl.state {
	case stateStarting, stateReady:
		s.stopWorker(sl)
	case stateStopping:
		// A worker that said STOPPING=1 by itself still gets the stop
		// signal when slotrun asks it to go.
		if sl.saidStopping {
			sl.saidStopping = false
			s.askToStop(sl)
		}
	case stateBackoff:
		if sl.then == thenRemove {
			s.endSlot(sl)
		}
	}
}

// stopWorker sends the stop signal to a running worker's process group and
// starts its kill deadline.
func (s *supervisor) stopWorker(sl *slot) {
	s.move(sl, stateStopping)
	sl.killAt = s.sys.now().Add(s.opts.StopTimeout)
	s.askToStop(sl)
	s.arm(sl, &sl.timer, s.opts.StopTimeout, timerKill)
}

// askToStop sends the stop signal to the slot's process group, then CONT,
// as systemd does: a stopped process (Ctrl-Z, TTOU, a debugger's STOP)
// keeps the stop signal pending and would sit out the whole stop timeout.
func (s *supervisor) askToStop(sl *slot) {
	s.signalGroup(sl, s.opts.StopSignal)
	if s.opts.StopSignal != syscall.SIGKILL && s.opts.StopSignal != syscall.SIGCONT {
		s.signalGroup(sl, syscall.SIGCONT)
	}
}

// signalGroup sends sig to the slot's process group. A running worker that
// left the group it was started in gets it directly; once the worker has
// been reaped its pid is never signalled again, since it may be reused —
// also when its slot has not heard of the exit yet (a stop handled in the
// middle of a reap round).
// It reports whether anything was there to receive it.
func (s *supervisor) signalGroup(sl *slot, sig syscall.Signal) bool {
	err := s.sys.kill(-sl.pid, sig)
	if errors.Is(err, unix.ESRCH) && sl.state.running() && s.byPID[sl.pid] == sl {
		err = s.sys.kill(sl.pid, sig)
	}
	if err != nil && !errors.Is(err, unix.ESRCH) {
		sl.log.Warn("cannot signal the worker", "signal", signame.Name(sig), "pid", sl.pid, "error", err)
	}
	return err == nil
}

// kill SIGKILLs what is left of the slot's worker.
func (s *supervisor) kill(sl *slot, why string) {
	if !sl.state.running() && sl.state != stateDraining {
		return
	}
	if !s.signalGroup(sl, syscall.SIGKILL) {
		s.checkGroup(sl) // nothing left: the group ended unseen
		return
	}
	sl.log.Warn("killing the worker's process group: "+why, "pid", sl.pid, "stop_timeout", s.opts.StopTimeout.String())
	if s.stopping && s.exitCode == 0 {
		s.exitCode = 1
	}
}

// killRunning SIGKILLs every worker at once, when the loop is torn down.
func (s *supervisor) killRunning() {
	for _, sl := range s.slots {
		if sl.state.running() || sl.state == stateDraining {
			s.signalGroup(sl, syscall.SIGKILL)
		}
	}
}

// beginStop starts a graceful stop that ends with exit code code.
func (s *supervisor) beginStop(code int) {
	if s.stopping {
		return
	}
	s.desiredAtStop = s.countActive()
	s.stopping = true
	s.exitCode = code
	s.rollAbandon()
	// The workers first, the log line after: writing it is the slower of
	// the two (docs/performance.md, "Signals").
	workers := len(s.byPID)
	for _, sl := range s.slots {
		s.stopSlot(sl, thenRemove)
	}
	s.log.Info("stopping", "signal", signame.Name(s.opts.StopSignal), "timeout", s.opts.StopTimeout.String(), "workers", workers)
}

// killAll is the answer to a second stop request: no more waiting.
func (s *supervisor) killAll() {
	s.log.Warn("second stop request: killing every worker now")
	for _, sl := range s.slots {
		s.kill(sl, "a second stop request")
	}
}
