package notify

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// A Socket receives the workers' notifications: one datagram socket in the
// abstract namespace (no file to clean up, no path length to worry about),
// with SO_PASSCRED so that each datagram carries the sender's pid.
type Socket struct {
	conn *net.UnixConn
	Addr string // the NOTIFY_SOCKET value: "@..."
	buf  []byte
	oob  []byte
}

// Listen opens a notify socket at a fresh abstract address.
func Listen() (*Socket, error) {
	// The name is unguessable, so no other process can take it first.
	// math/rand/v2's generator is seeded from the kernel's entropy, and
	// crypto/rand would cost every slotrun the crypto packages' memory.
	addr := fmt.Sprintf("@slotrun/%d/%016x/notify", os.Getpid(), rand.Uint64())
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("notify socket: %w", err)
	}
	raw, err := conn.SyscallConn()
	if err == nil {
		cerr := raw.Control(func(fd uintptr) {
			err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PASSCRED, 1)
		})
		if err == nil {
			err = cerr
		}
	}
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("notify socket: SO_PASSCRED: %w", err)
	}
	return &Socket{
		conn: conn,
		Addr: addr,
		buf:  make([]byte, MaxMessage+1),
		// Credentials, and room for the fds a sender may pass (BARRIER=1
		// passes one): the kernel closes any that do not fit.
		oob: make([]byte, unix.CmsgSpace(unix.SizeofUcred)+unix.CmsgSpace(64*4)),
	}, nil
}

// A Datagram is one message as received: who sent it and what it said.
type Datagram struct {
	PID  int    // the sender's pid, from its credentials; 0 if it sent none
	Data []byte // valid until the next Receive
	// Truncated is set when the datagram was longer than MaxMessage.
	Truncated bool
	// FDs is how many file descriptors came with it; they are closed.
	FDs int
}

// Receive waits for the next datagram. File descriptors sent with it are
// closed at once: systemd-notify's BARRIER=1 waits for exactly that. It
// returns net.ErrClosed once Close was called.
func (s *Socket) Receive() (Datagram, error) {
	n, oobn, flags, _, err := s.conn.ReadMsgUnix(s.buf, s.oob)
	if err != nil {
		return Datagram{}, err
	}
	d := Datagram{Data: s.buf[:n], Truncated: n > MaxMessage || flags&unix.MSG_TRUNC != 0}
	cmsgs, err := unix.ParseSocketControlMessage(s.oob[:oobn])
	if err != nil {
		return d, nil
	}
	for _, c := range cmsgs {
		if fds, err := unix.ParseUnixRights(&c); err == nil {
			for _, fd := range fds {
				unix.Close(fd)
			}
			d.FDs += len(fds)
			continue
		}
		if cred, err := unix.ParseUnixCredentials(&c); err == nil {
			d.PID = int(cred.Pid)
		}
	}
	return d, nil
}

// Close stops Receive.
func (s *Socket) Close() error { return s.conn.Close() }

// Send sends one message to the socket at addr (a path, or "@name" for an
// abstract socket), as sd_notify(3) does.
func Send(addr string, msg []byte) error {
	if addr == "" {
		return errors.New("no notify socket")
	}
	if addr[0] != '/' && addr[0] != '@' {
		return fmt.Errorf("notify socket %q is neither a path nor @abstract", addr)
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("notify socket %s: %w", addr, err)
	}
	defer conn.Close()
	conn.SetWriteDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write(msg); err != nil {
		return fmt.Errorf("notify socket %s: %w", addr, err)
	}
	return nil
}

func monotonicNow() int64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}
