package control

import (
	"errors"
	"net"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
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
	if _, err := client.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if b := make([]byte, 1); func() error { _, err := conn.Read(b); return err }() != nil || b[0] != 'x' {
		t.Fatalf("the accepted connection does not carry the client's bytes")
	}

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
