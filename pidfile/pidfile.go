// Package pidfile manages the supervisor's PID file: a text file naming the
// PID of the live instance, guarded by an exclusive flock(2) (docs/slots.md
// section 6).
//
// What it promises:
//
//   - The lock is the truth, not the content. While a File is alive, its
//     process holds an exclusive flock on the inode the path names, and Create
//     on the same path fails with ErrRunning (a *RunningError carrying the
//     holder's PID), from another process or from this one.
//   - A file whose lock is free is stale, whatever PID it names: Create takes
//     it over, and Read and Signal report ErrNotRunning. The PID in a stale
//     file is never signalled.
//   - Where /proc/locks names the lock's holder, Read and Signal trust the
//     file only if it names that holder. A file written in another PID
//     namespace (slotrun as a container's PID 1, read from the host) gives
//     ErrOtherNamespace, and the PID in it is not signalled.
//   - Readers never see a half-written file: the PID is written to a
//     temporary file in the same directory, locked, then renamed onto the
//     path. Of several instances starting at once on a missing or stale file,
//     exactly one wins.
//   - Remove unlinks the path only while it still names this File's inode, so
//     it never removes a file that another instance has created since.
//   - A symlink at the path is refused, never followed; descriptors are
//     close-on-exec, so the workers the supervisor starts do not inherit the
//     lock.
//
// The file holds the PID in decimal and a newline, mode 0644; a missing
// parent directory is created with mode 0755 (less the umask, like mkdir -p).
// The package is Linux-only (flock, renameat2, pidfd).
package pidfile

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

var (
	// ErrRunning means another live process holds the PID file's lock.
	// Create returns it as a *RunningError, which carries that process's PID.
	ErrRunning = errors.New("already running")

	// ErrNotRunning means no live process holds the PID file: it is missing,
	// or stale (its lock is free), or the PID it names is not a process here.
	ErrNotRunning = errors.New("not running")
)

// RunningError is Create's error when another live process holds the lock.
// errors.Is(err, ErrRunning) is true for it; use errors.As to get the PID.
type RunningError struct {
	Path string // the PID file, as given to Create
	PID  int    // the holder's PID; 0 when the file's content is not a PID
}

// Error reads well after a program-name prefix:
// "slotrun: already running (pid 123); pid file .pid/slotrun.pid is locked".
func (e *RunningError) Error() string {
	if e.PID <= 0 {
		return fmt.Sprintf("already running (pid unknown); pid file %s is locked", e.Path)
	}
	return fmt.Sprintf("already running (pid %d); pid file %s is locked", e.PID, e.Path)
}

// Is reports whether target is ErrRunning.
func (e *RunningError) Is(target error) bool { return target == ErrRunning }

// File is a PID file held by this process. Its lock lasts until Remove or
// until the process exits; dropping the File does not release it, because
// the descriptor is a bare fd with no finalizer. Its methods are safe for
// concurrent use.
type File struct {
	path string
	pid  int

	mu sync.Mutex
	fd int // the locked descriptor; -1 once removed
	// madeDir is the outermost directory Create made for the file (.pid),
	// removed with the file, as are those between, if nothing else was put
	// in them: a start that fails leaves nothing behind.
	madeDir string
}

// Path returns the path given to Create.
func (f *File) Path() string { return f.path }

// PID returns the PID written in the file: this process's PID at Create.
func (f *File) PID() int { return f.pid }

// Bounds for Create and Read when what they see is in flux: the path replaced
// under them, a stale file briefly share-locked by a reader, or another
// instance midway through a takeover. Each of those lasts microseconds, so
// the budget is generous and only pathological churn exhausts it.
const (
	maxAttempts = 100
	retryPause  = time.Millisecond
)

// retryError asks the caller's loop to look again. err is what to report
// when the attempts run out; pause says whether to wait first (someone else
// has to make progress) or not (the path changed: look at the new file now).
type retryError struct {
	err   error
	pause bool
}

func (r *retryError) Error() string { return r.err.Error() }

