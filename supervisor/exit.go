package supervisor

import (
	"errors"
	"time"

	"golang.org/x/sys/unix"

	"github.com/slotrun/slotrun/internal/signame"
)

// reap collects every child that has ended: workers go to their slots,
// anything else (orphans re-parented to us) is reaped quietly.
func (s *supervisor) reap() {
	var ended []*slot
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if pid <= 0 || err != nil {
			break
		}
		sl, ok := s.byPID[pid]
		if !ok {
			s.log.Trace("reaped an orphan", "pid", pid)
			continue
		}
		delete(s.byPID, pid)
		sl.lastExit = exitStatusOf(ws)
		ended = append(ended, sl)
	}
	for _, sl := range ended {
		s.onExit(sl)
	}
	// An orphan's exit may have emptied a draining worker's group.
	for _, sl := range s.slots {
		if sl.state == slotDraining {
			s.checkGroup(sl)
		}
	}
}

// onExit handles the end of a worker's main process.
func (s *supervisor) onExit(sl *slot) {
	uptime := time.Since(sl.started)
	args := append([]any{"pid", sl.pid, "uptime", uptime.Round(time.Millisecond).String()}, sl.lastExit.logArgs()...)
	if s.stopping || sl.removing || sl.restartIt || sl.lastExit.success() {
		sl.log.Info("worker exited", args...)
	} else {
		sl.log.Warn("worker exited", args...)
	}
	s.holdWhileWaiting(sl)
	if s.rolling != nil && s.rolling.current == sl && !sl.restartIt {
		s.rollHalt(sl, "the new worker did not stay up")
	}
	sl.state = slotDraining
	sl.timer.stop() // a rolling-restart watch; a kill deadline is re-armed below
	if !groupAlive(sl.pid) {
		s.drained(sl)
		return
	}
	// What the worker left in its group is stopped like the worker — again
	// if a stop is under way, since a process may have been born after the
	// first signal (a TERM handler that starts a cleanup helper).
	sl.log.Debug("stopping what the worker left in its process group", "signal", signame.Name(s.opts.StopSignal))
	s.signalGroup(sl, s.opts.StopSignal)
	if sl.stopDeadline.IsZero() {
		sl.stopDeadline = time.Now().Add(s.opts.StopTimeout)
	}
	s.arm(sl, &sl.timer, time.Until(sl.stopDeadline), timerKill)
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
	if sl.state == slotDraining && !groupAlive(sl.pid) {
		s.drained(sl)
	}
}

// drained moves on a slot whose worker's process group is gone.
func (s *supervisor) drained(sl *slot) {
	s.stopTimers(sl)
	sl.stopDeadline = time.Time{}
	sl.state = slotWaiting
	s.afterExit(sl)
}

// afterExit decides what comes next for a slot whose worker is wholly gone.
func (s *supervisor) afterExit(sl *slot) {
	switch {
	case s.stopping || sl.removing:
		s.endSlot(sl)
	case sl.restartIt:
		sl.restartIt = false
		if s.spawn(sl) {
			s.rollWatch(sl)
		}
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
	sl.state = slotIdle
	sl.removing = false
	sl.restartIt = false
	sl.failures = 0
	sl.restarts = nil
}

func (s *supervisor) anyActive() bool {
	for _, sl := range s.slots {
		if sl.active() {
			return true
		}
	}
	return false
}

// scheduleRestart applies max-restarts and the backoff.
func (s *supervisor) scheduleRestart(sl *slot) {
	now := time.Now()
	if k := s.opts.MaxRestarts; k > 0 {
		recent := sl.restarts[:0]
		for _, t := range sl.restarts {
			if now.Sub(t) < s.opts.RestartWindow {
				recent = append(recent, t)
			}
		}
		sl.restarts = recent
		if len(recent) >= k {
			s.giveUp(sl)
			return
		}
		sl.restarts = append(sl.restarts, now)
	}
	// A worker that never started (pid 0: exec failed) is a quick failure
	// whatever min_uptime says, so a broken binary cannot spin.
	quick := sl.pid == 0 || now.Sub(sl.started) < s.opts.MinUptime
	delay := time.Duration(0)
	if quick {
		sl.failures++
		delay = Backoff(sl.failures, s.opts.BackoffMin, s.opts.BackoffMax)
	} else {
		sl.failures = 0
	}
	sl.log.Info("restart scheduled", "delay", delay.String(), "failures", sl.failures)
	if !quick {
		s.spawn(sl)
		return
	}
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
