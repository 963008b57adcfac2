//go:build linux && (amd64 || arm64)

package forkexec

import (
	"runtime"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/slotrun/slotrun/internal/nofile"
)

// pidRoom is room for the digits of any pid and a NUL.
const pidRoom = 21

// child is everything the child uses, prepared by the parent: the child
// reads it through one pointer and touches nothing else.
type child struct {
	path   uintptr        // *byte
	argv   uintptr        // **byte, nil-terminated
	envv   uintptr        // **byte, nil-terminated
	pidAt  unsafe.Pointer // where the digits of LISTEN_PID go; nil: no LISTEN_PID
	fds    unsafe.Pointer // *int: the fds to become 0..n-1
	n      uintptr
	nextfd uintptr // above every fd in use: where fds are moved first
	pipe   uintptr // write end of the exec-error pipe (close-on-exec)
	ppid   uintptr // the parent's pid, for the parent-death check
	mask   uint64  // the signal mask to exec with
	dfl    [4]uint64
	born   unix.Timespec // the boot clock, written by the child
	// nofile is the open-file limit to give back, if restoreNofile.
	nofile        nofile.Limit
	restoreNofile bool
}

func start(path string, argv []string, attr Attr) (Child, error) {
	pathp, err := syscall.BytePtrFromString(path)
	if err != nil {
		return Child{}, err
	}
	argvp, err := syscall.SlicePtrFromStrings(argv)
	if err != nil {
		return Child{}, err
	}
	env := attr.Env
	if attr.ListenPID {
		env = nil
		for _, kv := range attr.Env {
			if !strings.HasPrefix(kv, PIDKey) {
				env = append(env, kv)
			}
		}
	}
	envvp, err := syscall.SlicePtrFromStrings(env)
	if err != nil {
		return Child{}, err
	}
	var pidVar []byte
	if attr.ListenPID {
		pidVar = make([]byte, len(PIDKey)+pidRoom)
		copy(pidVar, PIDKey)
		// SlicePtrFromStrings ends the list with nil: put LISTEN_PID
		// there and end it again.
		envvp = append(envvp[:len(envvp)-1], &pidVar[0], nil)
	}

	fds := make([]int, len(attr.Files))
	nextfd := len(fds)
	for i, f := range attr.Files {
		fds[i] = int(f.Fd())
		nextfd = max(nextfd, fds[i]+1)
	}
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC); err != nil {
		return Child{}, err
	}
	if p[1] < len(fds) {
		// The child puts the worker's files at 0..len(fds)-1: a write end
		// among them would be replaced, and an exec error never reported.
		high, err := unix.FcntlInt(uintptr(p[1]), unix.F_DUPFD_CLOEXEC, len(fds))
		syscall.Close(p[1])
		if err != nil {
			syscall.Close(p[0])
			return Child{}, err
		}
		p[1] = high
	}
	nextfd = max(nextfd, p[0]+1, p[1]+1)
	c := &child{
		path:   uintptr(unsafe.Pointer(pathp)),
		argv:   uintptr(unsafe.Pointer(&argvp[0])),
		envv:   uintptr(unsafe.Pointer(&envvp[0])),
		n:      uintptr(len(fds)),
		nextfd: uintptr(nextfd),
		pipe:   uintptr(p[1]),
		ppid:   uintptr(syscall.Getpid()),
	}
	if attr.ListenPID {
		c.pidAt = unsafe.Pointer(&pidVar[len(PIDKey)])
	}
	if len(fds) > 0 {
		c.fds = unsafe.Pointer(&fds[0])
	}
	c.nofile, c.restoreNofile = nofile.AtStart()

	syscall.ForkLock.Lock()
	pid, errno := fork(c)
	syscall.ForkLock.Unlock()
	syscall.Close(p[1])
	runtime.KeepAlive(pathp)
	runtime.KeepAlive(argvp)
	runtime.KeepAlive(envvp)
	runtime.KeepAlive(pidVar)
	runtime.KeepAlive(fds)
	runtime.KeepAlive(attr.Files)
	if errno != 0 {
		syscall.Close(p[0])
		return Child{}, errno
	}
	// EOF: the exec closed the pipe. Four bytes: the exec's errno.
	var buf [4]byte
	n := 0
	for n < len(buf) {
		m, err := syscall.Read(p[0], buf[n:])
		if err == syscall.EINTR {
			continue
		}
		if m <= 0 {
			break
		}
		n += m
	}
	syscall.Close(p[0])
	if n == len(buf) {
		var ws syscall.WaitStatus
		for {
			if _, err := syscall.Wait4(int(pid), &ws, 0, nil); err != syscall.EINTR {
				break
			}
		}
		return Child{}, syscall.Errno(*(*uint32)(unsafe.Pointer(&buf[0])))
	}
	return Child{PID: int(pid), Born: c.born.Nano()}, nil
}

// fork clones this process as vfork(2) does: the child shares the parent's
// memory and runs on its stack while the parent's thread waits for the
// child's exec (or exit), which spares copying the address space. In the
// parent it returns the child's pid; the child never returns from it, and
// writes only to memory prepared for it (c, and its own frames below this
// one). Every signal is blocked around the clone, so no Go signal handler
// runs in the child, which resets the handlers to their defaults before it
// unblocks them.
//
//go:noinline
//go:norace
//go:nocheckptr
func fork(c *child) (uintptr, syscall.Errno) {
	all := ^uint64(0)
	var old uint64
	syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, _SIG_SETMASK, uintptr(unsafe.Pointer(&all)), uintptr(unsafe.Pointer(&old)), 8, 0, 0)
	c.mask = old
	pid, errno := rawVfork(syscall.SYS_CLONE, syscall.CLONE_VM|syscall.CLONE_VFORK|uintptr(syscall.SIGCHLD))
	if errno == 0 && pid == 0 {
		inChild(c)
	}
	syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, _SIG_SETMASK, uintptr(unsafe.Pointer(&old)), 0, 8, 0, 0)
	return pid, errno
}

