package supervisor

import (
	"fmt"
	"slices"
)

// rollingPlan is a rolling restart: one slot at a time, the next once the
// new worker is ready (docs/states.md, "Rolling restart").
type rollingPlan struct {
	round   uint64 // counts rolling restarts since start, from 1
	queue   []int  // slots still to restart, in order
	current *slot  // the slot being restarted now
	done    int    // slots restarted (or skipped) so far
	total   int
	// next is the round asked for meanwhile, to follow this one: requests
	// that arrive during a round merge into it.
	next *rollTarget
}

// rollTarget is what a rolling restart restarts: every slot in use, or
// the slots listed.
type rollTarget struct {
	all   bool
	slots []int
}

// merge widens t to cover o too.
func (t *rollTarget) merge(o rollTarget) {
	if o.all {
		t.all = true
	}
	for _, id := range o.slots {
		if !slices.Contains(t.slots, id) {
			t.slots = append(t.slots, id)
		}
	}
}

// rollingRecord is what the status shows of rolling restarts besides the
// one under way: the last one if it halted (until the next begins), and
// how many completed and halted since start.
type rollingRecord struct {
	rounds    uint64 // rounds begun
	halted    string // why the last round halted; "" if it did not
	haltedAt  [2]int // its done and total
	completed int
	halts     int
	waiters   []rollWaiter
}

// rollWaiter is a control request waiting for the end of round. gone is
// closed when nobody waits for the answer any more (the client went away):
// the waiter is dropped, the round goes on.
type rollWaiter struct {
	round  uint64
	answer func(error)
	gone   <-chan struct{}
}

// rollStart asks for a rolling restart of every slot in use.
func (s *supervisor) rollStart() { s.rollRequest(rollTarget{all: true}) }

// rollRequest begins a rolling restart of target, or merges it into the
// round after the one under way, and returns the round that will cover it;
// 0 if none will (a stop is under way).
func (s *supervisor) rollRequest(target rollTarget) uint64 {
	if s.stopping || s.shuttingDown {
		return 0
	}
	if plan := s.rolling; plan != nil {
		if plan.next == nil {
			plan.next = &rollTarget{}
		}
		plan.next.merge(target)
		s.log.Info("rolling restart in progress; another round will follow")
		return plan.round + 1
	}
	return s.rollBegin(target)
}

func (s *supervisor) rollBegin(target rollTarget) uint64 {
	s.rolls.rounds++
	s.rolls.halted = ""
	plan := &rollingPlan{round: s.rolls.rounds}
	for _, sl := range s.slots {
		if sl.active() && (target.all || slices.Contains(target.slots, sl.id)) {
			plan.queue = append(plan.queue, sl.id)
		}
	}
	plan.total = len(plan.queue)
	s.rolling = plan
	s.log.Info("rolling restart", "workers", len(plan.queue))
	s.rollNext()
	return plan.round
}

// rollNext restarts the next running slot of the plan.
func (s *supervisor) rollNext() {
	plan := s.rolling
	if plan == nil {
		return
	}
	if plan.current != nil {
		plan.done++
		plan.current = nil
	}
	for len(plan.queue) > 0 {
		sl := s.slots[plan.queue[0]]
		plan.queue = plan.queue[1:]
		if sl.state == stateBackoff && sl.then == thenByPolicy {
			s.rollFromBackoff(plan, sl)
			return
		}
		if (sl.state != stateStarting && sl.state != stateReady) || sl.then != thenByPolicy {
			plan.done++
			continue // not running now, or already going: its next start is fresh anyway
		}
		plan.current = sl
		s.stopSlot(sl, thenRestart)
		return
	}
	s.rolling = nil
	s.rolls.completed++
	s.log.Info("rolling restart done")
	s.rollEnded(plan.round, nil)
	if plan.next != nil {
		s.rollBegin(*plan.next)
	}
}

// rollFromBackoff restarts a slot that waits out a backoff: its worker
// starts now, without the rest of the wait, and the round goes on once it
// is ready. Whoever restarts a crash-looping slot wants it tried now (a
// fix deployed); a worker that fails again halts the round as any other
// would (docs/control.md, "Busy slots").
func (s *supervisor) rollFromBackoff(plan *rollingPlan, sl *slot) {
	plan.current = sl
	sl.log.Info("rolling restart: starting the worker now, without the rest of its backoff")
	sl.timer.stop()
	if !s.spawn(sl) && s.rolling == plan && plan.current == sl {
		// The slot is held by another process: spawn put it back in
		// backoff, to wait for it.
		s.rollHalt(sl, "its slot is held by another process")
	}
}

// rollHalt abandons the rolling restart: a new worker that cannot start or
// become ready would only be followed by more of the same. The slot itself
// goes on under the restart policy. Rounds asked for meanwhile are dropped
// too: they would meet the same.
func (s *supervisor) rollHalt(sl *slot, why string) {
	plan := s.rolling
	s.log.Warn("rolling restart halted: "+why, "slot", sl.id, "min_uptime", s.opts.MinUptime.String(),
		"not_restarted", len(plan.queue))
	s.rolling = nil
	s.rolls.halts++
	s.rolls.halted = fmt.Sprintf("slot %d: %s", sl.id, why)
	s.rolls.haltedAt = [2]int{plan.done, plan.total}
	s.rollEnded(^uint64(0), fmt.Errorf("rolling restart halted at slot %d: %s", sl.id, why))
}

// rollAbandon ends the rolling restart because a stop began.
func (s *supervisor) rollAbandon() {
	if s.rolling == nil {
		return
	}
	s.rolling = nil
	s.rollEnded(^uint64(0), fmt.Errorf("rolling restart ended early: a stop began"))
}

// rollEnded answers the control requests waiting for rounds up to round.
func (s *supervisor) rollEnded(round uint64, err error) {
	keep := s.rolls.waiters[:0]
	for _, w := range s.rolls.waiters {
		if w.round <= round {
			w.answer(err)
		} else {
			keep = append(keep, w)
		}
	}
	s.rolls.waiters = keep
}
