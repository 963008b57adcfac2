package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"

	"github.com/slotrun/slotrun/internal/signame"
)

// Server serves the control API on a unix socket.
type Server struct {
	backend Backend
	log     hclog.Logger
	path    string
	uid     int
	conns   *connServer
}

// Serve serves the control API on l, a socket bound by Listen at path,
// until Close. Only peers with this process's uid, or root, are served.
func Serve(l net.Listener, path string, backend Backend, log hclog.Logger) *Server {
	s := &Server{backend: backend, log: log, path: path, uid: os.Getuid()}
	s.conns = startConnServer(l, s.handle, func(status int, msg string) *response {
		return errorResponse(Errorf(status, "%s", msg))
	}, maxControlConns, log)
	return s
}

// Close stops serving, ends every open connection and removes the socket
// file.
func (s *Server) Close() {
	s.conns.Close()
	if err := os.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Warn("cannot remove the control socket", "path", s.path, "error", err)
	}
}

// route is one endpoint of the API.
type route struct {
	method string
	serve  func(s *Server, ctx context.Context, r *request) *response
}

var routes = map[string]route{
	"/v1/status":  {"GET", (*Server).status},
	"/v1/scale":   {"POST", (*Server).scale},
	"/v1/restart": {"POST", (*Server).restart},
	"/v1/signal":  {"POST", (*Server).signal},
	"/v1/stop":    {"POST", (*Server).stop},
}

func (s *Server) handle(ctx context.Context, peer *unix.Ucred, r *request) *response {
	if peer == nil || (int(peer.Uid) != s.uid && peer.Uid != 0) {
		uid, pid := -1, -1
		if peer != nil {
			uid, pid = int(peer.Uid), int(peer.Pid)
		}
		s.log.Warn("control socket: refused a client of another user", "uid", uid, "client_pid", pid)
		resp := errorResponse(Errorf(StatusForbidden, "only uid %d or root may use this control socket", s.uid))
		resp.close = true
		return resp
	}
	rt, ok := routes[r.path]
	if !ok {
		return errorResponse(Errorf(StatusNotFound, "no such endpoint %q (try GET /v1/status)", r.path))
	}
	if r.method != rt.method && !(rt.method == "GET" && r.method == "HEAD") {
		resp := errorResponse(Errorf(StatusMethodNotAllowed, "%s needs %s, not %s", r.path, rt.method, r.method))
		resp.allow = rt.method
		return resp
	}
	return rt.serve(s, ctx, r)
}

func (s *Server) status(ctx context.Context, _ *request) *response {
	st, err := s.backend.Status(ctx)
	if err != nil {
		return errorResponse(err)
	}
	return jsonResponse(StatusOK, st)
}

func (s *Server) scale(ctx context.Context, r *request) *response {
	var req ScaleRequest
	if err := decodeBody(r, &req); err != nil {
		return errorResponse(err)
	}
	if (req.Workers == nil) == (req.Change == nil) {
		return errorResponse(Errorf(StatusBadRequest, `scale: give either "workers": N or "change": K`))
	}
	return answer(s.backend.Scale(ctx, req))
}

func (s *Server) restart(ctx context.Context, r *request) *response {
	var req RestartRequest
	if err := decodeBody(r, &req); err != nil {
		return errorResponse(err)
	}
	return answer(s.backend.Restart(ctx, req))
}

func (s *Server) signal(ctx context.Context, r *request) *response {
	var req SignalRequest
	if err := decodeBody(r, &req); err != nil {
		return errorResponse(err)
	}
	sig, err := signame.Parse(req.Signal)
	if err != nil {
		return errorResponse(Errorf(StatusBadRequest, "signal: %v", err))
	}
	return answer(s.backend.Signal(ctx, sig, req.Slot))
}

func (s *Server) stop(ctx context.Context, r *request) *response {
	var req struct{}
	if err := decodeBody(r, &req); err != nil {
		return errorResponse(err)
	}
	ans, err := s.backend.Stop(ctx)
	if err != nil {
		return errorResponse(err)
	}
	return jsonResponse(StatusOK, ans)
}

// decodeBody reads the request's JSON body into v; an empty body is {}.
func decodeBody(r *request, v any) error {
	if len(bytes.TrimSpace(r.body)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return Errorf(StatusBadRequest, "bad JSON in the request body: %v", err)
	}
	if dec.More() {
		return Errorf(StatusBadRequest, "bad JSON in the request body: more than one value")
	}
	return nil
}

func answer(err error) *response {
	if err != nil {
		return errorResponse(err)
	}
	return jsonResponse(StatusOK, struct{}{})
}

func errorResponse(err error) *response {
	msg := err.Error()
	if errors.Is(err, context.DeadlineExceeded) {
		msg = "no answer from the supervisor in time"
	}
	return jsonResponse(statusOf(err), map[string]string{"error": msg})
}

func jsonResponse(code int, v any) *response {
	buf := bytes.NewBuffer(*pooledBody())
	// Encode adds the newline a terminal wants after curl's output.
	if err := json.NewEncoder(buf).Encode(v); err != nil {
		code = StatusInternalServerError
		buf.Reset()
		fmt.Fprintf(buf, "{\"error\":%q}\n", err.Error())
	}
	return &response{status: code, contentType: "application/json", body: buf.Bytes(), pooled: true}
}
