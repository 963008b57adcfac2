package control

import (
	"bufio"
	"context"
	"errors"
	"net"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"golang.org/x/sys/unix"
)

// What a request's context carries for the supervisor's loop
// (docs/control.md, "Clients that get no answer"): a way to see, before
// the loop carries a request out, whether its client is still there, and
// a way to tell a client that waits for an outcome that its request has
// been taken.

type exchangeKey struct{}

// exchange is one request's link back to its connection.
type exchange struct {
	what  string // "POST /v1/scale", for the log
	log   hclog.Logger
	conn  net.Conn
	taken func() // tell the client the request is taken; nil if it is not told
	// state settles, once, whether the loop carries the request out
	// (claimed) or not (abandoned: its client went first).
	state atomic.Int32
}

const (
	pending int32 = iota
	claimed
	abandoned
)

// newExchange is the exchange of the request r read from c; nil for a
// request that changes nothing (a GET), which needs none.
func (s *connServer) newExchange(c net.Conn, bw *bufio.Writer, r *request) *exchange {
	if r.method != "POST" {
		return nil
	}
	ex := &exchange{what: r.method + " " + r.path, log: s.log, conn: c}
	// An HTTP/1.0 client must not get an interim answer (RFC 9110, 15.2).
	if s.waits != nil && s.waits(r) && !r.http10 {
		ex.taken = func() {
			c.SetWriteDeadline(time.Now().Add(writeTimeout))
			bw.WriteString("HTTP/1.1 102 Processing\r\n\r\n")
			bw.Flush() // a failure shows again when the answer is written
		}
	}
	return ex
}

// abandon records that the client went away; it reports whether the loop
// had already claimed the request, which then goes on.
func (ex *exchange) abandon() (goesOn bool) {
	if ex.state.CompareAndSwap(pending, abandoned) {
		ex.log.Info("the client went away before the supervisor reached its request; it is not carried out", "request", ex.what)
		return false
	}
	return ex.state.Load() == claimed
}

// Claim is asked by the supervisor's loop before it carries out the
// request ctx belongs to. It reports false when the client has gone
// already (its context is done, or it closed its connection): a request
// queued while the supervisor could not run (SIGSTOP), whose client has
// given up since and told its user so, is dropped rather than done behind
// that user's back. Once claimed, a request goes on whatever its client
// does (docs/control.md, "Clients that go away").
func Claim(ctx context.Context) bool {
	ex, ok := ctx.Value(exchangeKey{}).(*exchange)
	if !ok {
		return ctx.Err() == nil
	}
	if ctx.Err() != nil || peerClosed(ex.conn) {
		ex.abandon()
		return false
	}
	return ex.state.CompareAndSwap(pending, claimed)
}

// Taken tells the client of a request that waits for its outcome (a
// scale, a rolling restart) that the supervisor has taken it: an interim
// 102 answer, which HTTP/1.1 clients skip and slotrun's client takes as
// the end of the bound on an unresponsive supervisor. It must be called
// on the request's own goroutine (the handler's), before its answer.
func Taken(ctx context.Context) {
	if ex, ok := ctx.Value(exchangeKey{}).(*exchange); ok && ex.taken != nil {
		ex.taken()
	}
}

// peerClosed looks, without waiting and without taking anything from the
// connection, whether the other end has closed it: a peek that reads end
// of file, or fails other than "nothing yet". Bytes waiting to be read
// (a next request) mean the client is there.
func peerClosed(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	closed := false
	err = raw.Control(func(fd uintptr) {
		var b [1]byte
		n, _, err := unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		switch {
		case err == nil:
			closed = n == 0
		case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EINTR):
		default:
			closed = true // ECONNRESET and the like
		}
	})
	return closed || err != nil
}
