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
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--http %s: %w", addr, err)
	}
	s := &HTTPServer{backend: backend, addr: l.Addr()}
	s.conns = startConnServer(l, s.handle, func(status int, msg string) *response {
		return textResponse(status, msg)
	}, maxHTTPConns, log)
	return s, nil
}

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
