package control

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"
)

// livenessTimeout is how long /livez waits for the supervisor's loop.
const livenessTimeout = time.Second

// HTTPServer serves /metrics, /livez, /healthz and /readyz, read-only
// (docs/control.md, "Metrics and health").
type HTTPServer struct {
	backend Backend
	addr    net.Addr
	conns   *connServer
}

// ServeHTTP listens on addr (host:port; port 0 picks a free one) and serves
// the metrics and health endpoints until Close.
func ServeHTTP(addr string, backend Backend, log hclog.Logger) (*HTTPServer, error) {
	l, err := listenTCP(addr)
	if err != nil {
		return nil, err
	}
	s := &HTTPServer{backend: backend, addr: l.Addr()}
	s.conns = startConnServer(l, s.handle, func(status int, msg string) *response {
		return textResponse(status, msg)
	}, nil, maxHTTPConns, log)
	return s, nil
}

// listenTCP listens on addr through a fileListener, as the control
// socket does, so that an idle server waits outside net.
func listenTCP(addr string) (net.Listener, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, listenError(addr, err)
	}
	f, err := l.(*net.TCPListener).File() // a descriptor of its own
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("--http %s: %w", addr, err)
	}
	fl, err := newFileListener(l, f)
	if err != nil {
		return nil, fmt.Errorf("--http %s: %w", addr, err)
	}
	return fl, nil
}

// listenError words a failure to listen on the --http address in one
// line a user can act on, without the layers of Go's error ("listen tcp
// 1.2.3.4:80: bind: cannot assign requested address").
func listenError(addr string, err error) error {
	var dns *net.DNSError
	var why string
	switch {
	case errors.Is(err, unix.EADDRINUSE):
		why = "address already in use (another process listens there; choose another port, or port 0 for a free one)"
	case errors.Is(err, unix.EADDRNOTAVAIL):
		why = "the address is not one of this host's (write :PORT to listen on all of them)"
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
		why = "permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)"
	case errors.As(err, &dns):
		why = fmt.Sprintf("cannot look up the host %q: %s", dns.Name, dns.Err)
	default:
		return fmt.Errorf("--http %s: %w", addr, err)
	}
	return &ListenError{Addr: addr, Why: why, Err: err}
}

// ListenError is a failure to listen on the --http address, worded for
// its user; Err is Go's error, for errors.Is.
type ListenError struct {
	Addr, Why string
	Err       error
}

func (e *ListenError) Error() string { return "--http " + e.Addr + ": " + e.Why }
func (e *ListenError) Unwrap() error { return e.Err }

// Addr is the address the server listens on.
func (s *HTTPServer) Addr() string { return s.addr.String() }

// Close stops serving and ends every open connection.
func (s *HTTPServer) Close() { s.conns.Close() }

func textResponse(status int, text string) *response {
	return &response{status: status, contentType: "text/plain; charset=utf-8", body: []byte(text + "\n")}
}

func (s *HTTPServer) handle(ctx context.Context, _ *unix.Ucred, r *request) *response {
	switch r.path {
	case "/metrics", "/livez", "/healthz", "/readyz":
	default:
		return textResponse(StatusNotFound, "not found: try /metrics, /livez, /healthz or /readyz")
	}
	if r.method != "GET" && r.method != "HEAD" {
		resp := textResponse(StatusMethodNotAllowed, r.path+" answers GET and HEAD only")
		resp.allow = "GET, HEAD"
		return resp
	}
	ctx, cancel := context.WithTimeout(ctx, livenessTimeout)
	defer cancel()
	switch r.path {
	case "/metrics":
		st, err := s.backend.Status(ctx)
		if err != nil {
			return textResponse(StatusUnavailable, "no metrics: "+reason(err))
		}
		buf := pooledBody()
		return &response{status: StatusOK, contentType: metricsContentType, body: appendMetrics(*buf, st), pooled: true}
	case "/livez", "/healthz":
		if err := s.backend.Ping(ctx); err != nil {
			return textResponse(StatusUnavailable, "not live: "+reason(err))
		}
		return textResponse(StatusOK, "ok")
	}
	st, err := s.backend.Status(ctx)
	if err != nil {
		return textResponse(StatusUnavailable, "not ready: "+reason(err))
	}
	body := fmt.Sprintf("%d/%d ready", st.Ready, st.Desired)
	switch {
	case st.Stopping:
		return textResponse(StatusUnavailable, body+"; stopping")
	case st.Ready < st.MinReady:
		return textResponse(StatusUnavailable, fmt.Sprintf("%s; --min-ready is %d", body, st.MinReady))
	}
	return textResponse(StatusOK, body)
}

func reason(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Sprintf("the supervisor loop did not answer within %s", livenessTimeout)
	}
	return err.Error()
}
