package slots

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// The environment variables through which a supervisor tells a worker its
// slot and the size of the id space (docs/slots.md section 4).
const (
	EnvProcessID    = "COMET_PROCESS_ID"
	EnvProcessCount = "COMET_PROCESS_COUNT"
)

// FromEnv returns the slot id and slot count that a supervisor put in
// COMET_PROCESS_ID and COMET_PROCESS_COUNT. ok is false, and id and count
// zero, when either is missing or not a decimal integer, when count is less
// than 1, or when id is not in 0..count-1: then the process was not started
// by slotrun, and may call GetProcessID instead.
func FromEnv() (id, count int, ok bool) {
	id, idErr := strconv.Atoi(os.Getenv(EnvProcessID))
	count, countErr := strconv.Atoi(os.Getenv(EnvProcessCount))
	if idErr != nil || countErr != nil || count < 1 || id < 0 || id >= count {
		return 0, 0, false
	}
	return id, count, true
}

// processIDs records the id this process took from each table through
// GetProcessID, by absolute path, so that asking again returns it.
var processIDs struct {
	sync.Mutex
	held map[string]*heldID
}

// heldID is an id taken through GetProcessID.
type heldID struct {
	table    *Table
	fd       int // the table file, open for the claim lock on the slot's word
	dev, ino uint64
	slot     int
	id       int // what GetProcessID returns: the slot, or the id a supervisor assigned with it
	how      claimKind
	prev     uint64 // moved: the word it replaced, the parent's
}

// GetProcessID gives this process an id from the table at path, unique among
// all the live processes that got theirs from the same table, for programs
// started by something else than slotrun (PM2, Go Fiber's prefork, a shell
// loop), and for the children of workers (a prefork server under slotrun).
// The same code runs under slotrun and without it: a worker gets the id
// slotrun gave it (COMET_PROCESS_ID).
//
// Which id it returns:
//
//  1. The id an earlier call returned, while it holds it.
//  2. With COMET_PROCESS_ID=K, K, if no other caller of GetProcessID has
//     claimed its slot S and this process holds slot S (its supervisor
//     handed it over), or its parent process does. S is K, or SLOTRUN_SLOT
//     where ids span several supervisors' tables (slotrun --ordinal; see
//     docs/replicas.md). A parent that has the table open (a
//     supervisor such as slotrun, between its fork and its Transfer) keeps
//     the slot in its name, to hand over. A parent that does not (a shell or
//     a launcher that runs the real program as its child, a prefork parent
//     that takes no id) is a wrapper: the slot moves to this process, by a
//     compare-and-swap from the parent's word to its own, so the table names
//     the process that uses the id; ReleaseProcessID gives it back to the
//     parent. A wrapper's program that asks before its supervisor handed
//     the slot to the wrapper (the slot still in its grandparent's name)
//     waits for that handover, up to 2 s. So the first child of a worker
//     that asks gets the worker's id,
//     and every later one gets a free slot of its own, as does every child of
//     a worker that took its id through GetProcessID.
//  3. A slot this process holds through the Table API, as its id.
//  4. The lowest free slot, as its id.
//
// A caller claims its id with a lock (an open file description lock on the
// slot's word) that it holds until ReleaseProcessID or its exit; a slot whose
// lock another process holds is never returned, whatever its word says. A
// worker that uses its id through FromEnv alone holds no such lock: if it
// starts children that call GetProcessID, it should call GetProcessID
// itself, first.
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
	t, fd, err := open(path, min(runtime.GOMAXPROCS(0), MaxSlots), false)
	if err != nil {
		return -1, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		t.Close()
		return -1, fmt.Errorf("slot table %s: cannot stat: %w", path, err)
	}
	// The same file under another name: the id this process has from it.
	for _, h := range processIDs.held {
		if h.dev == st.Dev && h.ino == st.Ino {
			unix.Close(fd)
			t.Close()
			processIDs.held[key] = h
			return h.id, nil
		}
	}
	h := &heldID{table: t, fd: fd, dev: st.Dev, ino: st.Ino}
	if h.slot, h.how, h.prev, err = t.claim(fd, me); err != nil {
		unix.Close(fd)
		t.Close()
		return -1, err
	}
	h.id = h.slot
	if h.how != claimAcquired {
		// The slot a supervisor assigned: its id may span supervisors
		// (--ordinal), as COMET_PROCESS_ID says.
		_, h.id, _ = assignedFromEnv()
	}
	if processIDs.held == nil {
		processIDs.held = make(map[string]*heldID)
	}
	processIDs.held[key] = h
	return h.id, nil
}

// ReleaseProcessID gives back the id that GetProcessID took from the table
// at path, and closes the table. A slot a supervisor assigned is left to the
// supervisor, which holds it while the worker restarts; a slot taken over
// from the parent goes back to the parent. It fails, with an error wrapping
// ErrNotHolder, if this process holds no id from that table.
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
	for k, other := range processIDs.held {
		if other == h {
			delete(processIDs.held, k)
		}
	}
	me, _ := self() // GetProcessID succeeded, so self did
	var errs []error
	switch h.how {
	case claimMoved:
		errs = append(errs, h.table.giveBack(h.slot, me, h.prev))
	case claimAcquired:
		errs = append(errs, h.table.Release(h.slot, pidOf(me)))
	}
	// Closing the file drops the claim lock, after the word has changed.
	if err := unix.Close(h.fd); err != nil {
		errs = append(errs, fmt.Errorf("slot table %s: %w", path, err))
	}
	errs = append(errs, h.table.Close())
	return errors.Join(errs...)
}
