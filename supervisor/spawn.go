package supervisor

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/slotrun/slotrun/slots"
)

// workerEnv builds the environment every worker shares: ours without what
// was meant for slotrun itself (systemd's notify socket and socket
// activation), plus the user's additions and the size of the id space
// (of every replica together).
func workerEnv(inherited, extra []string, count int) []string {
	env := make([]string, 0, len(inherited)+len(extra)+2)
	drop := func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "NOTIFY_SOCKET", "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", "LISTEN_PIDFDID", "WATCHDOG_USEC", "WATCHDOG_PID",
			slots.EnvProcessID, slots.EnvProcessCount:
			return true
		}
		if k == slots.EnvSlot {
			return true
		}
		for _, e := range extra {
			if ek, _, _ := strings.Cut(e, "="); ek == k {
				return true
			}
		}
		return false
	}
	for _, kv := range inherited {
		if !drop(kv) {
			env = append(env, kv)
		}
	}
	env = append(env, extra...)
	return append(env, slots.EnvProcessCount+"="+strconv.Itoa(count))
}

// spawn starts a worker in sl, first taking the slot back if another
// process has it. A worker that cannot be started counts as one that failed
// at once. It reports whether a worker is running.
func (s *supervisor) spawn(sl *slot) bool {
	if !s.holdForStart(sl) {
		return false
	}
	if err := s.startWorker(sl); err != nil {
		s.startFailed(sl, err)
		return false
	}
	return true
}

// startFailed handles a worker that could not be started as one that
// failed at once: the restart policy and the backoff decide what follows.
func (s *supervisor) startFailed(sl *slot, err error) {
	f := classifyStartError(s.opts.Path, err)
	sl.log.Error("cannot start the worker", "error", f.why)
	sl.lastExit = f.status
	sl.exited = true
	sl.pid = 0
	if s.rolling != nil && s.rolling.current == sl {
		s.rollHalt(sl, "the new worker could not start")
	}
	s.groupGone(sl)
}

// holdForStart makes sure the supervisor holds sl before a start. If
// another process holds it, the start waits for it with the backoff.
func (s *supervisor) holdForStart(sl *slot) bool {
	if sl.holder != 0 {
		return true
	}
	if err := s.table.AcquireSlot(sl.id, s.self); err != nil {
		sl.failures++
		delay := Backoff(sl.failures, s.opts.BackoffMin, s.opts.BackoffMax)
		sl.log.Warn("slot is held by another process; waiting for it", "error", err, "delay", delay.String())
		s.move(sl, stateBackoff)
		sl.nextStart = s.sys.now().Add(delay)
		s.arm(sl, &sl.timer, delay, timerRestart)
		return false
	}
	sl.holder = s.self
	return true
}

// startWorker forks the worker of sl, which the supervisor holds, and
// records it as the slot's holder.
func (s *supervisor) startWorker(sl *slot) error {
	stdout, stderr := os.Stdout, os.Stderr
	var pipes *workerPipes
	if s.out != nil {
		var err error
		if pipes, err = s.out.pipes(sl.id); err != nil {
			sl.log.Error("cannot create output pipes; the worker writes to slotrun's own", "error", err)
		} else {
			stdout, stderr = pipes.stdoutW, pipes.stderrW
		}
	}
	sl.started = s.sys.now()
	env := append(s.baseEnv[:len(s.baseEnv):len(s.baseEnv)],
		slots.EnvProcessID+"="+strconv.Itoa(s.opts.ID(sl.id)), slots.EnvSlot+"="+strconv.Itoa(sl.id))
	path, argv, files := s.command(s.devnull, stdout, stderr)
	// What was logged before the fork (the exit of the worker this one
	// replaces) goes out before the worker can write anything.
	s.opts.LogHold.Flush()
	pid, born, err := s.sys.fork(path, argv, env, files)
	if pipes != nil {
		pipes.afterFork(err == nil)
	}
	if err != nil {
		return err
	}
	s.srv.groups.add(pid) // first: the notify reader places its messages by it
	// If the worker already exited (it may, before we look), the slot
	// stays in our name: it is held either way.
	if err := s.table.TransferChild(sl.id, s.self, pid, born); err == nil {
		sl.holder = pid
	} else {
		sl.log.Debug("slot stays in the supervisor's name", "pid", pid, "error", err)
	}
	sl.pid = pid
	s.move(sl, stateStarting)
	sl.killAt = time.Time{}
	s.byPID[pid] = sl
	if sl.restartCount > 0 {
		sl.log.Info("worker started", "pid", pid, "restarts", sl.restartCount)
	} else {
		sl.log.Info("worker started", "pid", pid)
	}
	s.watchReady(sl)
	return nil
}

// startFailure is why a worker could not be started.
type startFailure struct {
	status exitStatus // what the slot records as the worker's exit
	why    error      // in the words a shell would use
	// permanent failures (no such program, not executable) would only
	// happen again; the others (EAGAIN under a pids limit, ENOMEM) may not.
	permanent bool
}

// classifyStartError explains why a worker could not be started. A failure
// that only the program itself can cause gets the code a shell would give
// (127 not found, 126 cannot run); a transient one, such as fork's EAGAIN
// under a pids limit, is slotrun's own runtime failure, code 1.
func classifyStartError(path string, err error) startFailure {
	var errno syscall.Errno
	errors.As(err, &errno)
	notFound := exitStatus{code: 127}
	cannotRun := exitStatus{code: 126}
	switch errno {
	case syscall.ENOENT:
		if fileExists(path) {
			// The file is there: what is missing is its #! interpreter.
			return startFailure{notFound, fmt.Errorf("%s: cannot run it: the interpreter on its #! line was not found", path), true}
		}
		return startFailure{notFound, fmt.Errorf("%s: command not found: no such file", path), true}
	case syscall.ENOEXEC:
		return startFailure{cannotRun, fmt.Errorf("%s: cannot run it: not a program for this system (a script needs a #! line)", path), true}
	case syscall.EACCES, syscall.EPERM, syscall.EISDIR, syscall.ENOTDIR, syscall.ELOOP, syscall.ENAMETOOLONG, syscall.ELIBBAD:
		return startFailure{cannotRun, fmt.Errorf("%s: cannot run it: %w", path, err), true}
	}
	return startFailure{exitStatus{code: 1}, fmt.Errorf("%s: cannot start it now (it will be tried again): %w", path, err), false}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
