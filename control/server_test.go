package control

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// fakeBackend answers at once, or waits for release when block is set.
type fakeBackend struct {
	block   chan struct{}
	arrived chan struct{}
	ended   chan error // the error of a wait that ended without an answer
	scaled  []ScaleRequest
	signals []syscall.Signal
}

func (f *fakeBackend) wait(ctx context.Context) error {
	if f.block == nil {
		return nil
	}
	if f.arrived != nil {
		f.arrived <- struct{}{}
	}
	select {
	case <-f.block:
		return nil
	case <-ctx.Done():
		if f.ended != nil {
			f.ended <- ctx.Err()
		}
		return ctx.Err()
	}
}

func (f *fakeBackend) Status(ctx context.Context) (*Status, error) {
	return &Status{Name: "t", Workers: []Worker{}, Listeners: []Listener{}}, f.wait(ctx)
}
func (f *fakeBackend) Scale(ctx context.Context, r ScaleRequest) error {
	f.scaled = append(f.scaled, r)
	return f.wait(ctx)
}
func (f *fakeBackend) Restart(ctx context.Context, r RestartRequest) error {
	if r.Slot != nil && *r.Slot == 5 {
		return Errorf(http.StatusConflict, "rolling restart halted at slot 5: why")
	}
	return f.wait(ctx)
}
func (f *fakeBackend) Signal(ctx context.Context, sig syscall.Signal, slot *int) error {
	f.signals = append(f.signals, sig)
	return nil
}
func (f *fakeBackend) Stop(ctx context.Context) (StopAnswer, error) { return StopAnswer{}, nil }
func (f *fakeBackend) Ping(ctx context.Context) error               { return f.wait(ctx) }

func serveFake(t *testing.T, b Backend) *Client {
	t.Helper()
	path := filepath.Join(t.TempDir(), "c.sock")
	l, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	s := Serve(l, path, b, hclog.NewNullLogger())
	t.Cleanup(s.Close)
	return NewClient(path)
}

func TestClientAndServerAgree(t *testing.T) {
	fb := &fakeBackend{}
	c := serveFake(t, fb)
	ctx := context.Background()
	st, err := c.Status(ctx)
	if err != nil || st.Name != "t" {
		t.Fatalf("Status: %+v, %v", st, err)
	}
	n := 3
	if err := c.Do(ctx, http.MethodPost, "/v1/scale", ScaleRequest{Workers: &n}, nil); err != nil {
		t.Fatal(err)
	}
	if len(fb.scaled) != 1 || *fb.scaled[0].Workers != 3 {
		t.Errorf("scale request: %+v", fb.scaled)
	}
	if err := c.Do(ctx, http.MethodPost, "/v1/signal", SignalRequest{Signal: "sighup"}, nil); err != nil || fb.signals[0] != syscall.SIGHUP {
		t.Errorf("signal: %v %v", err, fb.signals)
	}
	five := 5
	err = c.Do(ctx, http.MethodPost, "/v1/restart", RestartRequest{Slot: &five}, nil)
	var e *Error
	if !asError(err, &e) || e.Status != 409 || e.Msg != "rolling restart halted at slot 5: why" {
		t.Errorf("halted restart: %v", err)
	}
}

func asError(err error, e **Error) bool {
	x, ok := err.(*Error)
	*e = x
	return ok
}

// TestALongWaitOutlivesTheReadTimeout: a request whose answer takes
// longer than the read deadline (a rolling restart) is not cancelled by it.
func TestALongWaitOutlivesTheReadTimeout(t *testing.T) {
	old := readTimeout
	readTimeout = 100 * time.Millisecond
	defer func() { readTimeout = old }()
	fb := &fakeBackend{block: make(chan struct{}), arrived: make(chan struct{}, 1)}
	c := serveFake(t, fb)
	go func() {
		<-fb.arrived
		time.Sleep(3 * readTimeout) // the condition under test: time passing
		close(fb.block)
	}()
	n := 2
	if err := c.Do(context.Background(), http.MethodPost, "/v1/scale", ScaleRequest{Workers: &n}, nil); err != nil {
		t.Errorf("a request answered after the read timeout: %v", err)
	}
}

func TestBodyBounds(t *testing.T) {
	c := serveFake(t, &fakeBackend{})
	big := map[string]string{"pad": strings.Repeat("x", maxBody)}
	err := c.Do(context.Background(), http.MethodPost, "/v1/stop", big, nil)
	var e *Error
	if !asError(err, &e) || e.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("a body over %d bytes: %v; want 413", maxBody, err)
	}
	var out map[string]any
	err = c.Do(context.Background(), http.MethodPost, "/v1/stop", json.RawMessage(`[1,2]`), &out)
	if !asError(err, &e) || e.Status != http.StatusBadRequest {
		t.Errorf("a body of the wrong shape: %v; want 400", err)
	}
}

