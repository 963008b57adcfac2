package pidfile

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Read returns the PID of the live process holding the PID file at path. It
// trusts the content only while the lock is held: a missing file, a stale
// one (its lock free), or one naming a PID that is no live process here
// gives ErrNotRunning. A held file whose content is not a PID gives an error
// naming the file.
//
// Where /proc/locks shows the lock's holder, the holder must be the PID in
// the file: a file written in another PID namespace (slotrun as a
// container's PID 1, read from the host) names a PID that here is another
// process, and gives an *OtherNamespaceError (ErrOtherNamespace) instead.
//
// A held file naming no live process, or holding no PID, is what a reader
// sees for an instant while another instance takes over a stale file; Read
// looks again for about 0.1 s before reporting it.
func Read(path string) (int, error) {
	fd, pid, err := openHolder(path)
	if err != nil {
		return 0, err
	}
	_ = unix.Close(fd)
	return pid, nil
}

// Signal sends sig to the process holding the PID file at path. When Read
// would fail it fails the same way and sends nothing; in particular the PID
// in a stale file is never signalled. It also returns ErrNotRunning when the
// holder exits before the signal reaches it.
//
// The signal goes through a pidfd opened while the lock is still held, so a
// holder that exits at that moment cannot have its PID reused under us.
// Where pidfd_open is missing (Linux before 5.3, some seccomp profiles) it
// falls back to kill(2), which leaves that window open for microseconds.
func Signal(path string, sig os.Signal) error {
	s, ok := sig.(syscall.Signal)
	if !ok {
		return fmt.Errorf("pid file %s: cannot send %v: not a Unix signal", path, sig)
	}
	fd, pid, err := openHolder(path)
	if err != nil {
		return err
	}
	defer unix.Close(fd)

	err = send(fd, pid, s)
	if errors.Is(err, unix.ESRCH) || errors.Is(err, errLockReleased) {
		return fmt.Errorf("%w (pid %d from pid file %s has exited)", ErrNotRunning, pid, path)
	}
	if err != nil {
		return fmt.Errorf("pid file %s: signal pid %d: %w", path, pid, err)
	}
	return nil
}

var errLockReleased = errors.New("lock released")

// send signals pid, which held the lock on fd a moment ago.
func send(fd, pid int, sig syscall.Signal) error {
	pidfd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM) {
		return os.NewSyscallError("kill", unix.Kill(pid, sig))
	}
	if err != nil {
		return os.NewSyscallError("pidfd_open", err)
	}
	defer unix.Close(pidfd)
	// The holder may have exited, and its PID been reused, between our lock
	// check and pidfd_open. A lock still held now proves it has not, so
	// pidfd names the holder.
	held, err := lockHeld(fd)
	if err != nil {
		return err
	}
	if !held {
		return errLockReleased
	}
	return os.NewSyscallError("pidfd_send_signal", unix.PidfdSendSignal(pidfd, sig, nil, 0))
}

// openHolder returns a descriptor of the file at path and the PID in it,
// having seen its lock held while that PID was a live process. The caller
// closes the descriptor.
func openHolder(path string) (int, int, error) {
	for attempt := 1; ; attempt++ {
		fd, pid, err := lookAtHolder(path)
		var r *retryError
		if !errors.As(err, &r) {
			return fd, pid, err
		}
		if attempt == maxAttempts {
			return -1, 0, r.err
		}
		if r.pause {
			time.Sleep(retryPause)
		}
	}
}

// lookAtHolder makes one attempt for openHolder.
func lookAtHolder(path string) (int, int, error) {
	fd, err := openPIDFile(path)
	if errors.Is(err, unix.ENOENT) {
		return -1, 0, fmt.Errorf("%w (no pid file at %s)", ErrNotRunning, path)
	}
	if err != nil {
		return -1, 0, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		_ = unix.Close(fd)
		return -1, 0, fmt.Errorf("pid file %s: %w", path, os.NewSyscallError("fstat", err))
	}
	if err := checkType(path, uint32(st.Mode)); err != nil {
		_ = unix.Close(fd)
		return -1, 0, err
	}
	held, err := lockHeld(fd)
	if err != nil || !held {
		_ = unix.Close(fd) // also releases the shared lock lockHeld took
		if err != nil {
			return -1, 0, fmt.Errorf("pid file %s: %w", path, err)
		}
		return -1, 0, fmt.Errorf("%w (pid file %s is stale: no process holds its lock)", ErrNotRunning, path)
	}
	pid, content, err := readPID(fd)
	// The kernel knows who holds the lock; the file says who wrote it, in the
	// writer's PID namespace. Where they differ, the PID in the file is not
	// the holder here and must not be signalled.
	holder, holderKnown := lockHolder(pid, &st)
	switch {
	case err == nil && holderKnown && holder != pid && inOtherNamespace(holder):
		err = &OtherNamespaceError{Path: path, FilePID: pid, Holder: holder, filePIDAlive: alive(pid)}
	case err == nil && holderKnown && holder != pid:
		err = fmt.Errorf("%w (pid file %s names pid %d, but pid %d holds its lock)", ErrNotRunning, path, pid, holder)
	case err == nil && alive(pid):
		return fd, pid, nil
	case err == nil:
		err = fmt.Errorf("%w (pid file %s names pid %d, which is not a live process)", ErrNotRunning, path, pid)
	case errors.Is(err, errNotPID):
		err = fmt.Errorf("pid file %s: locked by a running process, but holds %q instead of a PID", path, content)
	default:
		_ = unix.Close(fd)
		return -1, 0, fmt.Errorf("pid file %s: %w", path, err)
	}
	_ = unix.Close(fd)
	// Locked, but not by the PID it names: most likely an instance taking
	// over this stale file, about to rename its own onto the path. If the
	// path already names another file, look at it now; otherwise give the
	// instance a moment. Only a state that persists is reported: a holder in
	// another PID namespace, say. (Without /proc/locks, had the stale PID
	// been reused by an unrelated process, this check could not tell; that
	// takes a reuse and a takeover in the same microseconds.)
	return -1, 0, &retryError{err: err, pause: namesInode(path, &st)}
}
