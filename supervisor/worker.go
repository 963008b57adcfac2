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

var stateNames = []string{"idle", "running", "draining", "waiting"}

func (st state) String() string { return stateNames[st] }

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
	timer    *time.Timer // backoff, kill deadline or rolling-restart check
	gen      uint64      // bumped to cancel a timer whose event is in flight

	stopSent  bool // the stop signal went to the group; a kill deadline runs
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
	pid, err := syscall.ForkExec(s.opts.Path, s.opts.Args, attr)
	if err != nil {
		return 0, fmt.Errorf("start %s: %w", s.opts.Path, err)
	}
	return pid, nil
}

// execFailure turns a failed exec into the status a shell would report.
func execFailure(err error) exitStatus {
	if errors.Is(err, syscall.ENOENT) {
		return exitStatus{code: 127}
	}
	return exitStatus{code: 126}
}

// groupAlive reports whether any process is left in process group pgid.
func groupAlive(pgid int) bool {
	err := unix.Kill(-pgid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}

// signalGroup sends sig to the worker's process group, or to the worker alone
// if it left the group it was started in.
func signalGroup(pid int, sig syscall.Signal) error {
	err := unix.Kill(-pid, sig)
	if errors.Is(err, unix.ESRCH) {
		err = unix.Kill(pid, sig)
	}
	return err
}