// Create writes this process's PID to the file at path and locks it for the
// life of the process, or until Remove. It fails with a *RunningError
// (errors.Is(err, ErrRunning)) while another live process holds the lock; a
// file whose lock is free is stale and is replaced. A missing parent
// directory is created. A symlink, directory or other non-regular file at
// path is refused.
//
// While another instance is midway through taking over the same stale file,
// or readers hold it for an instant, Create waits and looks again, for about
// 0.1 s at most; it never blocks on a live holder.
func Create(path string) (*File, error) {
	if path == "" {
		return nil, errors.New("pid file: empty path")
	}
	dir := filepath.Dir(path)
	madeDir := "" // the outermost directory MkdirAll is about to make
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) {
			break
		}
		madeDir = d
		if d == filepath.Dir(d) {
			break
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("pid file %s: create its directory: %w", path, err)
	}
	c := &creator{path: path, pid: os.Getpid(), tmpFD: -1}
	defer c.discardTemp()
	for attempt := 1; ; attempt++ {
		err := c.try()
		if err == nil {
			f := &File{path: path, pid: c.pid, fd: c.tmpFD, madeDir: madeDir}
			c.tmpFD, c.tmpPath = -1, "" // handed over to f, and renamed into place
			return f, nil
		}
		var r *retryError
		if !errors.As(err, &r) {
			return nil, err
		}
		if attempt == maxAttempts {
			return nil, r.err
		}
		if r.pause {
			time.Sleep(retryPause)
		}
	}
}

// creator is one Create call's state: the temporary file, once made, is
// kept across attempts.
type creator struct {
	path    string
	pid     int
	tmpPath string // "" until made, and again once renamed onto path
	tmpFD   int    // locked; -1 until made
}

// try makes one attempt to install the temporary file at path. It returns
// nil on success, a *retryError to look again, or the error to report.
func (c *creator) try() error {
	exists, err := lstatPIDFile(c.path)
	if err != nil {
		return err
	}
	if !exists {
		if err := c.makeTemp(); err != nil {
			return err
		}
		// NOREPLACE: another instance may have installed its file since the
		// lstat above; a plain rename would silently replace it.
		err := renameNoReplace(c.tmpPath, c.path)
		if errors.Is(err, unix.EEXIST) {
			return &retryError{err: c.keptChanging()}
		}
		if err != nil {
			return fmt.Errorf("pid file %s: put it in place: %w", c.path, err)
		}
		return nil
	}
	return c.takeOver()
}

// takeOver replaces the existing file at path if its lock is free.
func (c *creator) takeOver() error {
	old, err := openPIDFile(c.path)
	if errors.Is(err, unix.ENOENT) {
		return &retryError{err: c.keptChanging()}
	}
	if err != nil {
		return err
	}
	defer unix.Close(old)
	var st unix.Stat_t
	if err := unix.Fstat(old, &st); err != nil {
		return fmt.Errorf("pid file %s: %w", c.path, os.NewSyscallError("fstat", err))
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		// Replaced by something else since lstat; the next lstat describes it.
		return &retryError{err: c.keptChanging()}
	}

	err = unix.Flock(old, unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return c.lockedByOthers(old, &st)
	}
	if err != nil {
		return fmt.Errorf("pid file %s: %w", c.path, os.NewSyscallError("flock", err))
	}
	// Locked, so stale: its holder is gone. But the path may have been
	// replaced between our open and our lock; the lock proves nothing then.
	if !namesInode(c.path, &st) {
		return &retryError{err: c.keptChanging()}
	}
	// We keep the old inode locked until our file is renamed over it, so a
	// competing instance cannot prove it stale too and install its own.
	if err := c.makeTemp(); err != nil {
		return err
	}
	if err := unix.Rename(c.tmpPath, c.path); err != nil {
		return fmt.Errorf("pid file %s: put it in place: %w", c.path, &os.LinkError{Op: "rename", Old: c.tmpPath, New: c.path, Err: err})
	}
	return nil
}

