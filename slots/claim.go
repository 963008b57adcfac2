package slots

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// How GetProcessID got its slot, which says what ReleaseProcessID does.
type claimKind int

const (
	// claimAssigned: the slot is in the name of this process, or of its
	// supervisor that is handing it over, which keeps it across restarts.
	// ReleaseProcessID leaves the word alone.
	claimAssigned claimKind = iota
	// claimMoved: the slot was moved from the parent, a wrapper, to this
	// process. ReleaseProcessID puts the parent's word back.
	claimMoved
	// claimAcquired: a slot this process took. ReleaseProcessID frees it.
	claimAcquired
)

// claim finds this process (whose word is me) its id in t, the rules of
// GetProcessID, and locks the slot's word through fd, the table file. It
// returns the slot, how it was got, and for claimMoved the word it replaced.
func (t *Table) claim(fd int, me uint64) (slot int, how claimKind, prev uint64, err error) {
	if k, ok := envSlot(t); ok {
		slot, how, prev, err := t.claimAssigned(fd, k, me)
		if err != nil || slot >= 0 {
			return slot, how, prev, err
		}
	}
	for i := range t.slots {
		if t.slots[i].Load() != me {
			continue
		}
		locked, err := t.lockWord(fd, i)
		if err != nil || locked {
			return i, claimAcquired, 0, err
		}
	}
	for i := range t.slots {
		// Look first, so that a slot held by a live process costs no lock.
		if w := t.slots[i].Load(); w != 0 && alive(w) {
			continue
		}
		locked, err := t.lockWord(fd, i)
		if err != nil {
			return -1, 0, 0, err
		}
		if !locked {
			continue // another caller of GetProcessID uses it
		}
		if _, ok := t.take(i, me); ok {
			return i, claimAcquired, 0, nil
		}
		if err := t.unlockWord(fd, i); err != nil {
			return -1, 0, 0, err
		}
	}
	return -1, 0, 0, fmt.Errorf("slot table %s: all %d slots have live holders: %w", t.path, len(t.slots), ErrNoFreeSlot)
}

// claimAssigned tries slot k, the one COMET_PROCESS_ID names. It returns
// slot -1 when the slot is not this process's to take.
func (t *Table) claimAssigned(fd, k int, me uint64) (slot int, how claimKind, prev uint64, err error) {
	w := t.slots[k].Load()
	parent := os.Getppid()
	if w != 0 && w != me && pidOf(w) != parent && parentOf(parent) == pidOf(w) && alive(w) {
		// A wrapper's program that asks at once: its supervisor, our
		// parent's parent, has not handed the slot to our parent yet,
		// which it does just after the fork. Wait for that, briefly.
		w = t.awaitChange(k, w, handoverWait)
	}
	if w != me && (w == 0 || pidOf(w) != parent || !alive(w)) {
		return -1, 0, 0, nil
	}
	locked, err := t.lockWord(fd, k)
	if err != nil || !locked {
		// Claimed already: by the parent itself, through GetProcessID,
		// or by a brother or sister that asked first.
		return -1, 0, 0, err
	}
	if w == me || usesTable(parent, fd) {
		return k, claimAssigned, 0, nil
	}
	if t.slots[k].CompareAndSwap(w, me) {
		return k, claimMoved, w, nil
	}
	// The word changed since it was read.
	if t.slots[k].Load() == me {
		return k, claimAssigned, 0, nil // handed over meanwhile
	}
	return -1, 0, 0, t.unlockWord(fd, k)
}

// handoverWait bounds the wait for a supervisor's handover of a slot: it
// follows the fork at once, and only a stalled supervisor takes longer.
const handoverWait = 2 * time.Second

// awaitChange waits until slot k's word is no longer w, for at most d, and
// returns the word then.
func (t *Table) awaitChange(k int, w uint64, d time.Duration) uint64 {
	deadline := time.Now().Add(d)
	for t.slots[k].Load() == w && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	return t.slots[k].Load()
}

// parentOf returns the parent of process pid, or 0 if it cannot be read.
func parentOf(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// Fields count from after the command name's last ')': state, ppid.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(string(f[1]))
	return ppid
}

// envSlot returns the slot a supervisor assigned this process
// (SLOTRUN_SLOT, or COMET_PROCESS_ID), if t has it.
func envSlot(t *Table) (int, bool) {
	slot, _, ok := assignedFromEnv()
	if !ok || slot >= len(t.slots) {
		return -1, false
	}
	return slot, true
}

// giveBack puts prev, the word this process replaced, back into slot, if
// this process (me) still holds it.
func (t *Table) giveBack(slot int, me, prev uint64) error {
	if t.slots[slot].CompareAndSwap(me, prev) {
		return nil
	}
	return t.notHolder(slot, pidOf(me), t.slots[slot].Load())
}

// lockWord takes the claim lock of slot i: an exclusive open file description
// lock on the 8 bytes of its word in the file fd, without waiting. It reports
// false if another open file description holds it. The lock goes when fd is
// closed, by unlockWord, or when the process ends; the flock that guards the
// header is another kind of lock and does not interfere.
func (t *Table) lockWord(fd, i int) (bool, error) {
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: tableLen(i), Len: wordSize}
	err := fcntlLock(fd, &lk)
	if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EACCES) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("slot table %s: cannot lock the word of slot %d: %w", t.path, i, err)
	}
	return true, nil
}

func (t *Table) unlockWord(fd, i int) error {
	lk := unix.Flock_t{Type: unix.F_UNLCK, Whence: 0, Start: tableLen(i), Len: wordSize}
	if err := fcntlLock(fd, &lk); err != nil {
		return fmt.Errorf("slot table %s: cannot unlock the word of slot %d: %w", t.path, i, err)
	}
	return nil
}

func fcntlLock(fd int, lk *unix.Flock_t) error {
	for {
		err := unix.FcntlFlock(uintptr(fd), unix.F_OFD_SETLK, lk)
		if err != unix.EINTR {
			return err
		}
	}
}

// usesTable reports whether process pid has the table file fd mapped: it is
// a supervisor or another user of the Table API, which hands its slots over
// itself, rather than a wrapper. The maps line names the file by device and
// inode, and by path; either matching will do (on overlayfs, some kernels
// show the inode of the layer below). When the answer cannot be known, it is
// yes: the slot then stays in the parent's name, as it always could.
func usesTable(pid, fd int) bool {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return true
	}
	maps, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/maps")
	if err != nil {
		return true
	}
	path, _ := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
	dev := fmt.Sprintf("%02x:%02x", unix.Major(st.Dev), unix.Minor(st.Dev))
	ino := strconv.FormatUint(st.Ino, 10)
	for line := range bytes.Lines(maps) {
		line = bytes.TrimRight(line, "\n")
		f := bytes.Fields(line)
		if len(f) < 6 {
			continue // an anonymous mapping
		}
		if string(f[3]) == dev && string(f[4]) == ino {
			return true
		}
		if path != "" && bytes.HasSuffix(line, []byte(" "+path)) {
			return true
		}
	}
	return false
}
