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
// A socket left at path by a dead instance is replaced; one that another
// process still listens on is refused, as is anything that is not a
// socket (see removeStale).
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
	l, err := net.FileListener(f) // a descriptor of its own
	if err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	// Closing the listener must not unlink: Close removes the file itself,
	// only after it stopped serving.
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	fl, err := newFileListener(l, f)
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	return fl, nil
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

// removeStale removes a socket file left at path by an instance that is
// gone, after making sure of it: the PID file's lock proves only that no
// instance of this name runs, and another supervisor (another --name,
// the same --control) may serve this path. So the socket is dialled
// first: refused (ECONNREFUSED) means nothing listens and it is replaced;
// a connection means it is live and it is left alone, as --listen does
// for its unix sockets. Anything other than a socket is never removed.
func removeStale(path string) error {
	var st unix.Stat_t
	err := unix.Lstat(path, &st)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("--control %s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		return fmt.Errorf("--control %s: a file that is not a socket is in the way (%s); remove it or choose another --control", path, fileKind(st.Mode))
	}
	if live, err := listening(path); err != nil {
		return fmt.Errorf("--control %s: cannot tell whether the socket there is in use: %w", path, err)
	} else if live {
		return fmt.Errorf("--control %s: in use by another process (something answers on it: another supervisor given the same --control?); stop it or choose another --control", path)
	}
	if err := unix.Unlink(path); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("--control %s: remove the one left by an earlier run: %w", path, err)
	}
	return nil
}

// listening reports whether a process accepts connections on the unix
// socket at path. A connect that the kernel refuses (ECONNREFUSED) means
// no one does; one that succeeds, or finds the backlog full (EAGAIN), means
// someone does. The connection is closed at once, unused.
func listening(path string) (bool, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return false, err
	}
	defer unix.Close(fd)
	switch err := unix.Connect(fd, &unix.SockaddrUnix{Name: path}); {
	case err == nil, errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EINPROGRESS):
		return true, nil
	case errors.Is(err, unix.ECONNREFUSED), errors.Is(err, unix.ENOENT):
		return false, nil
	default:
		return false, err
	}
}

// fileKind names the type of a file for a message.
func fileKind(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return "a regular file"
	case unix.S_IFDIR:
		return "a directory"
	case unix.S_IFLNK:
		return "a symbolic link"
	case unix.S_IFIFO:
		return "a named pipe"
	}
	return "a special file"
}
