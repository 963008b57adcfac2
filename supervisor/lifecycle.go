package supervisor

import (
	"slices"
	"time"

	"github.com/slotrun/slotrun/internal/signame"
)

// This file is the slot state machine's handlers: what each event does to
// a slot (docs/states.md). stop.go has the stop requests, spawn.go the
// starts.

// move takes the slot to state to along an edge of transitions. Any other
// move is a bug in the supervisor: it is logged, counted for the tests, and
// made anyway, since a stuck slot would be worse.
func (s *supervisor) move(sl *slot, to slotState) {
	if !slices.Contains(transitions[sl.state], to) {
		s.badMoves++
		sl.log.Error("bug: a slot made a move the state machine does not have", "from", sl.state.String(), "to", to.String())
	}
	sl.state = to
}

// becameReady: the worker stayed up for min_uptime, or said READY=1.
func (s *supervisor) becameReady(sl *slot) {
	if sl.state != stateStarting {
		return
	}
	s.move(sl, stateReady)
	s.firstReady(sl)
	if s.opts.Ready == ReadyUptime { // onNotify logs a READY=1
		sl.log.Debug("worker ready", "pid", sl.pid)
	}
	if s.rolling != nil && s.rolling.current == sl {
		s.rollNext()
	}
}

// reap collects every child that has ended: workers go to their slots,
// anything else (orphans re-parented to us) is reaped quietly.
func (s *supervisor) reap() {
	// A restart logs two lines, the exit and the new start. Held, and
	// written before the next fork (startWorker) or at the end of the
	// round, the start of one restart and the exit of the next take one
	// write, not two (docs/performance.md).
	s.opts.LogHold.Hold()
	defer s.opts.LogHold.Release()
	var ended []*slot
	for {
		pid, change, ok := s.sys.wait(-1, false)
		if !ok {
			break
		}
		sl, ok := s.byPID[pid]
		switch {
		case !ok:
			if change.ended() {
				s.log.Trace("reaped an orphan", "pid", pid)
			}
		case change.stopped != 0:
			sl.log.Warn("worker stopped; it does nothing until it gets CONT", "pid", pid, "signal", signame.Name(change.stopped))
		case change.continued:
			sl.log.Info("worker continued", "pid", pid)
		default:
			delete(s.byPID, pid)
			s.srv.groups.remove(pid)
			sl.lastExit = change.exit
			sl.exited = true
			ended = append(ended, sl)
		}
	}
	for _, sl := range ended {
		// In a crash storm a round restarts dozens of workers, a fork and
		// exec each: a stop that arrives meanwhile is acted on before the
		// next one, and ends the rest of the round instead of starting it.
		if s.stopPending() {
			s.handleSignals()
		}
		s.workerExited(sl)
	}
	// An orphan's exit may have emptied a draining worker's group.
	for _, sl := range s.slots {
		if sl.state == stateDraining {
			s.checkGroup(sl)
		}
	}
}

// workerExited handles the end of a worker's main process.
func (s *supervisor) workerExited(sl *slot) {
	uptime := s.sys.now().Sub(sl.started)
	args := append([]any{"pid", sl.pid, "uptime", uptime.Round(time.Millisecond).String()}, sl.lastExit.logArgs()...)
	if s.stopping || sl.then != thenByPolicy || sl.lastExit.success() {
		sl.log.Info("worker exited", args...)
	} else {
		sl.log.Warn("worker exited", args...)
	}
	s.holdWhileWaiting(sl)
	if s.rolling != nil && s.rolling.current == sl && sl.then != thenRestart {
		s.rollHalt(sl, "the new worker did not stay up")
	}
	s.move(sl, stateDraining)
	sl.timer.stop() // a ready watch; a kill deadline is re-armed below
	if !s.sys.groupAlive(sl.pid) {
		s.groupGone(sl)
		return
	}
	// What the worker left in its group is stopped like the worker — again
	// if a stop is under way, since a process may have been born after the
	// first signal (a TERM handler that starts a cleanup helper).
	sl.log.Debug("stopping what the worker left in its process group", "signal", signame.Name(s.opts.StopSignal))
	s.askToStop(sl)
	if sl.killAt.IsZero() {
		sl.killAt = s.sys.now().Add(s.opts.StopTimeout)
	}
	s.arm(sl, &sl.timer, sl.killAt.Sub(s.sys.now()), timerKill)
	sl.pollEvery = firstPoll
	s.arm(sl, &sl.poll, sl.pollEvery, timerPoll)
}

