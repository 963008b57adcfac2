package control

import (
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// fileListener accepts the connections of a listening socket held as an
// *os.File, waiting in the runtime's poller through os rather than net
// (docs/memory.md, "What stays mapped, and why"). An idle server's only
// goroutine waits in accept for as long as slotrun runs, and every
// collection reads the function tables of each of its frames: waiting in
// net.(*UnixListener).Accept, it kept net's tables mapped, 0.19 MiB of
// PSS, for a package the idle supervisor does not otherwise run. Waiting
// here, its frames are in os and internal/poll, whose tables the
// supervisor's own files and pipes keep mapped anyway.
//
// What it accepts is an ordinary net.Conn (*net.UnixConn or
// *net.TCPConn): the connection's own reads and writes run only while a
// client is there.
type fileListener struct {
	f      *os.File
	raw    syscall.RawConn
	addr   net.Addr
	closed atomic.Bool
}

// newFileListener serves the listening, non-blocking socket f. The
// listener owns f: Close closes it.
func newFileListener(f *os.File, addr net.Addr) (*fileListener, error) {
	raw, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &fileListener{f: f, raw: raw, addr: addr}, nil
}

// Accept waits for the next connection. It returns net.ErrClosed once
// the listener is closed, as net's listeners do.
func (l *fileListener) Accept() (net.Conn, error) {
	for {
		var fd int
		var err error
		waitErr := l.raw.Read(func(s uintptr) bool {
			// Blocking, unlike the listener: net.FileConn makes its own
			// copy non-blocking and registers only that one with the poller.
			fd, _, err = unix.Accept4(int(s), unix.SOCK_CLOEXEC)
			return err != unix.EAGAIN
		})
		switch {
		case waitErr != nil && l.closed.Load():
			// os says "use of closed file", in an error of its own.
			return nil, net.ErrClosed
		case waitErr != nil:
			return nil, fmt.Errorf("accept on %s: %w", l.addr, waitErr)
		case err == unix.ECONNABORTED, err == unix.EINTR:
			continue // the client gave up before it was accepted, as net does
		case err != nil:
			return nil, fmt.Errorf("accept on %s: %w", l.addr, os.NewSyscallError("accept4", err))
		}
		f := os.NewFile(uintptr(fd), "")
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("accept on %s: %w", l.addr, err)
		}
		return c, nil
	}
}

// Close stops listening; an Accept waiting returns net.ErrClosed.
func (l *fileListener) Close() error {
	l.closed.Store(true)
	return l.f.Close()
}

// Addr is the address the socket is bound to.
func (l *fileListener) Addr() net.Addr { return l.addr }
