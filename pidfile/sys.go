package pidfile

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// lstatPIDFile reports whether something is at path, refusing with a clear
// message anything that is not a regular file.
func lstatPIDFile(path string) (exists bool, err error) {
	var st unix.Stat_t
	err = unix.Lstat(path, &st)
	if errors.Is(err, unix.ENOENT) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("pid file %s: %w", path, os.NewSyscallError("lstat", err))
	}
	return true, checkType(path, st.Mode)
}

// checkType refuses what must not be used as a PID file: following a
// symlink would let whoever can write the directory point us at any file.
func checkType(path string, mode uint32) error {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return nil
	case unix.S_IFLNK:
		return fmt.Errorf("pid file %s: is a symlink; remove it or choose another --pidfile", path)
	case unix.S_IFDIR:
		return fmt.Errorf("pid file %s: is a directory; remove it or choose another --pidfile", path)
	default:
		return fmt.Errorf("pid file %s: is not a regular file; remove it or choose another --pidfile", path)
	}
}

// openPIDFile opens the file at path for reading and locking. O_NONBLOCK
// keeps a FIFO put there from hanging us before checkType sees it.
func openPIDFile(path string) (int, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	switch {
	case err == nil:
		return fd, nil
	case errors.Is(err, unix.ENOENT):
		return -1, err
	case errors.Is(err, unix.ELOOP):
		return -1, checkType(path, unix.S_IFLNK)
	default:
		return -1, fmt.Errorf("pid file %s: %w", path, os.NewSyscallError("open", err))
	}
}

// namesInode reports whether path still names the inode st describes.
func namesInode(path string, st *unix.Stat_t) bool {
	var now unix.Stat_t
	if unix.Lstat(path, &now) != nil {
		return false
	}
	return now.Dev == st.Dev && now.Ino == st.Ino
}

// lockHeld reports whether another descriptor holds an exclusive lock on
// fd's file. When it returns false, fd holds a shared lock until closed.
func lockHeld(fd int) (bool, error) {
	err := unix.Flock(fd, unix.LOCK_SH|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return true, nil
	}
	if err != nil {
		return false, os.NewSyscallError("flock", err)
	}
	return false, nil
}

// errNotPID marks content that is not "PID\n".
var errNotPID = errors.New("not a PID")

// maxContent is more than any PID line (10 digits and a newline), so a
// longer read is not a PID; also what error messages quote at most.
const maxContent = 32

// readPID reads and parses the PID in fd's file. It also returns the
// content, for messages.
func readPID(fd int) (int, []byte, error) {
	buf := make([]byte, maxContent)
	n, err := unix.Pread(fd, buf, 0)
	if err != nil {
		return 0, nil, os.NewSyscallError("pread", err)
	}
	pid, err := parsePID(buf[:n])
	return pid, buf[:n], err
}

// parsePID accepts decimal digits and an optional newline: what Create
// writes, and what `echo $$ >file` writes. The bounds matter: kill(2) takes
// 0 and negative numbers as process groups, and the kernel's pid_t is 32
// bits, so a large number would wrap to one.
func parsePID(b []byte) (int, error) {
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, errNotPID
	}
	pid, err := strconv.ParseInt(s, 10, 32)
	if err != nil || pid < 1 {
		return 0, errNotPID
	}
	return int(pid), nil
}

// alive reports whether pid is a process here. EPERM means it exists under
// another user.
func alive(pid int) bool {
	return !errors.Is(unix.Kill(pid, 0), unix.ESRCH)
}

func writeAll(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// renameNoReplace moves oldpath to newpath unless newpath exists (EEXIST).
// Filesystems without RENAME_NOREPLACE (NFS, some FUSE) report EINVAL; a
// hard link gives the same guarantee there.
func renameNoReplace(oldpath, newpath string) error {
	err := unix.Renameat2(unix.AT_FDCWD, oldpath, unix.AT_FDCWD, newpath, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		return linkNoReplace(oldpath, newpath)
	}
	if err != nil {
		return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: err}
	}
	return nil
}

func linkNoReplace(oldpath, newpath string) error {
	if err := unix.Link(oldpath, newpath); err != nil {
		return &os.LinkError{Op: "link", Old: oldpath, New: newpath, Err: err}
	}
	// Best effort: a leftover name for our inode is untidy, not wrong.
	_ = unix.Unlink(oldpath)
	return nil
}
