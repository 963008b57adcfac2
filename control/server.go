package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"

	"github.com/slotrun/slotrun/internal/signame"
)

// Bounds on what one client may cost (docs/control.md, "Bounds"). A client
// that sends its request slowly, or not at all, holds only its own
// connection and goroutine, and only for these; the supervisor's loop never
// sees a request until it has been read whole.
const (
	maxBody        = 64 << 10 // a request body; more is 413
	maxHeader      = 16 << 10
	idleTimeout    = 30 * time.Second // between requests on one connection
	writeTimeout   = 10 * time.Second // the answer, once it is known
	requestTimeout = time.Hour        // the longest wait for an outcome (a rolling restart of many slow workers)
)

// readTimeout bounds the reading of a whole request, headers and body.
// A variable for the tests.
var readTimeout = 10 * time.Second

// Server serves the control API on a unix socket.
type Server struct {
	backend Backend
	log     hclog.Logger
	path    string
	http    *http.Server
	uid     int
	done    chan struct{}
}

type credKey struct{}

// Serve serves the control API on l, a socket bound by Listen at path,
// until Close. Only peers with this process's uid, or root, are served.
func Serve(l net.Listener, path string, backend Backend, log hclog.Logger) *Server {
	s := &Server{backend: backend, log: log, path: path, uid: os.Getuid(), done: make(chan struct{})}
	s.http = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: readTimeout,
		ReadTimeout:       readTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeader,
		ErrorLog:          log.StandardLogger(&hclog.StandardLoggerOptions{ForceLevel: hclog.Debug}),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, credKey{}, peerCred(c))
		},
	}
	go func() {
		defer close(s.done)
		s.http.Serve(l)
	}()
	return s
}

// Close stops serving, ends every open connection and removes the socket
// file.
func (s *Server) Close() {
	s.http.Close()
	<-s.done
	if err := os.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Warn("cannot remove the control socket", "path", s.path, "error", err)
	}
}

// peerCred is who is at the other end of c, from SO_PEERCRED; nil if it
// cannot be told, which is refused.
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

// route is one endpoint of the API.
type route struct {
	method string
	serve  func(s *Server, w http.ResponseWriter, r *http.Request)
}

var routes = map[string]route{
	"/v1/status":  {http.MethodGet, (*Server).status},
	"/v1/scale":   {http.MethodPost, (*Server).scale},
	"/v1/restart": {http.MethodPost, (*Server).restart},
	"/v1/signal":  {http.MethodPost, (*Server).signal},
	"/v1/stop":    {http.MethodPost, (*Server).stop},
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cred, _ := r.Context().Value(credKey{}).(*unix.Ucred)
	if cred == nil || (int(cred.Uid) != s.uid && cred.Uid != 0) {
		uid, pid := -1, -1
		if cred != nil {
			uid, pid = int(cred.Uid), int(cred.Pid)
		}
		s.log.Warn("control socket: refused a client of another user", "uid", uid, "client_pid", pid)
		w.Header().Set("Connection", "close")
		writeError(w, Errorf(http.StatusForbidden, "only uid %d or root may use this control socket", s.uid))
		return
	}
	rt, ok := routes[r.URL.Path]
	if !ok {
		writeError(w, Errorf(http.StatusNotFound, "no such endpoint %q (try GET /v1/status)", r.URL.Path))
		return
	}
	if r.Method != rt.method && !(rt.method == http.MethodGet && r.Method == http.MethodHead) {
		w.Header().Set("Allow", rt.method)
		writeError(w, Errorf(http.StatusMethodNotAllowed, "%s needs %s, not %s", r.URL.Path, rt.method, r.Method))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	rt.serve(s, w, r.WithContext(ctx))
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	st, err := s.backend.Status(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) scale(w http.ResponseWriter, r *http.Request) {
	var req ScaleRequest
	if !readJSON(w, r, &req) {
		return
	}
	if (req.Workers == nil) == (req.Change == nil) {
		writeError(w, Errorf(http.StatusBadRequest, `scale: give either "workers": N or "change": K`))
		return
	}
	answer(w, s.backend.Scale(r.Context(), req))
}

func (s *Server) restart(w http.ResponseWriter, r *http.Request) {
	var req RestartRequest
	if !readJSON(w, r, &req) {
		return
	}
	answer(w, s.backend.Restart(r.Context(), req))
}

func (s *Server) signal(w http.ResponseWriter, r *http.Request) {
	var req SignalRequest
	if !readJSON(w, r, &req) {
		return
	}
	sig, err := signame.Parse(req.Signal)
	if err != nil {
		writeError(w, Errorf(http.StatusBadRequest, "signal: %v", err))
		return
	}
	answer(w, s.backend.Signal(r.Context(), sig, req.Slot))
}

func (s *Server) stop(w http.ResponseWriter, r *http.Request) {
	var req struct{}
	if !readJSON(w, r, &req) {
		return
	}
	answer(w, s.backend.Stop(r.Context()))
}

// readJSON reads a bounded JSON body into v; an empty body is {}. It
// answers the client itself and returns false if the body is bad.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, Errorf(http.StatusRequestEntityTooLarge, "request body over %d bytes", maxBody))
		} else {
			writeError(w, Errorf(http.StatusBadRequest, "cannot read the request body: %v", err))
		}
		return false
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return true
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, Errorf(http.StatusBadRequest, "bad JSON in the request body: %v", err))
		return false
	}
	if dec.More() {
		writeError(w, Errorf(http.StatusBadRequest, "bad JSON in the request body: more than one value"))
		return false
	}
	return true
}

func answer(w http.ResponseWriter, err error) {
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

func writeError(w http.ResponseWriter, err error) {
	msg := err.Error()
	if errors.Is(err, context.DeadlineExceeded) {
		msg = "no answer from the supervisor in time"
	}
	writeJSON(w, statusOf(err), map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	// The answer may have waited long for the supervisor; its write gets
	// a deadline of its own, so a client that stopped reading cannot hold
	// the connection.
	http.NewResponseController(w).SetWriteDeadline(time.Now().Add(writeTimeout))
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(fmt.Sprintf(`{"error":%q}`, err.Error()))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}
