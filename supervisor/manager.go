package supervisor

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/slotrun/slotrun/notify"
)

// manager is slotrun's own service manager (systemd), when slotrun's
// environment has NOTIFY_SOCKET: slotrun reports to it as a Type=notify
// (or notify-reload) service does (docs/readiness.md, "slotrun under
// systemd"). The loop calls report after every input; it sends only what
// changed.
type manager struct {
	addr     string        // NOTIFY_SOCKET; "" when there is no manager
	watchdog time.Duration // half of WATCHDOG_USEC; 0 when no watchdog is asked for
	tick     slotTimer

	ready    bool   // READY=1 was sent and no reload is under way
	rolling  bool   // RELOADING=1 was sent
	stopping bool   // STOPPING=1 was sent
	status   string // the last STATUS= sent
}

// managerTick is the manager's watchdog falling due.
type managerTick struct{ gen uint64 }

func (managerTick) isEvent() {}

// readManager reads NOTIFY_SOCKET and WATCHDOG_USEC from slotrun's own
// environment; WATCHDOG_PID, if set, must be slotrun's pid, as sd_watchdog_enabled has it.
func (s *supervisor) readManager() {
	s.mgr.addr = os.Getenv("NOTIFY_SOCKET")
	if s.mgr.addr == "" {
		return
	}
	usec, err := strconv.ParseInt(os.Getenv("WATCHDOG_USEC"), 10, 64)
	if pid := os.Getenv("WATCHDOG_PID"); pid != "" && pid != strconv.Itoa(os.Getpid()) {
		err = fmt.Errorf("WATCHDOG_PID=%s is not this process", pid)
	}
	if err == nil && usec > 0 {
		s.mgr.watchdog = time.Duration(usec) * time.Microsecond / 2
	}
}

func (s *supervisor) sendManager(pairs ...string) {
	if err := notify.Send(s.mgr.addr, notify.Format(pairs...)); err != nil {
		s.log.Debug("cannot notify the service manager", "error", err)
	}
}

// startManagerWatchdog starts the WATCHDOG=1 pings: from the loop, so they
// stop if the loop stops answering.
func (s *supervisor) startManagerWatchdog() {
	if s.mgr.addr == "" || s.mgr.watchdog <= 0 {
		return
	}
	s.sendManager("WATCHDOG", "1")
	s.armManagerTick()
}

func (s *supervisor) armManagerTick() {
	s.mgr.tick.stop()
	gen := s.mgr.tick.gen
	s.mgr.tick.cancel = s.sys.afterFunc(s.mgr.watchdog, func() { s.post(managerTick{gen}) })
}

func (s *supervisor) onManagerTick(ev managerTick) {
	if ev.gen != s.mgr.tick.gen || s.mgr.addr == "" {
		return
	}
	s.sendManager("WATCHDOG", "1")
	s.armManagerTick()
}

// reportToManager tells the manager what changed since the last call:
// STATUS=k/n workers ready; READY=1 once every first worker is ready;
// RELOADING=1 when a rolling restart begins and READY=1 when it ends;
// STOPPING=1 when a stop begins.
func (s *supervisor) reportToManager() {
	if s.mgr.addr == "" {
		return
	}
	if s.stopping {
		if !s.mgr.stopping {
			s.mgr.stopping = true
			s.mgr.tick.stop()
			s.sendManager("STOPPING", "1", "STATUS", "stopping")
		}
		return
	}
	ready, desired := 0, 0
	for _, sl := range s.slots {
		if sl.active() {
			desired++
			if sl.state == stateReady {
				ready++
			}
		}
	}
	var pairs []string
	if st := fmt.Sprintf("%d/%d workers ready", ready, desired); st != s.mgr.status {
		s.mgr.status = st
		pairs = append(pairs, "STATUS", st)
	}
	switch rolling := s.rolling != nil; {
	case rolling && !s.mgr.rolling:
		s.mgr.rolling = true
		pairs = append(pairs, "RELOADING", "1", "MONOTONIC_USEC", notify.MonotonicUsec())
	case !rolling && s.mgr.rolling:
		s.mgr.rolling, s.mgr.ready = false, true
		pairs = append(pairs, "READY", "1")
	case !s.mgr.ready && ready == desired && desired > 0:
		s.mgr.ready = true
		pairs = append(pairs, "READY", "1")
	}
	if len(pairs) > 0 {
		s.sendManager(pairs...)
	}
}
