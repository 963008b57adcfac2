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
// activation), plus the user's additions and the size of the id space.
func workerEnv(inherited, extra []string, count int) []string {
	env := make([]string, 0, len(inherited)+len(extra)+2)
	drop := func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "NOTIFY_SOCKET", "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", slots.EnvProcessID, slots.EnvProcessCount:
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
		status, why := startError(s.opts.Path, err)
		sl.log.Error("cannot start the worker", "error", why)
		sl.lastExit = status
		sl.pid = 0
		if s.rolling != nil && s.rolling.current == sl {
			s.rollHalt(sl, "the new worker could not start")
		}
		s.groupGone(sl)
		return false
	}
	return true
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
	env := append(s.baseEnv[:len(s.baseEnv):len(s.baseEnv)], slots.EnvProcessID+"="+strconv.Itoa(sl.id))
	pid, err := s.sys.fork(s.opts.Path, s.opts.Args, env, []*os.File{s.devnull, stdout, stderr})
	if pipes != nil {
		pipes.afterFork(err == nil)
	}
	if err != nil {
		return err
	}
	// If the worker already exited (it may, before we look), the slot
	// stays in our name: it is held either way.
	if err := s.table.Transfer(sl.id, s.self, pid); err == nil {
		sl.holder = pid
	} else {
		sl.log.Debug("slot stays in the supervisor's name", "pid", pid, "error", err)
	}
	sl.pid = pid
	s.move(sl, stateStarting)
	sl.killAt = time.Time{}
	s.byPID[pid] = sl
	sl.log.Info("worker started", "pid", pid)
	s.arm(sl, &sl.timer, s.opts.MinUptime, timerReady)
	return nil
}

// startError explains why a worker could not be started, in the words a
// shell would use, with the exit code a shell would give (127, 126).
func startError(path string, err error) (exitStatus, error) {
	var errno syscall.Errno
	errors.As(err, &errno)
	switch {
	case errno == syscall.ENOENT && fileExists(path):
		// The file is there: what is missing is its #! interpreter.
		return exitStatus{code: 127}, fmt.Errorf("%s: cannot run it: the interpreter on its #! line was not found", path)
	case errno == syscall.ENOENT:
		return exitStatus{code: 127}, fmt.Errorf("%s: command not found: no such file", path)
	case errno == syscall.ENOEXEC:
		return exitStatus{code: 126}, fmt.Errorf("%s: cannot run it: not a program for this system (a script needs a #! line)", path)
	}
	return exitStatus{code: 126}, fmt.Errorf("%s: cannot run it: %w", path, err)
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
