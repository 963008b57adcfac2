package supervisor

import (
	"fmt"
	"strings"
	"syscall"

	"github.com/slotrun/slotrun/notify"
)

// ReadyMode says when a worker counts as ready (docs/readiness.md).
type ReadyMode int

const (
	ReadyUptime ReadyMode = iota // alive for min_uptime
	ReadyNotify                  // it sent READY=1
)

var readyModeNames = []string{"uptime", "notify"}

func (m ReadyMode) String() string {
	if int(m) < len(readyModeNames) {
		return readyModeNames[m]
	}
	return fmt.Sprintf("ReadyMode(%d)", int(m))
}

// ParseReadyMode reads "uptime" or "notify", in any case.
func ParseReadyMode(s string) (ReadyMode, error) {
	for i, name := range readyModeNames {
		if strings.EqualFold(strings.TrimSpace(s), name) {
			return ReadyMode(i), nil
		}
	}
	return 0, fmt.Errorf("%q is not a readiness mode (use uptime or notify)", s)
}

// notifyEvent is one notification from a worker's process group.
type notifyEvent struct {
	pid  int // the sender
	pgid int // the worker's process group it belongs to
	msg  notify.Message
}

func (notifyEvent) isEvent() {}

// watchReady starts watching a worker that just started: in uptime mode
// it is ready after min_uptime; in notify mode when it says READY=1, and
// not later than the ready timeout.
func (s *supervisor) watchReady(sl *slot) {
	sl.failedReady, sl.saidStopping, sl.status = false, false, ""
	sl.watchdog.stop()
	if s.opts.Ready == ReadyUptime {
		if s.opts.MinUptime > 0 {
			s.arm(sl, &sl.timer, s.opts.MinUptime, timerReady)
		} else {
			s.becameReady(sl) // no timer, goroutine and loop round per start for nothing
		}
		return
	}
	s.armReadyTimeout(sl)
}

func (s *supervisor) armReadyTimeout(sl *slot) {
	if s.opts.ReadyTimeout > 0 {
		s.arm(sl, &sl.timer, s.opts.ReadyTimeout, timerNotReady)
	} else {
		sl.timer.stop()
	}
}

// onNotify acts on what a worker's group said.
func (s *supervisor) onNotify(ev notifyEvent) {
	sl := s.byPID[ev.pgid]
	if sl == nil || !sl.state.running() {
		return // reaped since it was sent
	}
	m := ev.msg
	if m.HasStatus {
		sl.status = m.Status
		sl.log.Debug("worker status", "pid", sl.pid, "sender", ev.pid, "status", m.Status)
	}
	if m.Watchdog && s.opts.Watchdog > 0 && sl.state != stateStopping {
		s.arm(sl, &sl.watchdog, s.opts.Watchdog, timerWatchdog)
	}
	if m.Stopping {
		s.workerStopping(sl)
		return
	}
	if m.Reloading && sl.state == stateReady {
		s.move(sl, stateStarting)
		sl.log.Info("worker reloading; not ready until it says READY=1", "pid", sl.pid)
		s.armReadyTimeout(sl)
	}
	if m.Ready && sl.state == stateStarting {
		sl.timer.stop()
		sl.log.Info("worker ready", "pid", sl.pid, "sender", ev.pid)
		if s.opts.Watchdog > 0 && sl.watchdog.cancel == nil {
			s.arm(sl, &sl.watchdog, s.opts.Watchdog, timerWatchdog)
		}
		s.becameReady(sl)
	}
}

// workerStopping: the worker said STOPPING=1. It is on its way out, as if
// it had been sent the stop signal: not ready, and SIGKILLed if it is still
// there after the stop timeout; the restart policy decides what follows.
func (s *supervisor) workerStopping(sl *slot) {
	if sl.state == stateStopping {
		return
	}
	sl.log.Info("worker says it is stopping", "pid", sl.pid, "stop_timeout", s.opts.StopTimeout.String())
	s.move(sl, stateStopping)
	sl.saidStopping = true
	sl.watchdog.stop()
	sl.killAt = s.sys.now().Add(s.opts.StopTimeout)
	s.arm(sl, &sl.timer, s.opts.StopTimeout, timerKill)
}

// notReadyInTime: the ready timeout passed without READY=1. The worker is
// stopped like any other, and counts as a quick failure whatever its
// uptime; a rolling restart waiting for it halts.
func (s *supervisor) notReadyInTime(sl *slot) {
	if sl.state != stateStarting {
		return
	}
	why := "not ready within " + s.opts.ReadyTimeout.String()
	sl.log.Warn("worker "+why, "pid", sl.pid)
	sl.failedReady = true
	if s.rolling != nil && s.rolling.current == sl {
		s.rollHalt(sl, "the new worker was "+why)
	}
	s.stopSlot(sl, thenByPolicy)
}

// watchdogExpired: no WATCHDOG=1 for the watchdog's time. The group gets
// SIGABRT (a Go worker prints its goroutines' stacks), with no stop signal
// first, SIGKILL after the stop timeout, and the slot restarts as a
// failure.
func (s *supervisor) watchdogExpired(sl *slot) {
	if sl.state != stateStarting && sl.state != stateReady {
		return
	}
	sl.log.Warn("watchdog expired; aborting the worker", "pid", sl.pid, "watchdog", s.opts.Watchdog.String())
	sl.failedReady = true
	if s.rolling != nil && s.rolling.current == sl {
		s.rollHalt(sl, "the new worker's watchdog expired")
	}
	s.move(sl, stateStopping)
	sl.killAt = s.sys.now().Add(s.opts.StopTimeout)
	s.signalGroup(sl, syscall.SIGABRT)
	s.arm(sl, &sl.timer, s.opts.StopTimeout, timerKill)
}