// TestAFullServerClosesItsLongestIdleConnection: a flood of idle
// connections to the HTTP server costs at most maxHTTPConns goroutines,
// and cannot lock a probe out: when the server is full, a new connection
// is served and the one idle longest is closed. Before, the new one was
// closed, and /livez failed until the idle ones timed out.
func TestAFullServerClosesItsLongestIdleConnection(t *testing.T) {
	s, err := ServeHTTP("127.0.0.1:0", &fakeBackend{}, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range maxHTTPConns {
		c, err := net.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	// Every connection is tracked before the probe comes.
	eventually(t, func() bool { return s.conns.count() == maxHTTPConns })
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get("http://" + s.Addr() + "/livez")
	if err != nil {
		t.Fatalf("/livez with %d idle connections open: %v", maxHTTPConns, err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/livez with %d idle connections open: %d; want 200", maxHTTPConns, resp.StatusCode)
	}
	conns[0].SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := conns[0].Read(make([]byte, 1)); err == nil || n > 0 {
		t.Errorf("the connection idle longest was kept: read %d, %v; want it closed", n, err)
	}
}

// count is the number of connections tracked.
func (s *connServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// eventually polls cond for up to 5 s.
func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("not true within 5s")
		}
		time.Sleep(5 * time.Millisecond) // the poll's interval, under the deadline above
	}
}

// FuzzDecodeBody: whatever body a client sends, each request's decoder
// either takes it or refuses it with 400 and one line that names the
// request.
func FuzzDecodeBody(f *testing.F) {
	for _, seed := range []string{
		`{"workers": 2}`, `{"change": -1, "no_wait": true}`, `{"slot": 99999999999999999999}`,
		`{"signal": 1}`, `[1]`, `"x"`, `{bad`, `{"workers":`, `{} {}`, `{"a\nb": 1}`, "\x00", `{"slot": 1e3}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := &request{body: []byte(body)}
		for what, v := range map[string]any{"scale": new(ScaleRequest), "restart": new(RestartRequest), "signal": new(SignalRequest), "stop": new(struct{})} {
			err := decodeBody(what, r, v)
			if err == nil {
				continue
			}
			var e *Error
			if !errors.As(err, &e) || e.Status != StatusBadRequest || strings.ContainsAny(e.Msg, "\r\n") || !strings.HasPrefix(e.Msg, what+": ") {
				t.Fatalf("%s with body %q: %v; want 400 and one line that begins %q", what, body, err, what+": ")
			}
		}
	})
}

// rawConn connects to the control socket the client c talks to.
func rawConn(t *testing.T, c *Client) net.Conn {
	t.Helper()
	conn, err := net.Dial("unix", c.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// TestAWaitEndsWhenItsClientGoesAway: the request of a client that closes
// its connection while the request waits is cancelled at once, not when
// its outcome comes.
func TestAWaitEndsWhenItsClientGoesAway(t *testing.T) {
	fb := &fakeBackend{block: make(chan struct{}), arrived: make(chan struct{}, 1), ended: make(chan error, 1)}
	defer close(fb.block)
	conn := rawConn(t, serveFake(t, fb))
	io.WriteString(conn, "POST /v1/restart HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}")
	<-fb.arrived
	conn.Close()
	select {
	case err := <-fb.ended:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("the wait ended with %v; want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the wait went on after its client had gone")
	}
}

// TestAWatchedWaitKeepsTheNextRequest: bytes a client sends while its
// request waits (the next request on the connection) are not lost to the
// watch, and do not end the wait.
func TestAWatchedWaitKeepsTheNextRequest(t *testing.T) {
	fb := &fakeBackend{block: make(chan struct{}), arrived: make(chan struct{}, 1)}
	conn := rawConn(t, serveFake(t, fb))
	io.WriteString(conn, "POST /v1/scale HTTP/1.1\r\nContent-Length: 14\r\n\r\n{\"workers\": 2}")
	<-fb.arrived
	io.WriteString(conn, "GET /v1/status HTTP/1.1\r\nConnection: close\r\n\r\n")
	close(fb.block)
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	all, err := io.ReadAll(conn)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(all), "HTTP/1.1 200 OK"); n != 2 || !strings.Contains(string(all), `"name":"t"`) {
		t.Errorf("answers: %q; want two 200s, the second the status", all)
	}
}