// holdWhileWaiting puts the slot of a worker that just ended in the
// supervisor's name, so nobody else takes it while it waits.
func (s *supervisor) holdWhileWaiting(sl *slot) {
	if sl.holder != sl.pid {
		return // it never got past our name (it exited before we looked)
	}
	err := s.table.Transfer(sl.id, sl.pid, s.self)
	if err != nil {
		// The worker gave its slot up itself, or between its death and
		// this reap the slot looked free (a zombie holds nothing) and
		// another process took it.
		err = s.table.AcquireSlot(sl.id, s.self)
	}
	if err != nil {
		sl.log.Warn("another process took the slot after its worker ended; waiting for it to be free", "error", err)
		sl.holder = 0
		return
	}
	sl.holder = s.self
}

// checkGroup moves a draining slot on once its process group is gone.
func (s *supervisor) checkGroup(sl *slot) {
	if sl.state == stateDraining && !s.sys.groupAlive(sl.pid) {
		s.groupGone(sl)
	}
}

// groupGone: nothing is left of the slot's worker. What follows was decided
// by whoever asked it to stop, or else by the restart policy.
func (s *supervisor) groupGone(sl *slot) {
	s.stopTimers(sl)
	sl.killAt = time.Time{}
	then := sl.then
	sl.then = thenByPolicy
	switch {
	case s.stopping || then == thenRemove:
		s.endSlot(sl)
	case then == thenRestart:
		if sl.retaken {
			sl.takenAgain()
		}
		s.spawn(sl)
	case s.opts.Restart == RestartNever,
		s.opts.Restart == RestartOnFailure && sl.lastExit.success():
		if !sl.lastExit.success() && s.firstFail == nil {
			st := sl.lastExit
			s.firstFail = &st
		}
		s.endSlot(sl)
		if !s.anyActive() {
			s.allEnded()
		}
	default:
		s.scheduleRestart(sl)
	}
}

// allEnded sets the exit code once every slot has ended by policy.
func (s *supervisor) allEnded() {
	if s.firstFail == nil {
		s.exitCode = 0
		s.log.Info("every slot has ended")
		return
	}
	s.exitCode = s.firstFail.Code()
	s.log.Info("every slot has ended; exiting with the first failing worker's code", "code", s.exitCode)
}

// endSlot gives the slot up for good (until a scale-up takes it again).
func (s *supervisor) endSlot(sl *slot) {
	s.stopTimers(sl)
	if sl.holder != 0 {
		s.release(sl)
	}
	if sl.state != stateIdle { // a scale-up's start failed under --restart never
		s.move(sl, stateIdle)
	}
	sl.then = thenByPolicy
	sl.failures = 0
	sl.restarts = nil
}

func (s *supervisor) anyActive() bool {
	return slices.ContainsFunc(s.slots, (*slot).active)
}

// scheduleRestart applies max-restarts and the backoff.
func (s *supervisor) scheduleRestart(sl *slot) {
	now := s.sys.now()
	if k := s.opts.MaxRestarts; k > 0 {
		sl.restarts = slices.DeleteFunc(sl.restarts, func(t time.Time) bool { return now.Sub(t) >= s.opts.RestartWindow })
		if len(sl.restarts) >= k {
			s.giveUp(sl)
			return
		}
		sl.restarts = append(sl.restarts, now)
	}
	// A worker that never started (pid 0: exec failed) is a quick failure
	// whatever min_uptime says, so a broken binary cannot spin.
	// So is one that was not ready in time or whose watchdog expired.
	quick := sl.pid == 0 || now.Sub(sl.started) < s.opts.MinUptime || sl.failedReady
	delay := time.Duration(0)
	if quick {
		sl.failures++
		delay = Backoff(sl.failures, s.opts.BackoffMin, s.opts.BackoffMax)
	} else {
		sl.failures = 0
	}
	sl.restartCount++
	sl.restartsTotal++
	if !quick {
		// No line of its own: the "worker started" line that follows at
		// once carries the restart count (docs/performance.md).
		s.spawn(sl)
		return
	}
	sl.log.Info("restart scheduled", "delay", delay.String(), "failures", sl.failures)
	s.move(sl, stateBackoff)
	sl.nextStart = now.Add(delay)
	s.arm(sl, &sl.timer, delay, timerRestart)
}

func (s *supervisor) giveUp(sl *slot) {
	code := sl.lastExit.Code()
	if code == 0 {
		code = 1
	}
	sl.log.Error("giving up: the slot failed too often", "rule", "max-restarts", "max_restarts", s.opts.MaxRestarts,
		"window", s.opts.RestartWindow.String(), "exit_code", code)
	s.endSlot(sl)
	s.beginStop(code)
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
