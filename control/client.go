package control

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"
)

// ErrNotRunning is returned by a Client when nothing listens on the
// control socket.
var ErrNotRunning = errors.New("not running")

// NoAnswerError is the failure of an exchange whose context ran out
// before the supervisor answered: a supervisor stopped by SIGSTOP, or one
// whose loop is stuck, accepts connections (the kernel does) and never
// answers them. It matches context.DeadlineExceeded.
type NoAnswerError struct {
	Path   string        // the control socket
	Waited time.Duration // how long the client waited, to a tenth of a second
}

func (e *NoAnswerError) Error() string {
	return fmt.Sprintf("nothing answered on the control socket %s within %s", e.Path, e.Waited)
}

// Is makes errors.Is(err, context.DeadlineExceeded) hold.
func (e *NoAnswerError) Is(target error) bool { return target == context.DeadlineExceeded }

// maxAnswer bounds an answer the client reads (a status of many slots).
const maxAnswer = 64 << 20

// Client talks to a supervisor's control socket: one connection per
// request.
type Client struct {
	path string
}

// NewClient returns a client of the control socket at path.
func NewClient(path string) *Client { return &Client{path: path} }

// Path is the control socket's path.
func (c *Client) Path() string { return c.path }

// Status asks for the status object.
func (c *Client) Status(ctx context.Context) (*Status, error) {
	var st Status
	if err := c.Do(ctx, "GET", "/v1/status", nil, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// Do sends a request with body (nil for none) as JSON and decodes the
// answer into out (nil to drop it). An answer other than 200 is an *Error
// with the server's one line. ctx bounds the whole exchange.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) error {
	return c.exchange(ctx, ctx, method, path, body, out)
}

// Await is Do for a request that waits for an outcome (a scale, a rolling
// restart): take bounds the connect and the supervisor's taking of the
// request, which it tells with an interim answer (102) as soon as its
// loop has the request; from then on only ctx bounds the wait, which may
// be long by design. A supervisor that is stopped or stuck fails the
// request in take with a NoAnswerError (docs/control.md, "Clients that
// get no answer").
func (c *Client) Await(ctx context.Context, take time.Duration, method, path string, body, out any) error {
	taking, cancel := context.WithTimeout(ctx, take)
	defer cancel()
	return c.exchange(ctx, taking, method, path, body, out)
}

// exchange is Do with taking, a context under ctx, bounding the exchange
// until the supervisor has taken the request, and ctx after.
func (c *Client) exchange(ctx, taking context.Context, method, path string, body, out any) error {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return err
		}
	}
	begun := time.Now()
	var d net.Dialer
	conn, err := d.DialContext(taking, "unix", c.path)
	if err != nil {
		if taking.Err() != nil { // a full backlog: connect waits too
			return c.exchangeError(taking, begun, err)
		}
		return c.dialError(err)
	}
	defer conn.Close()
	// The exchange ends when its context does: a cancelled wait (Ctrl-C)
	// or a deadline unblocks the read. Once the request is taken, only
	// ctx can end it.
	interrupt := func() { conn.SetDeadline(time.Unix(1, 0)) }
	bound := taking
	stop := context.AfterFunc(taking, interrupt)
	defer func() { stop() }()
	taken := func(int) {
		if bound == ctx || !stop() {
			return // one bound all along, or it has run out already
		}
		bound = ctx
		stop = context.AfterFunc(ctx, interrupt)
	}

	var req bytes.Buffer
	fmt.Fprintf(&req, "%s %s HTTP/1.1\r\nHost: slotrun\r\nConnection: close\r\n", method, path)
	if body != nil {
		fmt.Fprintf(&req, "Content-Type: application/json\r\nContent-Length: %d\r\n", len(payload))
	}
	req.WriteString("\r\n")
	req.Write(payload)
	if _, err := conn.Write(req.Bytes()); err != nil {
		return c.exchangeError(bound, begun, err)
	}
	status, data, err := readResponse(bufio.NewReader(conn), maxAnswer, taken)
	if err != nil {
		return c.exchangeError(bound, begun, err)
	}
	if status != StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(data, &e) != nil || e.Error == "" {
			e.Error = fmt.Sprintf("the supervisor answered %d %s", status, statusText(status))
		}
		return &Error{Status: status, Msg: e.Error}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("control socket %s: the answer is not what slotrun sends: %w", c.path, err)
	}
	return nil
}

// dialError words a connect that failed at once.
func (c *Client) dialError(err error) error {
	var st syscall.Stat_t
	statErr := syscall.Stat(c.path, &st)
	switch {
	case statErr == nil && st.Mode&syscall.S_IFMT != syscall.S_IFSOCK:
		return fmt.Errorf("control socket %s: %s, not a socket; does --control name the right path?", c.path, fileKind(st.Mode))
	case errors.Is(err, syscall.EACCES) && statErr == nil:
		return fmt.Errorf("control socket %s: permission denied: it is uid %d's, and only that user and root may use it; run this command as that user", c.path, st.Uid)
	case errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("%w (nothing answers on %s)", ErrNotRunning, c.path)
	}
	return fmt.Errorf("control socket %s: %w", c.path, err)
}

// exchangeError words a failed exchange that began at begun: a context
// that ran out is a NoAnswerError, a cancelled one is ctx's error.
func (c *Client) exchangeError(ctx context.Context, begun time.Time, err error) error {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		// The bound that ran out, not the time since: a client that ran
		// late (a busy machine) waited no longer for an answer.
		waited := time.Since(begun)
		if deadline, ok := ctx.Deadline(); ok {
			waited = deadline.Sub(begun)
		}
		return &NoAnswerError{Path: c.path, Waited: waited.Round(100 * time.Millisecond)}
	case ctx.Err() != nil:
		return ctx.Err()
	}
	return fmt.Errorf("control socket %s: %w", c.path, err)
}
