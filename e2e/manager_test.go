package e2e

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSlotrunNotifiesItsServiceManager plays systemd: a unixgram socket
// (abstract, and a path) is slotrun's NOTIFY_SOCKET, with a watchdog asked
// for. slotrun must send READY=1 once both workers are ready, STATUS=
// as that changes, RELOADING=1 with MONOTONIC_USEC when a rolling restart
// begins and READY=1 when it ends, WATCHDOG=1 every half WATCHDOG_USEC, and
// STOPPING=1 when it stops.
func TestSlotrunNotifiesItsServiceManager(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"abstract", "path"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			addr := "@" + uniqueName(t) + "-" + kind
			if kind == "path" {
				addr = filepath.Join(t.TempDir(), "notify.sock")
			}
			conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: addr, Net: "unixgram"})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { conn.Close() })
			msgs := make(chan string, 1000)
			go func() {
				buf := make([]byte, 4096)
				for {
					n, err := conn.Read(buf)
					if err != nil {
						close(msgs)
						return
					}
					msgs <- string(buf[:n])
				}
			}()
			cmd := exec.Command(slotrunBin, "-n", "2", "--ready", "notify", "--signal", "HUP=restart", "--", sdworkerBin, "-ready", "200ms")
			cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+addr, "WATCHDOG_USEC=300000", "WATCHDOG_PID=")
			p := startCmd(t, t.TempDir(), cmd, true)

			// Until READY=1: watchdog pings and STATUS updates, the last of
			// which says both workers are ready.
			status := ""
			watchdogs := 0
			m := expectMessage(t, msgs, "READY=1", func(m string) {
				status = field(m, "STATUS", status)
				if strings.Contains(m, "WATCHDOG=1") {
					watchdogs++
				}
			})
			status = field(m, "STATUS", status)
			if status != "2/2 workers ready" {
				t.Errorf("READY=1 with status %q; want 2/2 workers ready", status)
			}
			if watchdogs == 0 {
				expectMessage(t, msgs, "WATCHDOG=1", nil)
			}
			expectMessage(t, msgs, "WATCHDOG=1", nil) // and again, 150ms later

			p.signal(syscall.SIGHUP)
			m = expectMessage(t, msgs, "RELOADING=1", nil)
			usec, err := strconv.ParseInt(field(m, "MONOTONIC_USEC", ""), 10, 64)
			if err != nil || usec <= 0 {
				t.Errorf("RELOADING=1 without MONOTONIC_USEC: %q", m)
			}
			// The rolling restart ends with both new workers ready.
			m = expectMessage(t, msgs, "READY=1", func(m string) { status = field(m, "STATUS", status) })
			if status = field(m, "STATUS", status); status != "2/2 workers ready" {
				t.Errorf("READY=1 after the rolling restart with status %q", status)
			}
			p.waitStderr(`rolling restart done`)

			p.signal(syscall.SIGTERM)
			expectMessage(t, msgs, "STOPPING=1", nil)
			if code := p.wait(); code != 0 {
				t.Errorf("exit code %d", code)
			}
		})
	}
}

// expectMessage reads messages until one has the line want, calling each
// (if not nil) with every message before it.
func expectMessage(t *testing.T, msgs <-chan string, want string, each func(string)) string {
	t.Helper()
	deadline := time.After(waitFor)
	for {
		select {
		case m, ok := <-msgs:
			if !ok {
				t.Fatalf("notify socket closed before %s", want)
			}
			for _, line := range strings.Split(m, "\n") {
				if line == want {
					return m
				}
			}
			if each != nil {
				each(m)
			}
		case <-deadline:
			t.Fatalf("no %s within %s", want, waitFor)
		}
	}
}

// field is the value of key in the message m, or def.
func field(m, key, def string) string {
	for _, line := range strings.Split(m, "\n") {
		if v, ok := strings.CutPrefix(line, key+"="); ok {
			return v
		}
	}
	return def
}