const _SIG_SETMASK = 2

// rawVfork is clone(flags) for a child that shares the stack (vfork_*.s).
func rawVfork(trap, flags uintptr) (pid uintptr, errno syscall.Errno)

// inChild runs in the child between clone and exec: raw system calls only.
//
//go:nosplit
//go:norace
//go:nocheckptr
func inChild(c *child) {
	// The boot clock first, as near the kernel's stamp as it can be.
	syscall.RawSyscall6(syscall.SYS_CLOCK_GETTIME, unix.CLOCK_BOOTTIME, uintptr(unsafe.Pointer(&c.born)), 0, 0, 0, 0)

	// Default handlers: a signal let through below must not reach
	// the Go runtime's handler, which has no runtime behind it here.
	for sig := uintptr(1); sig < 65; sig++ {
		if sig != uintptr(syscall.SIGKILL) && sig != uintptr(syscall.SIGSTOP) {
			syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, sig, uintptr(unsafe.Pointer(&c.dfl)), 0, 8, 0, 0)
		}
	}
	syscall.RawSyscall6(syscall.SYS_SETPGID, 0, 0, 0, 0, 0, 0)
	syscall.RawSyscall6(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0, 0, 0, 0)
	if ppid, _, _ := syscall.RawSyscall6(syscall.SYS_GETPPID, 0, 0, 0, 0, 0, 0); ppid != c.ppid {
		// The parent died before the death signal was set: die now.
		self, _, _ := syscall.RawSyscall6(syscall.SYS_GETPID, 0, 0, 0, 0, 0, 0)
		syscall.RawSyscall6(syscall.SYS_KILL, self, uintptr(syscall.SIGKILL), 0, 0, 0, 0)
	}
	syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, _SIG_SETMASK, uintptr(unsafe.Pointer(&c.mask)), 0, 8, 0, 0)

	if c.pidAt != nil {
		writePID(c.pidAt)
	}

	// fds: first above everything in use, then into place, so that no
	// dup overwrites an fd still to be moved.
	for k := uintptr(0); k < c.n; k++ {
		p := (*int)(unsafe.Add(c.fds, k*unsafe.Sizeof(int(0))))
		moved, _, errno := syscall.RawSyscall6(syscall.SYS_FCNTL, uintptr(*p), syscall.F_DUPFD_CLOEXEC, c.nextfd, 0, 0, 0)
		if errno != 0 {
			fail(c, errno)
		}
		*p = int(moved)
	}
	for k := uintptr(0); k < c.n; k++ {
		p := (*int)(unsafe.Add(c.fds, k*unsafe.Sizeof(int(0))))
		if _, _, errno := syscall.RawSyscall6(syscall.SYS_DUP3, uintptr(*p), k, 0, 0, 0, 0); errno != 0 {
			fail(c, errno)
		}
	}
	if c.restoreNofile {
		// As syscall.ForkExec does: unless something changed the limit
		// since Go raised it to one below the hard limit.
		var now nofile.Limit
		_, _, errno := syscall.RawSyscall6(unix.SYS_PRLIMIT64, 0, unix.RLIMIT_NOFILE, 0, uintptr(unsafe.Pointer(&now)), 0, 0)
		if errno != 0 || now == (nofile.Limit{Soft: c.nofile.Hard - 1, Hard: c.nofile.Hard}) {
			syscall.RawSyscall6(unix.SYS_PRLIMIT64, 0, unix.RLIMIT_NOFILE, uintptr(unsafe.Pointer(&c.nofile)), 0, 0, 0)
		}
	}
	_, _, errno := syscall.RawSyscall6(syscall.SYS_EXECVE, c.path, c.argv, c.envv, 0, 0, 0)
	fail(c, errno)
}

// writePID writes the child's pid in digits, and a NUL, at at.
//
//go:nosplit
//go:norace
//go:nocheckptr
func writePID(at unsafe.Pointer) {
	self, _, _ := syscall.RawSyscall6(syscall.SYS_GETPID, 0, 0, 0, 0, 0, 0)
	var digits [20]byte
	i := len(digits)
	for {
		i--
		digits[i] = byte('0' + self%10)
		self /= 10
		if self == 0 || i == 0 {
			break
		}
	}
	for ; i < len(digits); i++ {
		*(*byte)(at) = digits[i]
		at = unsafe.Add(at, 1)
	}
	*(*byte)(at) = 0
}

// fail reports errno to the parent on the pipe and exits.
//
//go:nosplit
//go:norace
//go:nocheckptr
func fail(c *child, errno syscall.Errno) {
	e := uint32(errno)
	syscall.RawSyscall6(syscall.SYS_WRITE, c.pipe, uintptr(unsafe.Pointer(&e)), 4, 0, 0, 0)
	for {
		syscall.RawSyscall6(syscall.SYS_EXIT_GROUP, 253, 0, 0, 0, 0, 0)
	}
}
