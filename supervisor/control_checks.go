package supervisor

import (
	"fmt"
	"strings"

	"github.com/slotrun/slotrun/control"
)

// The checks of control requests' values (docs/control.md, "Refusals"):
// each refusal names the field at fault and what it takes.

// checkScale refuses a scale request whose outcome would be fewer than
// one worker or more than --slots, naming the field and its range.
func (s *supervisor) checkScale(req control.ScaleRequest, current int) error {
	m := len(s.slots)
	if req.Workers != nil {
		switch n := *req.Workers; {
		case n < 1:
			return control.Errorf(control.StatusBadRequest, `scale: %d workers: one is the minimum ("workers" runs from 1 to %d)`, n, m)
		case n > m:
			return control.Errorf(control.StatusBadRequest, `scale: %d is more than --slots %d ("workers" runs from 1 to %d)`, n, m, m)
		}
		return nil
	}
	k := *req.Change
	span := fmt.Sprintf(`("change" runs from %+d to %+d with %s and --slots %d)`, 1-current, m-current, workers(current), m)
	// Compared without adding: a huge change must not wrap around.
	switch {
	case k < 1-current:
		return control.Errorf(control.StatusBadRequest, "scale: %+d would leave fewer than one worker %s", k, span)
	case k > m-current:
		return control.Errorf(control.StatusBadRequest, "scale: %+d would make more than --slots %d %s", k, m, span)
	}
	return nil
}

// workers is "1 worker" or "N workers".
func workers(n int) string {
	if n == 1 {
		return "1 worker"
	}
	return fmt.Sprintf("%d workers", n)
}

// slotInUse checks a slot named by a request: outside the id space is a
// usage error, a slot this supervisor does not use a conflict. Both say
// which slots there are.
func (s *supervisor) slotInUse(what string, id int) (*slot, error) {
	sl, err := s.slotNamed(what, id)
	if err != nil {
		return nil, err
	}
	if !sl.active() {
		return nil, control.Errorf(control.StatusConflict, "%s: slot %d is not in use (slots in use: %s)", what, id, s.slotsInUse())
	}
	return sl, nil
}

// slotNamed checks that a slot named by a request is in the id space.
func (s *supervisor) slotNamed(what string, id int) (*slot, error) {
	m := len(s.slots)
	switch {
	case id < 0:
		return nil, control.Errorf(control.StatusBadRequest, `%s: slot %d: slots count from 0 ("slot" runs from 0 to %d)`, what, id, m-1)
	case id >= m:
		return nil, control.Errorf(control.StatusBadRequest, `%s: slot %d is beyond --slots %d ("slot" runs from 0 to %d)`, what, id, m, m-1)
	}
	return s.slots[id], nil
}

// slotWithWorker checks a slot named by a request to signal its worker:
// any slot whose worker or process group is still there will do, one on
// its way out too (a stop, a scale-down): a worker that does not stop may
// need a KILL, or a signal that makes it dump its state.
func (s *supervisor) slotWithWorker(what string, id int) (*slot, error) {
	sl, err := s.slotNamed(what, id)
	if err != nil {
		return nil, err
	}
	switch {
	case sl.state == stateIdle:
		return nil, control.Errorf(control.StatusConflict, "%s: slot %d is not in use (slots in use: %s)", what, id, s.slotsInUse())
	case sl.state == stateBackoff:
		return nil, control.Errorf(control.StatusConflict, "%s: slot %d has no running worker (it is in backoff)", what, id)
	}
	return sl, nil
}

// slotsInUse lists the active slots in ranges: "0-3, 6".
func (s *supervisor) slotsInUse() string {
	var b strings.Builder
	for i := 0; i < len(s.slots); {
		if !s.slots[i].active() {
			i++
			continue
		}
		j := i
		for j+1 < len(s.slots) && s.slots[j+1].active() {
			j++
		}
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		if j == i {
			fmt.Fprintf(&b, "%d", i)
		} else {
			fmt.Fprintf(&b, "%d-%d", i, j)
		}
		i = j + 1
	}
	if b.Len() == 0 {
		return "none"
	}
	return b.String()
}
