package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func TestStopSignalStopsEverythingCleanly(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			p := start(t, "-n", "4", "--", workerBin, "-grandchild")
			pids := p.waitReady(0, seq(4)...)
			var grandchildren []int
			for id := range 4 {
				grandchildren = append(grandchildren, p.waitStdout(fmt.Sprintf(`^grandchild id=%d `, id)).int(t, "pid"))
			}
			p.signal(sig)
			if code := p.wait(); code != 0 {
				t.Errorf("exit code %d; want 0", code)
			}
			for id := range 4 {
				p.waitStdout(fmt.Sprintf(`^signal id=%d .*sig=TERM`, id))
			}
			for id, pid := range pids {
				if alive(pid) {
					t.Errorf("worker %d (pid %d) still alive", id, pid)
				}
			}
			for _, pid := range grandchildren {
				if alive(pid) {
					t.Errorf("grandchild %d still alive: the stop signal must reach the process group", pid)
				}
			}
			if _, err := os.Stat(filepath.Join(p.dir, ".pid", "slotrun.pid")); !os.IsNotExist(err) {
				t.Errorf("pid file left behind: %v", err)
			}
			for _, h := range openTable(t, p.dir, 4).Snapshot() {
				if h.PID != 0 {
					t.Errorf("slot %d still held by %d", h.Slot, h.PID)
				}
			}
		})
	}
}

func TestStopTimeoutKillsStubbornWorkersAndExitsOne(t *testing.T) {
	t.Parallel()
	p := start(t, "-n", "2", "--stop-timeout", "300ms", "--", workerBin, "-ignore-term")
	pids := p.waitReady(0, 0, 1)
	p.signal(syscall.SIGTERM)
	if code := p.wait(); code != 1 {
		t.Errorf("exit code %d; want 1 when a worker had to be killed", code)
	}
	p.waitEOF()
	for id, pid := range pids {
		if alive(pid) {
			t.Errorf("worker %d (pid %d) survived the stop", id, pid)
		}
	}
	if !regexp.MustCompile(`killing the worker's process group`).MatchString(p.stderr.text()) {
		t.Errorf("no log line about the forced kill")
	}
}

func TestSecondStopSignalKillsAtOnce(t *testing.T) {
	t.Parallel()
	// A stop timeout far beyond the test's wait: only the second TERM can
	// end this in time.
	p := start(t, "-n", "2", "--stop-timeout", "10m", "--", workerBin, "-ignore-term")
	p.waitReady(0, 0, 1)
	p.signal(syscall.SIGTERM)
	p.waitStderr(`stopping:`)
	p.signal(syscall.SIGTERM)
	if code := p.wait(); code != 1 {
		t.Errorf("exit code %d; want 1 (workers were killed)", code)
	}
}

func TestStopDuringBackoffExitsZero(t *testing.T) {
	t.Parallel()
	p := start(t, "-n", "1", "--backoff-min", "10m", "--backoff-max", "10m", "--", workerBin, "-exit", "1")
	p.waitStderr(`restart scheduled:.*delay=10m`)
	p.signal(syscall.SIGTERM)
	if code := p.wait(); code != 0 {
		t.Errorf("exit code %d; want 0 for a requested stop", code)
	}
}

func TestStopEndsWhenTheGroupEndsUnseen(t *testing.T) {
	t.Parallel()
	// The worker leaves a process in its group whose parent is outside the
	// group: its end reaches slotrun as no SIGCHLD. slotrun must notice the
	// empty group by itself, long before this stop timeout.
	p := start(t, "-n", "1", "--stop-timeout", "10m", "--", workerBin, "-stray")
	p.waitReady(0, 0)
	stray := p.waitStdout(`^stray `).int(t, "pid")
	p.waitStdout(`^sleeper pid=` + strconv.Itoa(stray) + ` `) // its TERM handler is in place
	p.signal(syscall.SIGTERM)
	if code := p.wait(); code != 0 {
		t.Errorf("exit code %d; want 0: nothing had to be killed", code)
	}
	if alive(stray) {
		t.Errorf("the stray process %d outlived the stop", stray)
	}
	// The stray's parent left the group and lives on, holding stdout open:
	// read stderr to its last line, not to its end.
	p.waitStderr(`stopped:`)
	if strings.Contains(p.stderr.text(), "killing") {
		t.Errorf("slotrun killed something, or tried to:\n%s", p.stderr.text())
	}
}

func TestStopSignalIsNotLostInACrashStorm(t *testing.T) {
	t.Parallel()
	// 16 workers exiting and restarting as fast as they can: a flood of
	// SIGCHLD. A TERM sent in the middle of it must still stop slotrun.
	p := start(t, "-n", "16", "--min-uptime", "0s", "--", "/bin/true")
	from := 0
	for range 300 {
		i, _ := waitLine(t, p.stderr, from, `worker started:`)
		from = i + 1
	}
	p.signal(syscall.SIGTERM)
	if code := p.wait(); code != 0 {
		t.Errorf("exit code %d; want 0", code)
	}
}
