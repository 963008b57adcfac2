package supervisor

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"

	"github.com/slotrun/slotrun/internal/signame"
)

// state is where a slot is in its life.
type state int

const (
	slotIdle     state = iota // not in use by this supervisor
	slotRunning               // its worker's main process is alive
	slotDraining              // the main process ended; its process group has not
	slotWaiting               // in backoff, or waiting to get its slot back
)

// slot is the supervisor's record of one id. Only the loop goroutine touches it.
type slot struct {
	id    int
	log   hclog.Logger
	state state
	// holder is the pid the slot table names for this slot: the worker's,
	// ours while the slot waits, or 0 when we do not hold it.
	holder int

	pid      int // the worker's main process; its process group id too
	started  time.Time
	lastExit exitStatus

	failures int         // consecutive quick failures, for the backoff
	restarts []time.Time // restarts within the window, for max-restarts

	timer        slotTimer     // backoff, kill deadline or rolling-restart watch
	poll         slotTimer     // looks at a draining group
	pollEvery    time.Duration // the poll's current interval
	stopDeadline time.Time     // set once the stop signal went out: when SIGKILL follows

	removing  bool // scale-down: release the slot once the group is gone
	restartIt bool // rolling restart: start again at once once the group is gone
}

// active reports whether the slot counts as one of the supervisor's workers.
func (sl *slot) active() bool { return sl.state != slotIdle && !sl.removing }

// exitStatus is how a worker's main process ended.
type exitStatus struct {
	code   int            // exit code, when signal is 0
	signal syscall.Signal // the signal that killed it, or 0
}

func exitStatusOf(ws unix.WaitStatus) exitStatus {
	if ws.Signaled() {
		return exitStatus{signal: ws.Signal()}
	}
	return exitStatus{code: ws.ExitStatus()}
}

// Code is the exit code a shell would report: the code, or 128+signal.
func (e exitStatus) Code() int {
	if e.signal != 0 {
		return 128 + int(e.signal)
	}
	return e.code
}

func (e exitStatus) success() bool { return e.signal == 0 && e.code == 0 }

// logArgs describe the exit as `code=N` or `signal=KILL`.
func (e exitStatus) logArgs() []any {
	if e.signal != 0 {
		return []any{"signal", signame.Name(e.signal)}
	}
	return []any{"code", e.code}
}

// workerEnv builds the environment every worker shares: ours without what
// was meant for slotrun itself (systemd's notify socket and socket
// activation), plus the user's additions and the size of the id space.
func workerEnv(inherited, extra []string, count int) []string {
	env := make([]string, 0, len(inherited)+len(extra)+2)
	drop := func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "NOTIFY_SOCKET", "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", "COMET_PROCESS_ID", "COMET_PROCESS_COUNT":
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
	return append(env, "COMET_PROCESS_COUNT="+strconv.Itoa(count))
}

// fork starts one worker for slot id. The child leads its own process group
// (so a signal to -pid reaches everything it starts) and gets SIGKILL if the
// forking thread — the locked supervisor loop — dies.
func (s *supervisor) fork(id int, stdout, stderr *os.File) (int, error) {
	env := make([]string, len(s.baseEnv), len(s.baseEnv)+1)
	copy(env, s.baseEnv)
	env = append(env, "COMET_PROCESS_ID="+strconv.Itoa(id))
	attr := &syscall.ProcAttr{
		Env:   env,
		Files: []uintptr{s.devnull.Fd(), stdout.Fd(), stderr.Fd()},
		Sys: &syscall.SysProcAttr{
			Setpgid:   true,
			Pdeathsig: syscall.SIGKILL,
		},
	}
	return syscall.ForkExec(s.opts.Path, s.opts.Args, attr)
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
		sl.state = slotWaiting
		if s.rolling != nil && s.rolling.current == sl {
			s.rollHalt(sl, "the new worker could not start")
		}
		s.afterExit(sl)
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
		sl.state = slotWaiting
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
	sl.started = time.Now()
	pid, err := s.fork(sl.id, stdout, stderr)
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
	sl.state = slotRunning
	sl.stopDeadline = time.Time{}
	s.byPID[pid] = sl
	sl.log.Info("worker started", "pid", pid)
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

// groupAlive reports whether any process is left in process group pgid.
func groupAlive(pgid int) bool {
	err := unix.Kill(-pgid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}
