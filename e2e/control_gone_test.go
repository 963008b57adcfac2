package e2e

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// socketFDs counts the sockets pid holds open.
func socketFDs(t *testing.T, pid int) int {
	t.Helper()
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if target, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && strings.HasPrefix(target, "socket:") {
			n++
		}
	}
	return n
}

// TestClientThatLeavesALongRestartIsLetGo: a client that goes away while
// its rolling restart waits for a new worker to be ready is noticed at
// once: the supervisor closes its end of the connection and says so in its
// log, without waiting for the restart to end. The restart goes on and
// completes: the request was accepted.
func TestClientThatLeavesALongRestartIsLetGo(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	gate := filepath.Join(dir, "ready-allowed")
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// A worker is ready once the gate exists: the test holds the new
	// worker of the rolling restart in starting for as long as it needs.
	script := fmt.Sprintf(`while [ ! -e %s ]; do sleep 0.05; done; exec %s`, gate, sdworkerBin)
	p := startIn(t, dir, "-n", "1", "--ready", "notify", "--", "/bin/sh", "-c", script)
	// The log, not status requests, tells the test where the supervisor
	// is until the sockets are counted: a status request's connection
	// may not be closed yet on the supervisor's side when its answer has
	// arrived, and would be counted.
	old := p.waitStderr(`worker started`).int(t, "pid")
	p.waitStderr(`worker ready`)
	idle := socketFDs(t, p.pid())
	if err := os.Remove(gate); err != nil {
		t.Fatal(err)
	}

	conn, err := net.Dial("unix", sockPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write([]byte("POST /v1/restart HTTP/1.1\r\nHost: slotrun\r\nContent-Length: 2\r\n\r\n{}")); err != nil {
		t.Fatal(err)
	}
	rolling, _ := waitLine(t, p.stderr, 0, `rolling restart: workers=1`)
	// The new worker stays in starting: the gate is gone.
	if _, f := waitLine(t, p.stderr, rolling, `worker started`); f.int(t, "pid") == old {
		t.Fatalf("the rolling restart started no new worker")
	}
	if n := socketFDs(t, p.pid()); n != idle+1 {
		t.Fatalf("the supervisor holds %d sockets while the restart waits; want %d, one more than idle", n, idle+1)
	}
	conn.Close()
	eventually(t, waitFor, "the supervisor let the connection go", func() bool {
		return socketFDs(t, p.pid()) == idle
	})
	p.waitStderr(`the client went away before its answer; what it asked for goes on: request="POST /v1/restart"`)
	if st := statusOf(t, dir); st.Rolling == nil || st.Rolling.Done != 0 || st.Rolling.Total != 1 {
		t.Fatalf("rolling = %+v after the client left; want the restart still under way, 0 of 1 done", st.Rolling)
	}

	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	eventually(t, waitFor, "the rolling restart done", func() bool {
		st := statusOf(t, dir)
		return st.Rolling == nil && st.Ready == 1
	})
	p.waitStderr(`rolling restart done`)
}
