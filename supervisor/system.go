package supervisor

import (
	"bytes"
	"errors"
	"os"
	"slices"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/slotrun/slotrun/internal/forkexec"
	"github.com/slotrun/slotrun/listen"
	"github.com/slotrun/slotrun/slots"
)

// system is everything the supervisor asks of the operating system, so that
// its decisions can be tested without processes (docs/architecture.md, "The
// OS seam"). Production uses realSystem; the tests drive a fake through the
// same methods. Every method is called from the loop goroutine only, except
// that afterFunc's f runs on another goroutine.
type system interface {
	now() time.Time
	// afterFunc calls f once, on another goroutine, after d; the returned
	// stop cancels it if it has not fired yet.
	afterFunc(d time.Duration, f func()) (stop func() bool)
	// fork starts path as a worker: its own process group, parent-death
	// signal SIGKILL, files as fds 0, 1, 2. born brackets its birth on
	// the boot clock, for the slot table.
	fork(path string, argv, env []string, files []*os.File) (pid int, born slots.Fork, err error)
	// kill is kill(2): a negative pid names a process group.
	kill(pid int, sig syscall.Signal) error
	// wait reports one child that ended (and reaps it), was stopped or was
	// continued: pid, or any child for -1. Without hang it returns ok=false
	// when nothing changed.
	wait(pid int, hang bool) (child int, change childChange, ok bool)
	// groupAlive reports whether any process is left in process group pgid.
	groupAlive(pgid int) bool
	// children lists the live children of this process: once every worker
	// is reaped, what is left are orphans re-parented to us.
	children() []int
	// settleMemory gives back the memory the start-up used (memory.go).
	settleMemory() error
}

// slotTable is what the supervisor uses of the shared slot table
// (*slots.Table; docs/slots.md).
type slotTable interface {
	AcquireSlot(slot, pid int) error
	Transfer(slot, from, to int) error
	// TransferChild is Transfer to a worker just forked, f as fork gave
	// it: it spares a read of the worker's /proc entry.
	TransferChild(slot, from, to int, f slots.Fork) error
	Release(slot, pid int) error
	Snapshot() []slots.Holder
	Close() error
}

// realSystem is the operating system itself.
type realSystem struct{ timers *timerQueue }

func newRealSystem() realSystem { return realSystem{timers: new(timerQueue)} }

func (realSystem) now() time.Time { return time.Now() }

func (r realSystem) afterFunc(d time.Duration, f func()) func() bool {
	return r.timers.after(d, f)
}

// fork starts one worker. The child leads its own process group, so a
// signal to -pid reaches everything it starts, and gets SIGKILL if the
// forking thread dies: that thread is the supervisor loop's, locked to it
// for the supervisor's whole life (docs/architecture.md, "One goroutine").
//
// forkexec forks with a raw clone, so that the child can read the boot
// clock for the slot table as soon as it is born, sparing a read of its
// /proc entry (docs/performance.md), and, for a worker that gets sockets
// (an empty LISTEN_PID in env), set LISTEN_PID to its own pid
// (docs/sockets.md). Where forkexec is not built, syscall.ForkExec starts
// the worker, through slotrun's exec shim for LISTEN_PID.
func (realSystem) fork(path string, argv, env []string, files []*os.File) (int, slots.Fork, error) {
	born := slots.BeforeFork()
	listenPID := slices.Contains(env, listen.EnvPID+"=")
	child, err := forkexec.Start(path, argv, forkexec.Attr{Env: env, Files: files, ListenPID: listenPID})
	if !errors.Is(err, forkexec.ErrUnsupported) {
		return child.PID, born.ReadByChild(child.Born), err
	}
	if listenPID {
		path, argv = listen.ShimPath, listen.ShimArgv(path, argv)
	}
	fds := make([]uintptr, len(files))
	for i, f := range files {
		fds[i] = f.Fd()
	}
	pid, err := syscall.ForkExec(path, argv, &syscall.ProcAttr{
		Env:   env,
		Files: fds,
		Sys: &syscall.SysProcAttr{
			Setpgid:   true,
			Pdeathsig: syscall.SIGKILL,
		},
	})
	return pid, born, err
}

func (realSystem) kill(pid int, sig syscall.Signal) error { return unix.Kill(pid, sig) }

func (realSystem) wait(pid int, hang bool) (int, childChange, bool) {
	// Stops and continues too: a worker stopped by TTOU (a background
	// group writing to a terminal with tostop) would otherwise hang unseen.
	options := unix.WNOHANG | unix.WUNTRACED | unix.WCONTINUED
	if hang {
		options &^= unix.WNOHANG
	}
	for {
		var ws unix.WaitStatus
		reaped, err := unix.Wait4(pid, &ws, options, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if reaped <= 0 || err != nil {
			return 0, childChange{}, false
		}
		return reaped, childChangeOf(ws), true
	}
}

func (realSystem) groupAlive(pgid int) bool {
	err := unix.Kill(-pgid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}

// children scans /proc: /proc/PID/task/TID/children would be cheaper, but
// kernels without CONFIG_PROC_CHILDREN lack it, and this runs only as
// slotrun exits.
func (realSystem) children() []int {
	// Most exits have no child left at all: waitid says so (ECHILD) without
	// reaping anything, and spares the scan.
	var info unix.Siginfo
	err := unix.Waitid(unix.P_ALL, 0, &info, unix.WEXITED|unix.WSTOPPED|unix.WCONTINUED|unix.WNOHANG|unix.WNOWAIT, nil)
	if errors.Is(err, unix.ECHILD) {
		return nil
	}
	self := os.Getpid()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var kids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, state, ok := readParent(pid); ok && ppid == self && state != 'Z' {
			kids = append(kids, pid)
		}
	}
	return kids
}

// readParent reads the parent and state letter of pid from /proc/PID/stat.
func readParent(pid int) (ppid int, state byte, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	// The command name, in parentheses, may hold anything: the fields that
	// follow it are "state ppid ...".
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 2 || len(f[0]) != 1 {
		return 0, 0, false
	}
	ppid, err = strconv.Atoi(string(f[1]))
	return ppid, f[0][0], err == nil
}
