package supervisor

import "time"

// timerKind says what a slot's timer falling due means.
type timerKind int

const (
	timerReady    timerKind = iota // up for min_uptime: ready
	timerRestart                   // backoff over: start the worker
	timerKill                      // stop timeout over: SIGKILL the group
	timerPoll                      // look whether a draining group is gone
	timerNotReady                  // the ready timeout passed without READY=1
	timerWatchdog                  // no WATCHDOG=1 for the watchdog's time
)

// slotTimer is one timer of a slot; gen tells a stale event from a due one.
type slotTimer struct {
	cancel func() bool
	gen    uint64
}

func (st *slotTimer) stop() {
	if st.cancel != nil {
		st.cancel()
		st.cancel = nil
	}
	st.gen++
}

// arm (re)starts one of the slot's timers. When it falls due, the loop gets
// a timerEvent; one that was re-armed or stopped meanwhile is dropped.
func (s *supervisor) arm(sl *slot, st *slotTimer, d time.Duration, kind timerKind) {
	st.stop()
	gen := st.gen
	st.cancel = s.sys.afterFunc(d, func() { s.post(timerEvent{sl, st, gen, kind}) })
}

func (s *supervisor) stopTimers(sl *slot) {
	sl.timer.stop()
	sl.poll.stop()
	sl.watchdog.stop()
}

func (s *supervisor) onTimer(ev timerEvent) {
	if ev.gen != ev.timer.gen {
		return // stale: re-armed or stopped after it fired
	}
	ev.timer.cancel = nil
	sl := ev.slot
	switch ev.kind {
	case timerReady:
		s.becameReady(sl)
	case timerRestart:
		s.spawn(sl)
	case timerKill:
		s.kill(sl, "it outlived the stop timeout")
	case timerNotReady:
		s.notReadyInTime(sl)
	case timerWatchdog:
		s.watchdogExpired(sl)
	case timerPoll:
		s.checkGroup(sl)
		if sl.state == stateDraining {
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
