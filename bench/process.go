package main

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The bench starts every process itself with fork/exec and waits for each
// by its own pid (never wait4(-1)), so that it can also be a child
// subreaper: whatever a tool leaves behind — runsv after runsvdir exits, a
// worker whose supervisor was SIGKILLed — is re-parented to the bench, where
// the final sweep finds and kills it. Nothing escapes to init.

// process is a child of the bench.
type process struct {
	pid    int
	pidfd  int // becomes readable when the process exits
	exited bool
	status unix.WaitStatus
	rusage unix.Rusage
}

// tracked holds the pids the bench waits for explicitly; the zombie sweep
// leaves them alone so that their exit status is not lost.
var tracked = struct {
	sync.Mutex
	pids map[int]bool
}{pids: map[int]bool{}}

var devNull = func() *os.File {
	f, err := os.Open(os.DevNull)
	if err != nil {
		panic(err)
	}
	return f
}()

// startProcess fork/execs argv (argv[0] is a path) in dir, stdin from
// /dev/null, stdout and stderr to out. With newGroup it leads its own
// process group, so the bench's terminal signals do not reach it.
func startProcess(argv, env []string, dir string, out *os.File, newGroup bool) (*process, error) {
	pidfd := -1
	attr := &syscall.ProcAttr{
		Dir:   dir,
		Env:   env,
		Files: []uintptr{devNull.Fd(), out.Fd(), out.Fd()},
		Sys:   &syscall.SysProcAttr{Setpgid: newGroup, PidFD: &pidfd},
	}
	tracked.Lock()
	defer tracked.Unlock()
	pid, err := syscall.ForkExec(argv[0], argv, attr)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", argv[0], err)
	}
	tracked.pids[pid] = true
	return &process{pid: pid, pidfd: pidfd}, nil
}

// wait reaps the process, waiting at most timeout for it to exit.
func (p *process) wait(timeout time.Duration) error {
	if p.exited {
		return nil
	}
	if !waitReadable(p.pidfd, timeout) {
		return fmt.Errorf("pid %d did not exit within %v", p.pid, timeout)
	}
	for {
		_, err := unix.Wait4(p.pid, &p.status, 0, &p.rusage)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("wait for pid %d: %w", p.pid, err)
		}
		break
	}
	p.exited = true
	unix.Close(p.pidfd)
	tracked.Lock()
	delete(tracked.pids, p.pid)
	tracked.Unlock()
	return nil
}

// kill SIGKILLs the process and reaps it.
func (p *process) kill() {
	if p.exited {
		return
	}
	unix.PidfdSendSignal(p.pidfd, unix.SIGKILL, nil, 0)
	p.wait(5 * time.Second)
}

// finish waits for a short-lived command and reports how it ended.
func (p *process) finish(timeout time.Duration) error {
	if err := p.wait(timeout); err != nil {
		p.kill()
		return err
	}
	if !p.status.Exited() || p.status.ExitStatus() != 0 {
		return fmt.Errorf("pid %d ended with status %#x", p.pid, uint32(p.status))
	}
	return nil
}

// waitReadable polls a pidfd: true once its process has exited.
func waitReadable(pidfd int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left < 0 {
			left = 0
		}
		fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, int(left.Milliseconds()))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if n > 0 {
			return true
		}
		if err != nil || left == 0 {
			return false
		}
	}
}

// monotonic is CLOCK_MONOTONIC in nanoseconds: the clock the workers stamp
// their lines with.
func monotonic() int64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

// becomeSubreaper makes orphans of everything the bench starts come back to
// the bench instead of init.
func becomeSubreaper() error {
	return unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
}

// killDescendants SIGKILLs every process below the bench, leaves first,
// and reaps the orphans that come back to it.
func killDescendants() {
	pids := descendants(os.Getpid())
	for i := len(pids) - 1; i >= 0; i-- {
		unix.Kill(pids[i], unix.SIGKILL)
	}
	reapOrphans(time.Second)
}

// reapOrphans waits (at most d) for the bench's untracked children —
// orphans re-parented to it — to become zombies, and reaps them.
func reapOrphans(d time.Duration) {
	deadline := time.Now().Add(d)
	for {
		pending := false
		for _, pid := range children(os.Getpid()) {
			tracked.Lock()
			mine := tracked.pids[pid]
			tracked.Unlock()
			if mine {
				continue
			}
			var ws unix.WaitStatus
			if got, _ := unix.Wait4(pid, &ws, unix.WNOHANG, nil); got != pid {
				pending = true
			}
		}
		if !pending || time.Now().After(deadline) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// pidfdSet watches a set of processes that are not necessarily the bench's
// children, and tells when each has exited.
type pidfdSet map[int]int // pid → pidfd

func openPidfds(pids []int) pidfdSet {
	set := pidfdSet{}
	for _, pid := range pids {
		if _, ok := set[pid]; ok {
			continue
		}
		fd, err := unix.PidfdOpen(pid, 0)
		if err != nil {
			continue // already gone
		}
		set[pid] = fd
	}
	return set
}

// signal sends sig to every process of the set that still runs; a pidfd
// cannot hit a recycled pid.
func (s pidfdSet) signal(sig unix.Signal) {
	for _, fd := range s {
		unix.PidfdSendSignal(fd, sig, nil, 0)
	}
}

// waitAll waits until every process of the set has exited and returns the
// CLOCK_MONOTONIC time at which the last one was seen gone.
func (s pidfdSet) waitAll(timeout time.Duration) (int64, error) {
	deadline := time.Now().Add(timeout)
	last := monotonic()
	for len(s) > 0 {
		fds := make([]unix.PollFd, 0, len(s))
		pidOf := make(map[int32]int, len(s))
		for pid, fd := range s {
			fds = append(fds, unix.PollFd{Fd: int32(fd), Events: unix.POLLIN})
			pidOf[int32(fd)] = pid
		}
		left := time.Until(deadline)
		if left <= 0 {
			return 0, fmt.Errorf("%d processes still running after %v", len(s), timeout)
		}
		n, err := unix.Poll(fds, int(left.Milliseconds())+1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("poll: %w", err)
		}
		if n == 0 {
			continue
		}
		last = monotonic()
		// One pass per wake-up: finding each exited process by a scan of
		// the set made the watch quadratic in the processes watched (2,049
		// for s6 with 1,024 workers).
		for _, p := range fds {
			if p.Revents != 0 {
				unix.Close(int(p.Fd))
				delete(s, pidOf[p.Fd])
			}
		}
	}
	return last, nil
}

func (s pidfdSet) close() {
	for pid, fd := range s {
		unix.Close(fd)
		delete(s, pid)
	}
}
