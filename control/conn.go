package control

import (
	"bufio"
	"context"
	"errors"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"

	"github.com/slotrun/slotrun/internal/imagepages"
)

// Bounds on what one client may cost (docs/control.md, "Bounds"). A client
// that sends its request slowly, or not at all, holds only its own
// connection and goroutine, and only for these; the supervisor's loop never
// sees a request until it has been read whole.
const (
	maxBody        = 64 << 10 // a request body; more is 413
	maxHeader      = 16 << 10 // the request line and headers
	idleTimeout    = 30 * time.Second
	writeTimeout   = 10 * time.Second // the answer, once it is known
	requestTimeout = time.Hour        // the longest wait for an outcome (a rolling restart of many slow workers)
)

// The most connections each server serves at once. The control socket
// is its own user's; the HTTP server may face a network.
const (
	maxControlConns = 4096
	maxHTTPConns    = 256
)

// readers and writers are the buffers of connections, reused.
var (
	readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}
	writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 4096) }}
)

// readTimeout bounds the reading of a whole request, headers and body. A
// variable for the tests.
var readTimeout = 10 * time.Second

// handler answers one request; peer is who sent it, on a unix socket.
type handler func(ctx context.Context, peer *unix.Ucred, r *request) *response

// connServer accepts connections on a listener and answers the requests
// on each with a handler, one goroutine per connection. Idle, its only
// goroutine is blocked in accept: no timer runs.
type connServer struct {
	l      net.Listener
	handle handler
	// refuse makes the answer to a request that could not be read.
	refuse func(status int, msg string) *response
	log    hclog.Logger
	// maxConns bounds the connections served at once; more are closed as
	// soon as they are accepted.
	maxConns int
	// waits tells the requests that may wait long for their answer (a
	// rolling restart): while one waits, the server watches its client,
	// and a client that goes away ends the wait (see watchClient).
	waits func(*request) bool

	ctx    context.Context // cancelled by Close: waiting handlers give up
	cancel context.CancelFunc
	mu     sync.Mutex
	conns  map[net.Conn]*connState
	closed bool
	full   bool // the server is full: idle connections are being closed, or new ones
	// returned is when memory was last given back; returnDue is set while
	// a later return waits for its turn (see untrack).
	returned  time.Time
	returnDue bool
	wg        sync.WaitGroup
}

// startConnServer serves l with h; waits, if not nil, tells the requests
// whose clients are watched while they wait.
func startConnServer(l net.Listener, h handler, refuse func(int, string) *response, waits func(*request) bool, maxConns int, log hclog.Logger) *connServer {
	s := &connServer{l: l, handle: h, refuse: refuse, waits: waits, log: log, maxConns: maxConns, conns: map[net.Conn]*connState{}}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.wg.Add(1)
	go s.accept()
	return s
}

func (s *connServer) accept() {
	defer s.wg.Done()
	var backoff time.Duration
	for {
		c, err := s.l.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors, say: wait a little and try again,
			// as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Warn("accept failed; retrying", "error", err, "in", backoff.String())
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		ok, full := s.track(c)
		if !ok {
			c.Close()
			if full {
				continue
			}
			return
		}
		s.wg.Add(1)
		go s.serve(c)
	}
}

// connState is what the server knows of one connection: whether a
// request of it is being answered, and if not, since when it waits.
type connState struct {
	busy      bool
	idleSince time.Time
}

// track records a new connection; it refuses it when the server is
// closed. When the server is full, the connection that has waited
// longest without a request in progress is closed to make room: idle
// connections must not lock out a probe of /livez, which restarts the
// pod when it gets no answer (docs/control.md, "Bounds"). Only when every
// connection has a request in progress is the new one refused.
func (s *connServer) track(c net.Conn) (ok, full bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false, false
	}
	if len(s.conns) >= s.maxConns {
		oldest := s.oldestIdle()
		if !s.full { // once per flood, not once per connection
			s.log.Warn("too many connections; closing the longest idle ones, or new ones while all are busy", "limit", s.maxConns)
		}
		s.full = true
		if oldest == nil {
			return false, true
		}
		delete(s.conns, oldest)
		oldest.Close() // its goroutine ends at its next read
	} else {
		s.full = false
	}
	s.conns[c] = &connState{idleSince: time.Now()}
	return true, false
}

// oldestIdle is the connection that has waited longest for a request;
// nil if every one has a request in progress. Called with mu held, only
// when the server is full.
func (s *connServer) oldestIdle() net.Conn {
	var oldest net.Conn
	var since time.Time
	for c, st := range s.conns {
		if !st.busy && (oldest == nil || st.idleSince.Before(since)) {
			oldest, since = c, st.idleSince
		}
	}
	return oldest
}

// setBusy records whether a request of c is being answered.
func (s *connServer) setBusy(c net.Conn, busy bool) {
	s.mu.Lock()
	if st, ok := s.conns[c]; ok {
		st.busy = busy
		if !busy {
			st.idleSince = time.Now()
		}
	}
	s.mu.Unlock()
}

