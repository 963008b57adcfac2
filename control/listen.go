package control

import (
	"errors"
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// MaxPathLen is the longest path a unix socket can be bound to: sun_path
// holds 108 bytes, the last of them the terminating NUL.
const MaxPathLen = len(unix.RawSockaddrUnix{}.Path) - 1

// CheckPath refuses a control socket path the kernel cannot bind.
func CheckPath(path string) error {
	if path == "" {
		return errors.New("the control socket path is empty")
	}
	if len(path) > MaxPathLen {
		return fmt.Errorf("the control socket path %q is %d bytes long, more than a unix socket's limit of %d (choose a shorter --control, or run from a shorter directory)", path, len(path), MaxPathLen)
	}
	return nil
}

// Listen binds the control socket at path with mode 0600 from its first
// moment (docs/control.md, "A private socket"). The mode of a socket file
// is the mode of the socket's inode when bind creates it, less the umask:
// so the socket is given mode 0600 with fchmod before bind, and no one can
// connect in a window between bind and a chmod, whatever the umask.
//
// A file left at path by a dead instance is replaced: the caller holds the
// PID file's lock, which proves that no live instance serves it. Anything
// other than a socket at path is left alone and refused.
func Listen(path string) (net.Listener, error) {
	if err := CheckPath(path); err != nil {
		return nil, err
	}
	if err := removeStale(path); err != nil {
		return nil, err
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	if err := bindPrivate(fd, path); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	if err := unix.Listen(fd, unix.SOMAXCONN); err != nil {
		unix.Close(fd)
		os.Remove(path)
		return nil, fmt.Errorf("control socket %s: listen: %w", path, err)
	}
	f := os.NewFile(uintptr(fd), path)
	l, err := net.FileListener(f)
	f.Close() // FileListener holds a dup
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	// Closing the listener must not unlink: Close removes the file itself,
	// only after it stopped serving.
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	return l, nil
}

// bindPrivate binds fd to path, creating the socket file with mode 0600.
func bindPrivate(fd int, path string) error {
	if err := unix.Fchmod(fd, 0o600); err != nil {
		return fmt.Errorf("fchmod before bind: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		return fmt.Errorf("bind: %w", err)
	}
	return nil
}

// removeStale removes a socket file left at path.
func removeStale(path string) error {
	var st unix.Stat_t
	err := unix.Lstat(path, &st)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("control socket %s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		return fmt.Errorf("control socket %s: a file that is not a socket is in the way; remove it or choose another --control", path)
	}
	if err := unix.Unlink(path); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("control socket %s: remove the one left by an earlier run: %w", path, err)
	}
	return nil
}
