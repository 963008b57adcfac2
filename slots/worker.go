package slots

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
)

// The environment variables through which a supervisor tells a worker its
// slot and the size of the id space (DESIGN.md 3).
const (
	EnvProcessID    = "COMET_PROCESS_ID"
	EnvProcessCount = "COMET_PROCESS_COUNT"
)

// FromEnv returns the id and id count that a supervisor put in
// COMET_PROCESS_ID and COMET_PROCESS_COUNT: the slot and the number of
// slots, or with slotrun --ordinal the id and count across every replica.
// ok is false, and id and count zero, when either is missing or not a
// decimal integer, when count is less than 1, or when id is not in
// 0..count-1: then the process was not started by slotrun, and may call
// GetProcessID instead.
func FromEnv() (id, count int, ok bool) {
	id, idErr := strconv.Atoi(os.Getenv(EnvProcessID))
	count, countErr := strconv.Atoi(os.Getenv(EnvProcessCount))
	if idErr != nil || countErr != nil || count < 1 || id < 0 || id >= count {
		return 0, 0, false
	}
	return id, count, true
}

// processIDs records the slot this process took from each table through
// GetProcessID, by absolute path, so that asking again returns it.
var processIDs struct {
	sync.Mutex
	held map[string]heldID
}

type heldID struct {
	table *Table
	slot  int
	id    int // what GetProcessID returns: the slot, or the id a supervisor assigned it
	// assigned: a supervisor gave this process the slot (COMET_PROCESS_ID)
	// and keeps it across the process's restarts; the process must not
	// give it back.
	assigned bool
}

// GetProcessID gives this process a slot in the table at path, for programs
// started by something else than slotrun (PM2, Go Fiber's prefork, a shell
// loop) that want ids unique among everyone using the table. It returns the
// lowest free slot, or the slot this process already holds: one taken by an
// earlier call, or the one a supervisor such as slotrun assigned it, so the
// same code runs under slotrun and without it. Under slotrun it returns
// COMET_PROCESS_ID, which with --ordinal is the id across replicas
// (ordinal·slots + slot), not the slot in this host's table.
//
// A missing table is created with runtime.GOMAXPROCS(0) slots; an existing
// one keeps its size, even if smaller, since its size is the id space that
// others were told. It fails with an error wrapping ErrNoFreeSlot when every
// slot has a live holder.
//
// The slot is held until ReleaseProcessID or the process's exit.
func GetProcessID(path string) (int, error) {
	key, err := filepath.Abs(path)
	if err != nil {
		return -1, fmt.Errorf("slot table %s: %w", path, err)
	}
	processIDs.Lock()
	defer processIDs.Unlock()
	if h, ok := processIDs.held[key]; ok {
		return h.id, nil
	}

	me, err := self()
	if err != nil {
		return -1, fmt.Errorf("slot table %s: %w", path, err)
	}
	t, err := open(path, min(runtime.GOMAXPROCS(0), MaxSlots), false)
	if err != nil {
		return -1, err
	}
	slot, id, assigned := assignedSlot(t, me)
	if slot < 0 {
		slot = t.find(me)
	}
	if slot < 0 {
		if slot, err = t.Acquire(pidOf(me)); err != nil {
			t.Close()
			return -1, err
		}
	}
	if processIDs.held == nil {
		processIDs.held = make(map[string]heldID)
	}
	if !assigned {
		id = slot
	}
	processIDs.held[key] = heldID{table: t, slot: slot, id: id, assigned: assigned}
	return id, nil
}

// assignedSlot returns the slot a supervisor gave this process, and the id
// it told it (COMET_PROCESS_ID), if the slot is in t: held by this process,
// or still by the supervisor (our parent), which hands it over just after
// the fork — a worker that asks at once may be quicker than that.
func assignedSlot(t *Table, me uint64) (slot, id int, ok bool) {
	slot, id, ok = assignedFromEnv()
	if !ok || slot >= t.Size() {
		return -1, -1, false
	}
	switch holder := t.slots[slot].Load(); {
	case holder == me, pidOf(holder) == os.Getppid() && alive(holder):
		return slot, id, true
	}
	return -1, -1, false
}

// ReleaseProcessID gives back the slot that GetProcessID took from the table
// at path, and closes the table. A slot a supervisor assigned is left to the
// supervisor, which holds it while the worker restarts. It fails, with an
// error wrapping ErrNotHolder, if this process holds no id from that table.
func ReleaseProcessID(path string) error {
	key, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("slot table %s: %w", path, err)
	}
	processIDs.Lock()
	defer processIDs.Unlock()
	h, ok := processIDs.held[key]
	if !ok {
		return fmt.Errorf("slot table %s: this process holds no id from it: %w", path, ErrNotHolder)
	}
	delete(processIDs.held, key)
	if h.assigned {
		return h.table.Close()
	}
	me, _ := self() // GetProcessID succeeded, so self did
	return errors.Join(h.table.Release(h.slot, pidOf(me)), h.table.Close())
}
