package slots

import "fmt"

// Holder describes one slot, as Snapshot saw it.
type Holder struct {
	Slot  int
	PID   int    // the holder's pid as recorded; 0 when the word is zero
	Tag   uint32 // the low 32 bits of the holder's start time, as recorded
	Alive bool   // the recorded holder is running; if not, the slot is free
}

// Acquire makes pid the holder of the lowest free slot and returns it. A slot
// is free when it has no holder or its holder is dead. pid must name a
// running process: its start time is recorded with it.
//
// Slots are looked at once each, in order. It fails, returning slot -1 and
// an error wrapping ErrNoFreeSlot, when every slot had a live holder when it
// was looked at.
//
// One pid may hold several slots: a supervisor holds the slots of workers it
// is about to restart.
func (t *Table) Acquire(pid int) (slot int, err error) {
	if t.slots == nil {
		return -1, fmt.Errorf("slot table %s: %w", t.path, ErrClosed)
	}
	w, err := wordFor(pid)
	if err != nil {
		return -1, fmt.Errorf("slot table %s: %w", t.path, err)
	}
	for i := range t.slots {
		if _, ok := t.take(i, w); ok {
			return i, nil
		}
	}
	return -1, fmt.Errorf("slot table %s: all %d slots have live holders: %w", t.path, len(t.slots), ErrNoFreeSlot)
}

// AcquireSlot makes pid the holder of slot if that slot is free. If the slot
// has a live holder — pid itself included — it returns a *SlotHeldError that
// names the holder (errors.Is(err, ErrSlotHeld)).
func (t *Table) AcquireSlot(slot, pid int) error {
	if err := t.check(slot); err != nil {
		return err
	}
	w, err := wordFor(pid)
	if err != nil {
		return fmt.Errorf("slot table %s: %w", t.path, err)
	}
	if holder, ok := t.take(slot, w); !ok {
		return &SlotHeldError{Path: t.path, Slot: slot, PID: pidOf(holder)}
	}
	return nil
}

// take writes w into slot i if the slot is free. Otherwise it returns the
// word of the live holder.
func (t *Table) take(i int, w uint64) (holder uint64, ok bool) {
	s := &t.slots[i]
	for {
		old := s.Load()
		// w names a process just seen running, so a slot that already
		// holds w has a live holder; checking that first spares
		// alive its look at /proc, or at the self cache.
		if old != 0 && (old == w || alive(old)) {
			return old, false
		}
		// The swap from the dead word cannot hand the slot to two
		// processes: a dead holder's word never comes back, since a pid
		// and a start time name one process.
		if s.CompareAndSwap(old, w) {
			return 0, true
		}
		// Someone else changed the slot since the load: look again.
	}
}

// Transfer makes to the holder of slot in place of from, in one step: the
// slot is never free in between, so no other process can take it.
//
// The current holder is identified by its pid alone, not its start time: a
// supervisor transfers the slot of a worker that has died and been reaped,
// whose start time can no longer be read. to must be running; its start time
// is recorded. It fails with an error wrapping ErrNotHolder if from does not
// hold the slot, unless to holds it already: the outcome asked for is there.
//
// A holder's slot is free from the moment it dies, zombie or not: until the
// Transfer, another process may take it, and then Transfer fails with
// ErrNotHolder. Once from's pid has been reused, a process with that pid
// that took the slot would lose it: transfer soon after the reap.
func (t *Table) Transfer(slot, from, to int) error {
	if err := t.check(slot); err != nil {
		return err
	}
	w, err := wordFor(to)
	if err != nil {
		return fmt.Errorf("slot table %s: %w", t.path, err)
	}
	if t.slots[slot].Load() == w {
		return nil
	}
	return t.replace(slot, from, w)
}

// Release frees slot if pid holds it, and fails with an error wrapping
// ErrNotHolder if not. Like Transfer, it identifies the holder by pid alone,
// so a supervisor can release the slot of a worker it has reaped.
func (t *Table) Release(slot, pid int) error {
	if err := t.check(slot); err != nil {
		return err
	}
	return t.replace(slot, pid, 0)
}

// replace swaps the word of slot for w if the slot's pid is from.
func (t *Table) replace(slot, from int, w uint64) error {
	s := &t.slots[slot]
	for {
		old := s.Load()
		if old == 0 || from < 1 || pidOf(old) != from {
			return t.notHolder(slot, from, old)
		}
		if s.CompareAndSwap(old, w) {
			return nil
		}
	}
}

func (t *Table) notHolder(slot, pid int, w uint64) error {
	if w == 0 {
		return fmt.Errorf("slot table %s: slot %d is free, pid %d cannot give it up: %w", t.path, slot, pid, ErrNotHolder)
	}
	return fmt.Errorf("slot table %s: slot %d is held by pid %d, not pid %d: %w", t.path, slot, pidOf(w), pid, ErrNotHolder)
}

func (t *Table) check(slot int) error {
	if t.slots == nil {
		return fmt.Errorf("slot table %s: %w", t.path, ErrClosed)
	}
	if slot < 0 || slot >= len(t.slots) {
		return fmt.Errorf("slot table %s: no slot %d: the table has slots 0 to %d", t.path, slot, len(t.slots)-1)
	}
	return nil
}

// Snapshot returns one Holder per slot, in slot order. Each word is read
// atomically, but slots may change while the later ones are read.
func (t *Table) Snapshot() []Holder {
	hs := make([]Holder, len(t.slots))
	for i := range t.slots {
		w := t.slots[i].Load()
		hs[i] = Holder{Slot: i, PID: pidOf(w), Tag: tagOf(w), Alive: alive(w)}
	}
	return hs
}
