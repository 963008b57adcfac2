package slots

import (
	"fmt"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// A process's start time in /proc/PID/stat is the boot clock
// (CLOCK_BOOTTIME, with this process's time-namespace offset) at the
// moment the kernel created it, in clock ticks. A supervisor that reads
// the boot clock just before a fork and again after the kernel stamped
// the child knows the child's start time without reading /proc, whenever
// both readings fall in the same tick. The later reading is the child's
// own, first thing after the fork, where the child can take it
// (internal/forkexec); else the parent's, once the fork returns, which is
// after the child's exec and more often a tick later. Reading
// /proc/PID/stat of a process just born makes the kernel build its /proc
// entries, and was the supervisor's largest cost per restart after the
// fork itself (docs/performance.md).

// userHZ is USER_HZ, the unit of /proc/PID/stat's start time: 100 on
// every architecture Go supports. The first child's start time is also
// read from /proc and compared; if they ever differ, the clock is not
// trusted again.
const userHZ = 100

const tick = int64(time.Second) / userHZ

// Fork brackets a child's birth on the boot clock, for TransferChild: a
// reading just before the fork, and the child's own, if it took one.
type Fork struct{ before, child int64 }

// BeforeFork reads the boot clock; call it right before forking the child
// passed to TransferChild.
func BeforeFork() Fork { return Fork{before: bootClock()} }

// ReadByChild adds the child's own reading of the boot clock, in
// nanoseconds, taken after the fork; 0 or less if it took none.
func (f Fork) ReadByChild(ns int64) Fork {
	f.child = ns
	return f
}

// bootClock is CLOCK_BOOTTIME in nanoseconds, or -1.
func bootClock() int64 {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts) != nil {
		return -1
	}
	return ts.Nano()
}

// clockTrusted says whether a start time told by the clock has matched
// /proc: 0 not checked yet, 1 it has, -1 it did not.
var clockTrusted atomic.Int32

// childWord returns the holder word of child, forked after f was read.
func childWord(child int, f Fork) (uint64, error) {
	after := f.child
	if after <= 0 {
		after = bootClock()
	}
	if f.before < 0 || after < 0 || f.before/tick != after/tick || clockTrusted.Load() < 0 ||
		child < 1 || child > maxPID {
		return wordFor(child)
	}
	w := holderWord(child, uint32(after/tick))
	if clockTrusted.Load() == 1 {
		return w, nil
	}
	fromProc, err := wordFor(child)
	if err != nil {
		return 0, err
	}
	if fromProc == w {
		clockTrusted.Store(1)
	} else {
		clockTrusted.Store(-1)
	}
	return fromProc, nil
}

// TransferChild is Transfer to a child this process forked right after
// BeforeFork returned f. Its start time comes from the clock when it can:
// a child that has already exited is recorded as its holder then, as if
// it had exited just after the transfer, and its slot is free until its
// parent takes it back (which Transfer to the parent does).
func (t *Table) TransferChild(slot, from, child int, f Fork) error {
	if err := t.check(slot); err != nil {
		return err
	}
	w, err := childWord(child, f)
	if err != nil {
		return fmt.Errorf("slot table %s: %w", t.path, err)
	}
	if t.slots[slot].Load() == w {
		return nil
	}
	return t.replace(slot, from, w)
}
