package supervisor

// The loop's inputs (docs/architecture.md, "The loop"): signals collect in
// the inbox, SIGCHLD has a one-slot channel, and everything else arrives as
// an event. event is closed: only the types of this file are events.
type event interface{ isEvent() }

// timerEvent is a slot's timer falling due. It is stale, and dropped, when
// the timer was re-armed or stopped after it fired.
type timerEvent struct {
	slot  *slot
	timer *slotTimer
	gen   uint64
	kind  timerKind
}

func (timerEvent) isEvent() {}

// post hands an event to the loop; after the loop has ended it is dropped.
func (s *supervisor) post(ev event) {
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
	s.startManagerWatchdog()
	for !s.finished() {
		s.reportToManager()
		s.answerWaiters()
		// Signals first, then timers, then reaping: in a crash storm a
		// SIGCHLD is nearly always pending, and a TERM must not wait
		// behind rounds of reaping and restarting.
		if s.handleSignals() {
			continue
		}
		select {
		case ev := <-s.events:
			s.handle(ev)
			continue
		default:
		}
		select {
		case <-s.inbox.wake:
			s.handleSignals()
		case ev := <-s.events:
			s.handle(ev)
		case <-s.childExited:
			s.reap()
		case <-s.done:
			// Another actor of Run's group ended: no graceful stop.
			s.killRunning()
			return s.finish()
		}
	}
	return s.finish()
}

func (s *supervisor) handle(ev event) {
	switch ev := ev.(type) {
	case timerEvent:
		s.onTimer(ev)
	case strayDeadline:
		s.killStrays()
	case notifyEvent:
		s.onNotify(ev)
	case managerTick:
		s.onManagerTick(ev)
	case controlRequest:
		ev.run()
	case settleDue:
		s.settleMemory()
	case shutdownDue:
		if !s.stopping {
			s.beginStop(0)
		}
	}
}

// finished reports whether no slot is in use any more (after a stop, or
// when every slot ended by policy) and nothing the workers left behind is
// alive.
func (s *supervisor) finished() bool {
	return s.slotsIdle() && s.straysGone()
}

func (s *supervisor) slotsIdle() bool {
	for _, sl := range s.slots {
		if sl.state != stateIdle {
			return false
		}
	}
	return true
}
