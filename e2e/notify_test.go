package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestReadyNotifyFromAGoWorker: with --ready notify, a worker is ready when
// go-systemd's daemon.SdNotify says READY=1 on the NOTIFY_SOCKET slotrun
// gave it, not before; STATUS= is taken in.
func TestReadyNotifyFromAGoWorker(t *testing.T) {
	t.Parallel()
	p := start(t, "-n", "2", "--ready", "notify", "--log-level", "debug", "--",
		sdworkerBin, "-ready", "300ms", "-status", "all-good")
	for _, id := range []string{"0", "1"} {
		f := p.waitStdout(`^sockets id=` + id + ` `)
		if !strings.HasPrefix(f["notify_socket"], "@") || f["listen_fds"] != "-" {
			t.Errorf("worker %s: %v; want an abstract NOTIFY_SOCKET and no LISTEN_* without --listen", id, f)
		}
	}
	for _, slot := range []string{"0", "1"} {
		i, f := waitLine(t, p.stderr, 0, `worker ready: id=\d+ slot=`+slot+` `)
		// The worker printed "notified" after SdNotify returned; slotrun
		// must not have called it ready before it was sent.
		lines, _, _ := p.stderr.snapshot()
		for _, l := range lines[:i] {
			if strings.Contains(l, "slot="+slot) && strings.Contains(l, "status=all-good") {
				t.Errorf("status logged before READY=1: %s", l)
			}
		}
		if f["sender"] != f["pid"] {
			t.Errorf("slot %s: sender %s; want the worker %s", slot, f["sender"], f["pid"])
		}
	}
	p.waitStderr(`worker status: id=\d+ slot=\d pid=\d+ sender=\d+ status=all-good`)
}

// TestSystemdNotifyFromAShellScript: systemd-notify, run by a shell-script
// worker, counts for the worker; run by a grandchild (its credentials name
// its parent, a child shell), it counts as coming from the worker's
// group. It returns, so its BARRIER=1 fd was closed at once.
func TestSystemdNotifyFromAShellScript(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/usr/bin/systemd-notify"); err != nil {
		t.Skip("systemd-notify is not installed (.ci/run installs it)")
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "w.sh")
	os.WriteFile(script, []byte(`#!/bin/sh
if [ "$COMET_PROCESS_ID" = 0 ]; then
	systemd-notify --ready --status="from the shell"
else
	sh -c 'systemd-notify --ready --status="from the shell"'
fi
echo "notified id=$COMET_PROCESS_ID pid=$$ rc=$?"
exec sleep 600
`), 0o755)
	p := startIn(t, dir, "-n", "2", "--ready", "notify", "--ready-timeout", "10s", "--log-level", "debug", "--", script)
	for _, slot := range []string{"0", "1"} {
		f := p.waitStdout(`^notified id=` + slot + ` `)
		if f["rc"] != "0" {
			t.Errorf("systemd-notify exited %s", f["rc"])
		}
		ready := p.waitStderr(`worker ready: id=\d+ slot=` + slot + ` `)
		if slot == "1" && ready["sender"] == ready["pid"] {
			t.Errorf("slot 1: sender %s; want the child shell, not the worker", ready["sender"])
		}
	}
	p.waitStderr(`worker status: .*status="from the shell"`)
	p.signal(syscall.SIGTERM)
	if code := p.wait(); code != 0 {
		t.Errorf("exit code %d; want 0", code)
	}
}

// TestBadNotificationsAreIgnored: malformed and oversized notifications
// from a worker, and a flood of 100,000 READY=1 from a process outside
// every worker's group, are dropped (logged at debug); the worker becomes
// ready only by its own valid READY=1, and slotrun still restarts workers
// afterwards.
func TestBadNotificationsAreIgnored(t *testing.T) {
	t.Parallel()
	p := start(t, "-n", "2", "--ready", "notify", "--log-level", "debug", "--", sdworkerBin, "-ready", "never")
	f := p.waitStdout(`^sockets id=0 `)
	addr := f["notify_socket"]

	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	sa := &unix.SockaddrUnix{Name: addr}
	for range 100_000 {
		if err := unix.Sendto(fd, []byte("READY=1"), 0, sa); err != nil {
			t.Fatalf("flood: %v", err)
		}
	}
	p.waitStderr(`ignoring a notification from a process outside every worker's group: sender=` + itoa(os.Getpid()))
	if strings.Contains(p.stderr.text(), "worker ready") {
		t.Fatal("a READY=1 from outside made a worker ready")
	}

	// Afterwards a worker still restarts, and one that sends garbage first
	// is made ready only by its valid READY=1.
	q := start(t, "-n", "1", "--ready", "notify", "--log-level", "debug", "--", sdworkerBin, "-garbage")
	q.waitStdout(`^garbage-sent id=0 `)
	q.waitStderr(`worker ready: id=\d+ slot=0 `)
	q.waitStderr(`ignoring a notification: .*not KEY=VALUE`)
	q.waitStderr(`ignoring a notification: .*not text`)
	q.waitStderr(`ignoring an oversized notification`)

	pid := p.waitStdout(`^sockets id=1 `).int(t, "pid")
	from := p.lineCount()
	syscall.Kill(pid, syscall.SIGKILL)
	waitLine(t, p.stdout, from, `^sockets id=1 `)
}

