package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"reflect"
	"strconv"
	"strings"

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
	}, waitsForOutcome, maxControlConns, log)
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

// waitsForOutcome tells the requests that may wait long for their answer,
// a scale or a rolling restart: the server watches their clients while
// they wait.
func waitsForOutcome(r *request) bool {
	return r.method == "POST" && (r.path == "/v1/scale" || r.path == "/v1/restart")
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
		return errorResponse(Errorf(StatusNotFound, "no such endpoint %q (the API has GET /v1/status, POST /v1/scale, POST /v1/restart, POST /v1/signal and POST /v1/stop)", r.path))
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
	if err := decodeBody("scale", r, &req); err != nil {
		return errorResponse(err)
	}
	switch {
	case req.Workers == nil && req.Change == nil:
		return errorResponse(Errorf(StatusBadRequest, `scale: give "workers": N (the number to run) or "change": K (how many to add, or remove if negative)`))
	case req.Workers != nil && req.Change != nil:
		return errorResponse(Errorf(StatusBadRequest, `scale: give "workers" or "change", not both`))
	}
	return answer(s.backend.Scale(ctx, req))
}

func (s *Server) restart(ctx context.Context, r *request) *response {
	var req RestartRequest
	if err := decodeBody("restart", r, &req); err != nil {
		return errorResponse(err)
	}
	return answer(s.backend.Restart(ctx, req))
}

func (s *Server) signal(ctx context.Context, r *request) *response {
	var req SignalRequest
	if err := decodeBody("signal", r, &req); err != nil {
		return errorResponse(err)
	}
	if req.Signal == "" {
		return errorResponse(Errorf(StatusBadRequest, `signal: "signal" is missing: give a name or number, as "HUP" or "1"`))
	}
	sig, err := signame.Parse(req.Signal)
	if err != nil {
		return errorResponse(Errorf(StatusBadRequest, `signal: "signal": %v`, err))
	}
	return answer(s.backend.Signal(ctx, sig, req.Slot))
}

func (s *Server) stop(ctx context.Context, r *request) *response {
	var req struct{}
	if err := decodeBody("stop", r, &req); err != nil {
		return errorResponse(err)
	}
	ans, err := s.backend.Stop(ctx)
	if err != nil {
		return errorResponse(err)
	}
	return jsonResponse(StatusOK, ans)
}

// decodeBody reads the request's JSON body into v, a pointer to a
// struct; an empty body is {}. A body that does not fit is refused with
// one line naming the request (what), the field and what it takes.
func decodeBody(what string, r *request, v any) error {
	if len(bytes.TrimSpace(r.body)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return Errorf(StatusBadRequest, "%s: %s", what, jsonProblem(err, v))
	}
	if dec.More() {
		return Errorf(StatusBadRequest, "%s: the body holds more than one JSON value; send one object", what)
	}
	return nil
}

// jsonProblem words a decoding error of encoding/json for the API's user.
func jsonProblem(err error, v any) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("the body is not JSON: %v (at byte %d)", syntax, syntax.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the body is not JSON: it ends before the value does"
	case errors.As(err, &typ) && typ.Field == "":
		return fmt.Sprintf("the body must be a JSON object, as {%s}, not %s", exampleFields(v), article(typ.Value))
	case errors.As(err, &typ) && typ.Type.Kind() == reflect.Int && strings.Trim(typ.Value, "number -0123456789") == "":
		return fmt.Sprintf("%q is out of range: %s is too large", typ.Field, article(typ.Value))
	case errors.As(err, &typ):
		want := "a whole number"
		switch typ.Type.Kind() {
		case reflect.String:
			want = "a string"
		case reflect.Bool:
			want = "true or false"
		}
		return fmt.Sprintf("%q must be %s, not %s", typ.Field, want, article(typ.Value))
	}
	// The one error left is an unknown field, which encoding/json words
	// only in text: `json: unknown field "x"`.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if fields := fieldNames(v); fields != "" {
			return fmt.Sprintf("unknown field %s (the body takes %s)", name, fields)
		}
		return fmt.Sprintf("unknown field %s (the body takes no field; send {} or nothing)", name)
	}
	return fmt.Sprintf("the body is not what the API takes: %v", err)
}

// article writes encoding/json's name for a value a user sent: "number
// 1.5" is 1.5 as it was written; "string" and "array" get an article.
func article(value string) string {
	if n, ok := strings.CutPrefix(value, "number "); ok {
		return n
	}
	switch value {
	case "array", "object":
		return "an " + value
	case "bool":
		return "true or false"
	}
	return "a " + value
}

// fieldNames lists the JSON fields of the struct v points to: "a", "b"
// and "c".
func fieldNames(v any) string {
	t := reflect.TypeOf(v).Elem()
	var names []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			names = append(names, strconv.Quote(name))
		}
	}
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// exampleFields is the fields of v as an object's inside, for a hint.
func exampleFields(v any) string {
	switch v.(type) {
	case *ScaleRequest:
		return `"workers": 4`
	case *RestartRequest:
		return `"slot": 0`
	case *SignalRequest:
		return `"signal": "HUP"`
	}
	return ""
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
