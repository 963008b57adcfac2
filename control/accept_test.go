package control

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"
)

// An idle server's accept goroutine waits in os and internal/poll, not
// in net: every collection reads the tables of its frames, and net's
// would stay mapped for the supervisor's whole life (docs/memory.md).
func TestAnIdleServerWaitsOutsideNet(t *testing.T) {
	c := serveFake(t, &fakeBackend{})
	if _, err := c.Status(t.Context()); err != nil {
		t.Fatal(err)
	}
	h, err := ServeHTTP("127.0.0.1:0", &fakeBackend{}, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)

	var waiting []string
	deadline := time.Now().Add(5 * time.Second)
	for len(waiting) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("want the accept goroutines of 2 servers waiting for a connection, found %d:\n%s", len(waiting), strings.Join(waiting, "\n\n"))
		}
		waiting = acceptGoroutines()
		time.Sleep(time.Millisecond) // the poll's interval, under the deadline above
	}
	for _, g := range waiting {
		for line := range strings.Lines(g) {
			if strings.HasPrefix(line, "net.") {
				t.Fatalf("an idle server waits in package net (%s):\n%s", strings.TrimSpace(line), g)
			}
		}
	}
}

// acceptGoroutines returns the stacks of the goroutines that wait in a
// server's accept for the poller.
func acceptGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var found []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "[IO wait") && strings.Contains(g, "control.(*connServer).accept(") {
			found = append(found, g)
		}
	}
	return found
}

// Accept hands over a unix connection as net's listener would, for the
// peer's credentials, and Close wakes an Accept that waits with
// net.ErrClosed, which ends the server's accept loop.
func TestFileListenerAcceptsAndCloses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.sock")
	l, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	client, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	conn, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, ok := conn.(*net.UnixConn); !ok {
		t.Fatalf("accepted a %T, want a *net.UnixConn", conn)
	}
	if cred := peerCred(conn); cred == nil || int(cred.Pid) <= 0 {
		t.Fatalf("peer credentials %+v", cred)
	}
	assertCarries(t, client, conn)

	accepted := make(chan error, 1)
	go func() {
		_, err := l.Accept()
		accepted <- err
	}()
	// Close may come before the Accept waits, or while it does: both end
	// it with net.ErrClosed.
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-accepted:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Accept after Close: %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not wake Accept")
	}
}

// An accept needs one free descriptor, the connection's: with only one
// left, the client is served, not reset (a probe of /livez near the
// limit must get its answer).
func TestAcceptNeedsOneFreeDescriptor(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.sock")
	l, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	client, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()

	var limit unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &limit); err != nil {
		t.Fatal(err)
	}
	low := limit
	low.Cur = min(limit.Cur, 256)
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	var fill []int
	release := func() {
		for _, fd := range fill {
			unix.Close(fd)
		}
		fill = nil
		unix.Setrlimit(unix.RLIMIT_NOFILE, &limit)
	}
	defer release()
	for {
		fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if errors.Is(err, unix.EMFILE) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		fill = append(fill, fd)
	}
	if len(fill) == 0 {
		t.Fatal("no descriptor left to fill: the test's limit is too low")
	}
	unix.Close(fill[len(fill)-1]) // one free
	fill = fill[:len(fill)-1]

	conn, err := l.Accept()
	release()
	if err != nil {
		t.Fatalf("Accept with one descriptor free: %v", err)
	}
	defer conn.Close()
	assertCarries(t, client, conn)
}

// A socket the runtime's poller does not watch is refused when the
// listener is made, not at every Accept afterwards.
func TestFileListenerRefusesASocketThePollerDoesNotWatch(t *testing.T) {
	l, err := net.Listen("unix", filepath.Join(t.TempDir(), "c.sock"))
	if err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0) // blocking: os.NewFile leaves it unwatched
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newFileListener(l, os.NewFile(uintptr(fd), "blocking")); err == nil || !strings.Contains(err.Error(), "poller") {
		t.Fatalf("newFileListener on a socket the poller does not watch: %v", err)
	}
	if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("the refused listener was left open: Accept says %v", err)
	}
}

// assertCarries fails the test unless a byte the client sends arrives on
// conn, the server's end.
func assertCarries(t *testing.T, client, conn net.Conn) {
	t.Helper()
	if _, err := client.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, 1)
	if _, err := conn.Read(b); err != nil || b[0] != 'x' {
		t.Fatalf("the accepted connection does not carry the client's bytes: %q, %v", b, err)
	}
}