// lockedByOthers decides what a lock we could not take means. old is the
// file we opened at path, st its fstat.
func (c *creator) lockedByOthers(old int, st *unix.Stat_t) error {
	if !namesInode(c.path, st) {
		// Another instance installed its file since our open; look at that.
		return &retryError{err: c.keptChanging()}
	}
	if unix.Flock(old, unix.LOCK_SH|unix.LOCK_NB) == nil {
		// Only shared locks: Read or Signal looking at a stale file. They let
		// go within microseconds; our shared lock goes with old's Close.
		return &retryError{pause: true, err: fmt.Errorf("pid file %s: stale, but readers kept it locked; try again", c.path)}
	}
	pid, _, err := readPID(old)
	running := &RunningError{Path: c.path, PID: pid}
	if err != nil || !alive(pid) {
		// Exclusively locked, but not by the PID it names: most likely another
		// instance is taking over this stale file and is about to rename its
		// own onto the path. Look again to report that instance's PID. If the
		// attempts run out (a holder in another PID namespace, say), the lock
		// is still held, so ErrRunning is the answer.
		return &retryError{pause: true, err: running}
	}
	return running
}

// keptChanging is what Create reports when every attempt found the path
// replaced, removed or created by someone else.
func (c *creator) keptChanging() error {
	return fmt.Errorf("pid file %s: kept changing under us for %d attempts; try again", c.path, maxAttempts)
}

// makeTemp creates, fills and locks the temporary file, once per Create.
func (c *creator) makeTemp() error {
	if c.tmpFD >= 0 {
		return nil
	}
	dir, base := filepath.Split(c.path)
	var fd int
	var err error
	for range 10 {
		// Hidden, and named after the PID file so a leftover (the process
		// killed mid-Create) says where it came from.
		c.tmpPath = filepath.Join(dir, "."+base+".tmp"+strconv.FormatUint(rand.Uint64(), 36))
		fd, err = unix.Open(c.tmpPath, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
		if !errors.Is(err, unix.EEXIST) {
			break
		}
	}
	if err != nil {
		tmp := c.tmpPath
		c.tmpPath = ""
		return fmt.Errorf("pid file %s: create temporary file: %w", c.path, &os.PathError{Op: "open", Path: tmp, Err: err})
	}
	c.tmpFD = fd
	// The mode is part of the contract; the umask must not narrow it.
	if err := unix.Fchmod(fd, 0o644); err != nil {
		return fmt.Errorf("pid file %s: %w", c.path, &os.PathError{Op: "chmod", Path: c.tmpPath, Err: err})
	}
	if err := writeAll(fd, []byte(strconv.Itoa(c.pid)+"\n")); err != nil {
		return fmt.Errorf("pid file %s: %w", c.path, &os.PathError{Op: "write", Path: c.tmpPath, Err: err})
	}
	// Nobody else knows this inode yet, so only a filesystem without flock
	// can make this fail.
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return fmt.Errorf("pid file %s: %w", c.path, os.NewSyscallError("flock", err))
	}
	return nil
}

// discardTemp removes what a failed Create made. After success it has
// nothing to do.
func (c *creator) discardTemp() {
	if c.tmpPath != "" {
		_ = unix.Unlink(c.tmpPath)
	}
	if c.tmpFD >= 0 {
		_ = unix.Close(c.tmpFD)
	}
}

// Remove deletes the PID file if the path still names this File's inode,
// then releases the lock. It never removes a file another instance has
// installed since (after the path was deleted by hand, say). It is
// idempotent and safe on a nil File.
func (f *File) Remove() error {
	if f == nil {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fd < 0 {
		return nil
	}
	var err error
	var st unix.Stat_t
	if err = unix.Fstat(f.fd, &st); err != nil {
		err = fmt.Errorf("pid file %s: %w", f.path, os.NewSyscallError("fstat", err))
	} else if namesInode(f.path, &st) {
		// Unlink before closing: while we hold the lock no other instance can
		// take over the inode the path names, so the path cannot change
		// between the check and the unlink.
		if e := unix.Unlink(f.path); e != nil && !errors.Is(e, unix.ENOENT) {
			err = fmt.Errorf("pid file %s: %w", f.path, os.NewSyscallError("unlink", e))
		}
	}
	// Closing releases the lock even when the unlink failed, so the file left
	// behind is stale and the next instance takes it over.
	if e := unix.Close(f.fd); e != nil && err == nil {
		err = fmt.Errorf("pid file %s: %w", f.path, os.NewSyscallError("close", e))
	}
	f.fd = -1
	if f.madeDir != "" {
		// Each Remove fails, as it should, once a directory is not empty.
		for d := filepath.Dir(f.path); os.Remove(d) == nil && d != f.madeDir; d = filepath.Dir(d) {
		}
	}
	return err
}