func (s *connServer) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	now := time.Now()
	last := len(s.conns) == 0 && !s.closed
	// At most once a second: a client that connects over and over must
	// not make the runtime collect and scavenge each time. Within the
	// second, one return is put off to its end, so the last burst's
	// garbage goes too.
	wait := time.Second - now.Sub(s.returned)
	switch {
	case !last || s.returnDue:
		last = false
	case wait > 0:
		s.returnDue = true
		time.AfterFunc(wait, s.returnLater)
		last = false
	default:
		s.returned = now
	}
	s.mu.Unlock()
	if last {
		s.returnMemory()
	}
}

func (s *connServer) returnLater() {
	s.mu.Lock()
	s.returnDue = false
	s.returned = time.Now()
	closed := s.closed
	s.mu.Unlock()
	if !closed { // a stop is under way: the process is about to exit
		s.returnMemory()
	}
}

func (s *connServer) returnMemory() {
	if err := returnMemory(); err != nil {
		s.log.Debug("could not give back all the memory of the last requests", "error", err)
	}
}

// returnMemory runs when the last client of a server has gone, at most
// once a second (docs/control.md, "Memory"). The pages of slotrun's own
// executable that the requests mapped in (the HTTP parser, the JSON
// encoder, the answers' code: about 0.9 MiB after a burst of status
// requests) are unmapped, as after the start (internal/imagepages); then
// the garbage is collected and the memory given back to the kernel,
// rather than kept by the runtime for requests to come. This costs about
// a millisecond once per burst (0.64 ms of it the release, which reads
// /proc/self/smaps), never while idle; the first request of the next
// burst maps back what it needs, about 0.4 ms here.
var returnMemory = func() error {
	_, err := imagepages.Release()
	debug.FreeOSMemory()
	return err
}

// serve answers the requests of one connection until it closes, errs, or
// stays idle too long.
func (s *connServer) serve(c net.Conn) {
	defer s.wg.Done()
	defer s.untrack(c)
	defer c.Close()
	peer := peerCred(c)
	br := readers.Get().(*bufio.Reader)
	br.Reset(c)
	defer readers.Put(br)
	bw := writers.Get().(*bufio.Writer)
	bw.Reset(c)
	defer writers.Put(bw)
	deadline := readTimeout
	for {
		c.SetReadDeadline(time.Now().Add(deadline))
		req, err := readRequest(br, func() error {
			bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
			return bw.Flush()
		})
		if err != nil {
			var he *httpError
			if errors.As(err, &he) {
				resp := s.refuse(he.status, he.msg)
				resp.close = true
				c.SetWriteDeadline(time.Now().Add(writeTimeout))
				writeResponse(bw, resp, false)
			}
			return
		}
		c.SetReadDeadline(time.Time{})
		s.setBusy(c, true)
		ctx, cancel := context.WithTimeout(s.ctx, requestTimeout)
		ex := s.newExchange(c, bw, req)
		if ex != nil {
			ctx = context.WithValue(ctx, exchangeKey{}, ex)
		}
		var watched func()
		if ex != nil && s.waits != nil && s.waits(req) {
			watched = s.watchClient(c, br, ex, cancel)
		}
		resp := s.handle(ctx, peer, req)
		if watched != nil {
			watched()
		}
		cancel()
		if !req.keepAlive() {
			resp.close = true
		}
		c.SetWriteDeadline(time.Now().Add(writeTimeout))
		err = writeResponse(bw, resp, req.method == "HEAD")
		resp.release()
		if err != nil || resp.close {
			return
		}
		s.setBusy(c, false)
		deadline = idleTimeout
	}
}

// watchClient notices a client that goes away while its request waits
// for an answer (docs/control.md, "Clients that go away"): one goroutine
// blocks in a read of the connection, which the runtime's poller wakes
// only when the client sends or closes, so watching costs no wakeup. End
// of file or an error cancels the request, so its handler returns at once
// and the connection, its goroutine and its buffers are freed; what the
// request began goes on, if the loop had claimed it (see Claim). Bytes the client sends meanwhile stay in br for
// the next request. The returned func ends the watch; it returns once the
// watching goroutine has stopped reading.
func (s *connServer) watchClient(c net.Conn, br *bufio.Reader, ex *exchange, cancel context.CancelFunc) (stop func()) {
	done := make(chan struct{})
	var stopping atomic.Bool
	go func() {
		defer close(done)
		if _, err := br.Peek(1); err != nil && !stopping.Load() {
			cancel()
			if ex.abandon() {
				s.log.Info("the client went away before its answer; what it asked for goes on", "request", ex.what)
			}
		}
	}()
	return func() {
		stopping.Store(true)
		// A deadline in the past wakes the read at once; the answer's
		// write sets a deadline of its own.
		c.SetReadDeadline(time.Unix(1, 0))
		<-done
		c.SetReadDeadline(time.Time{})
	}
}

// Close stops accepting, cancels the requests that wait, closes every
// connection and waits for their goroutines.
func (s *connServer) Close() {
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.cancel()
	s.l.Close()
	s.wg.Wait()
}

// peerCred is who is at the other end of c, from SO_PEERCRED; nil if it
// cannot be told (not a unix socket).
func peerCred(c net.Conn) *unix.Ucred {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return nil
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return nil
	}
	var cred *unix.Ucred
	raw.Control(func(fd uintptr) {
		cred, _ = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	})
	return cred
}
