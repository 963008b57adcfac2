package supervisor

// rollingPlan is a rolling restart: one slot at a time, the next once the
// new worker is ready (docs/states.md, "Rolling restart").
type rollingPlan struct {
	queue   []int // slots still to restart, in order
	current *slot // the slot being restarted now
	again   bool  // another restart was asked for meanwhile
}

func (s *supervisor) rollStart() {
	if s.stopping {
		return
	}
	if s.rolling != nil {
		s.rolling.again = true
		s.log.Info("rolling restart in progress; another round will follow")
		return
	}
	plan := &rollingPlan{}
	for _, sl := range s.slots {
		if sl.active() {
			plan.queue = append(plan.queue, sl.id)
		}
	}
	s.rolling = plan
	s.log.Info("rolling restart", "workers", len(plan.queue))
	s.rollNext()
}

// rollNext restarts the next running slot of the plan.
func (s *supervisor) rollNext() {
	plan := s.rolling
	if plan == nil {
		return
	}
	for len(plan.queue) > 0 {
		sl := s.slots[plan.queue[0]]
		plan.queue = plan.queue[1:]
		if (sl.state != stateStarting && sl.state != stateReady) || sl.then != thenByPolicy {
			continue // not running now, or already going: its next start is fresh anyway
		}
		plan.current = sl
		s.stopSlot(sl, thenRestart)
		return
	}
	s.rolling = nil
	s.log.Info("rolling restart done")
	if plan.again {
		s.rollStart()
	}
}

// rollHalt abandons the rolling restart: a new worker that cannot start or
// become ready would only be followed by more of the same. The slot itself
// goes on under the restart policy.
func (s *supervisor) rollHalt(sl *slot, why string) {
	s.log.Warn("rolling restart halted: "+why, "slot", sl.id, "min_uptime", s.opts.MinUptime.String(),
		"not_restarted", len(s.rolling.queue))
	s.rolling = nil
}