// TestReadyTimeoutStopsAWorkerThatNeverSaysReady, and logs it.
func TestReadyTimeoutStopsAWorkerThatNeverSaysReady(t *testing.T) {
	t.Parallel()
	p := start(t, "-n", "1", "--ready", "notify", "--ready-timeout", "300ms", "--backoff-min", "10ms", "--", sdworkerBin, "-ready", "never")
	first := p.waitStdout(`^sockets id=0 `).int(t, "pid")
	p.waitStderr(`worker not ready within 300ms: id=\d+ slot=0 pid=` + itoa(first))
	p.waitStderr(`restart scheduled: id=\d+ slot=0 delay=10ms failures=1`)
}

// TestWatchdogAbortsASilentWorker: WATCHDOG_USEC is set; a worker that
// stops sending WATCHDOG=1 gets SIGABRT, without the stop signal first, and
// is restarted as a failure.
func TestWatchdogAbortsASilentWorker(t *testing.T) {
	t.Parallel()
	p := start(t, "-n", "1", "--ready", "notify", "--watchdog", "400ms", "--backoff-min", "10ms", "--",
		sdworkerBin, "-watchdog-every", "100ms", "-watchdog-stop-after", "600ms")
	f := p.waitStdout(`^sockets id=0 `)
	if f["watchdog_usec"] != "400000" {
		t.Errorf("WATCHDOG_USEC=%s; want 400000", f["watchdog_usec"])
	}
	pid := f.int(t, "pid")
	p.waitStdout(`^watchdog-silent id=0 `)
	p.waitStderr(`watchdog expired; aborting the worker: id=\d+ slot=0 pid=` + itoa(pid))
	sig := p.waitStdout(`^signal id=0 pid=` + itoa(pid) + ` `)["sig"]
	if sig != "aborted" {
		t.Errorf("the worker's first signal was %q; want SIGABRT (aborted)", sig)
	}
	p.waitStderr(`restart scheduled: id=\d+ slot=0 delay=10ms failures=1`)
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestReadyThenExitAndStoppingThenStay: a worker that says READY=1 and
// exits at once is a crash like any other (restarted with the backoff); one
// that says STOPPING=1 and stays is SIGKILLed after --stop-timeout and
// restarted.
func TestReadyThenExitAndStoppingThenStay(t *testing.T) {
	t.Parallel()
	t.Run("ready then exit", func(t *testing.T) {
		t.Parallel()
		p := start(t, "-n", "1", "--ready", "notify", "--backoff-min", "10ms", "--", sdworkerBin, "-ready-then-exit")
		p.waitStderr(`worker ready: id=\d+ slot=0 `)
		p.waitStderr(`worker exited: id=\d+ slot=0 pid=\d+ uptime=\S+ code=0`)
		p.waitStderr(`restart scheduled: id=\d+ slot=0 delay=10ms failures=1`)
	})
	t.Run("stopping then stay", func(t *testing.T) {
		t.Parallel()
		p := start(t, "-n", "1", "--ready", "notify", "--stop-timeout", "300ms", "--min-uptime", "100ms", "--", sdworkerBin, "-stopping")
		first, _ := waitLine(t, p.stdout, 0, `^sockets id=0 `)
		pid := p.waitStdout(`^said-stopping id=0 `).int(t, "pid")
		p.waitStderr(`worker says it is stopping: id=\d+ slot=0 pid=` + itoa(pid))
		p.waitStderr(`killing the worker's process group: it outlived the stop timeout: id=\d+ slot=0 pid=` + itoa(pid))
		p.waitStderr(`worker exited: id=\d+ slot=0 pid=` + itoa(pid) + ` uptime=\S+ signal=KILL`)
		_, f := waitLine(t, p.stdout, first+1, `^sockets id=0 `)
		if f.int(t, "pid") == pid {
			t.Errorf("not restarted")
		}
	})
}
