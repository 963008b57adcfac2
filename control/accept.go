package control

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// fileListener is a net.Listener that waits for a connection outside
// package net (docs/memory.md, "What stays mapped, and why"). An idle
// server's only goroutine waits in accept for as long as slotrun runs,
// and every collection reads the function tables of each of its frames:
// waiting in net.(*UnixListener).Accept, it kept net's tables mapped,
// 0.2-0.3 MiB of PSS, for a package the idle supervisor does not
// otherwise run.
//
// So Accept first waits on a second descriptor of the same socket, held
// as an *os.File: the wait is in the runtime's poller, as net's is, but
// its frames are in os and internal/poll, whose tables the supervisor's
// own files and pipes keep mapped anyway. Once a connection is queued,
// net's listener accepts it at once, with net's handling of every error
// (a full descriptor table leaves the connection queued, as before).
type fileListener struct {
	net.Listener // accepts, once a connection is queued
	waitOn       *os.File
	raw          syscall.RawConn
	closed       atomic.Bool
}

// newFileListener waits on f, a descriptor of l's socket of its own,
// and accepts on l. The listener owns both: Close closes them.
func newFileListener(l net.Listener, f *os.File) (*fileListener, error) {
	raw, err := f.SyscallConn()
	if err == nil {
		// An *os.File that the poller does not watch has no deadlines;
		// waiting on it would fail at every Accept.
		if err = f.SetDeadline(time.Time{}); errors.Is(err, os.ErrNoDeadline) {
			err = errors.New("the runtime's poller cannot watch the socket")
		}
	}
	if err != nil {
		l.Close()
		f.Close()
		return nil, err
	}
	return &fileListener{Listener: l, waitOn: f, raw: raw}, nil
}

// Accept waits for the next connection. It returns net.ErrClosed once
// the listener is closed, as net's listeners do.
func (l *fileListener) Accept() (net.Conn, error) {
	if err := l.waitForConnection(); err != nil {
		return nil, err
	}
	// A client that gave up between the wait and this accept leaves
	// net's Accept waiting, in net, for the next one: rare, and it ends
	// with that connection.
	return l.Listener.Accept()
}

// waitForConnection returns once a connection is queued: a listening
// socket polls readable while its queue is not empty.
func (l *fileListener) waitForConnection() error {
	err := l.raw.Read(func(fd uintptr) bool {
		queued := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(queued, 0)
		return n > 0 || (err != nil && err != unix.EINTR) // an error is Accept's to report
	})
	switch {
	case err != nil && l.closed.Load():
		return net.ErrClosed // os says "use of closed file", in an error of its own
	case err != nil:
		return fmt.Errorf("wait for a connection on %s: %w", l.Addr(), err)
	}
	return nil
}

// Close stops listening; an Accept waiting returns net.ErrClosed.
func (l *fileListener) Close() error {
	l.closed.Store(true)
	err := l.waitOn.Close()
	return errors.Join(l.Listener.Close(), err)
}
