// Package sigstate gives slotrun the signal state a shell gives a program
// it starts: no signal blocked, none ignored. Workers inherit it.
//
// A process starts with the signal mask and the ignored signals of its
// parent, and keeps both across exec. Started by a parent that blocks USR1
// (or by `nohup`, or as a shell's background job, which ignore some), a
// worker would start that way too: a forwarded USR1 would stay pending for
// ever. Go gives no way to reset either between fork and exec, so slotrun
// resets them in itself, before it starts anything.
//
// Ignored signals are set back to their default in place. A blocked signal
// is harder: Go's runtime gives every thread it makes the mask inherited at
// start, and a child gets the mask of the thread that forked it. Unblocking
// on the supervisor's forking thread would do for the workers, but would
// tie this to which thread forks, and leave slotrun itself as it was
// started. Instead slotrun execs its own binary once more, from a thread
// whose mask is empty: exec keeps the PID (to systemd, and as PID 1, it is
// the same process) and the new runtime starts with an empty mask.
package sigstate

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// self is the running binary, whatever its path was and even if the file
// has been replaced since.
const self = "/proc/self/exe"

// nameEnv carries the process's name across that exec, as "PID:NAME". The
// kernel names a process after the file it execs, and exec'd as
// /proc/self/exe slotrun would be "exe" from then on: `pgrep slotrun`, `ps
// -C slotrun` and `killall slotrun` would no longer find it. exec keeps
// the PID, so the PID tells the variable Clean set from one a parent set.
const nameEnv = "SLOTRUN_SIGSTATE_NAME"

// Clean resets every ignored signal to its default action and, if any
// signal is blocked, execs the running binary again with the same
// arguments and environment and nothing blocked; it does not return then.
// An error says what could not be reset: the program goes on with those
// signals blocked or ignored.
//
// Call it first thing, before any goroutine of the program's own: slotrun
// calls it from internal/prestart's init.
// When nothing is blocked or ignored, it costs a few system calls.
func Clean() error {
	restoreName()
	ignoredErr := resetIgnored()
	// Every thread of the runtime starts with the mask the process
	// inherited, less the few signals the runtime never leaves blocked:
	// any thread can tell whether something is blocked. Only the exec
	// below needs to stay on one thread, and locking a thread costs the
	// runtime a thread of its own the first time (docs/performance.md).
	var blocked, none unix.Sigset_t
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, nil, &blocked); err != nil {
		return errors.Join(ignoredErr, fmt.Errorf("read the signal mask: %w", err))
	}
	if blocked == none {
		return ignoredErr
	}
	// The mask read and cleared is this thread's, and exec keeps the mask
	// of the thread that calls it.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, nil, &blocked); err != nil {
		return errors.Join(ignoredErr, fmt.Errorf("read the signal mask: %w", err))
	}
	// Pending signals that were blocked are delivered now, to Go's
	// handlers, which drop them: none is asked for yet (HUP, INT, QUIT
	// and TERM, which the runtime unblocks as it starts, have already
	// met their default action; docs/output.md). Kept pending across
	// exec they would meet the default action, which for most is to end
	// the process.
	if err := unix.PthreadSigmask(unix.SIG_SETMASK, &none, nil); err != nil {
		return fmt.Errorf("clear the signal mask: %w", err)
	}
	// Only an empty mask may be passed on: the new process runs Clean
	// too, and would exec again and again.
	var now unix.Sigset_t
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, nil, &now); err != nil || now != none {
		unix.PthreadSigmask(unix.SIG_SETMASK, &blocked, nil)
		return errors.New("the signal mask stays set after clearing it")
	}
	env := os.Environ()
	if name, err := os.ReadFile("/proc/self/comm"); err == nil {
		env = append(env, nameEnv+"="+strconv.Itoa(os.Getpid())+":"+strings.TrimSuffix(string(name), "\n"))
	}
	err := unix.Exec(self, os.Args, env)
	unix.PthreadSigmask(unix.SIG_SETMASK, &blocked, nil)
	return fmt.Errorf("start again from %s with no signal blocked: %w", self, err)
}

// restoreName gives the process back the name it had before Clean exec'd
// it again, and takes nameEnv out of the environment the workers inherit.
// Each thread has a name of its own, and a thread the runtime makes later
// takes the name of the one that makes it: every thread is renamed, twice
// over, for one made during the first pass. A failure has nothing to
// report: without /proc there was no exec.
func restoreName() {
	v, ok := os.LookupEnv(nameEnv)
	if !ok {
		return
	}
	pid, name, ok := strings.Cut(v, ":")
	if !ok || pid != strconv.Itoa(os.Getpid()) {
		return // not set by Clean, for this process
	}
	os.Unsetenv(nameEnv)
	for range 2 {
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return
		}
		for _, task := range tasks {
			f, err := os.OpenFile("/proc/self/task/"+task.Name()+"/comm", os.O_WRONLY, 0)
			if err != nil {
				continue
			}
			f.WriteString(name)
			f.Close()
		}
	}
}
