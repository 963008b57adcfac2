package e2e

import (
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestAsPID1SlotrunReapsOrphans(t *testing.T) {
	t.Parallel()
	p, slotrun := startAsPID1(t, "-n", "2", "--", workerBin, "-orphan", "-orphan-life", "200ms")
	p.waitReady(0, 0, 1)
	// Each worker leaves one orphan behind; slotrun, the namespace's init,
	// inherits it. The pids they print are the namespace's.
	i, first := waitLine(t, p.stdout, 0, `^sleeper `)
	_, second := waitLine(t, p.stdout, i+1, `^sleeper `)
	orphans := map[int]bool{first.int(t, "pid"): true, second.int(t, "pid"): true}

	var left []nsProcess
	defer func() {
		if t.Failed() {
			t.Logf("processes under slotrun (host pid %d) at the end: %v", slotrun, left)
		}
	}()
	eventually(t, waitFor, "orphans ended and reaped, no zombie in the namespace", func() bool {
		left = descendants(slotrun)
		for _, q := range left {
			if q.State == 'Z' || orphans[q.NSPid] {
				return false
			}
		}
		return true
	})

	if err := unix.Kill(slotrun, unix.SIGTERM); err != nil {
		t.Fatalf("TERM to slotrun as PID 1: %v", err)
	}
	if code := p.wait(); code != 0 {
		t.Errorf("slotrun as PID 1 exited %d after TERM; want 0", code)
	}
	p.waitEOF()
	if got := linesMatching(p.stderr, 0, math.MaxInt, `worker exited.* code=0`); len(got) != 2 {
		t.Errorf("%d workers logged as exiting with code 0: %q; want both", len(got), got)
	}
}

func TestOrphansOfWorkersAreAdoptedAndReaped(t *testing.T) {
	t.Parallel()
	p := start(t, "-n", "1", "--", workerBin, "-orphan")
	orphan := p.waitStdout(`^sleeper `).int(t, "pid")

	var parent int
	eventually(t, waitFor, fmt.Sprintf("orphan %d re-parented to slotrun %d (a child subreaper)", orphan, p.pid()), func() bool {
		_, parent, _ = procStat(orphan)
		return parent == p.pid()
	})

	if err := unix.Kill(orphan, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var state byte
	defer func() {
		if t.Failed() {
			t.Logf("orphan %d last seen in state %q", orphan, state)
		}
	}()
	eventually(t, waitFor, fmt.Sprintf("killed orphan %d reaped by slotrun (its /proc entry gone)", orphan), func() bool {
		var ok bool
		state, _, ok = procStat(orphan)
		return !ok
	})
}

// startAsPID1 runs slotrun as the init of a new PID namespace and returns
// the unshare process (its exit code is slotrun's) and slotrun's pid as
// seen from here. The test is skipped where namespaces cannot be made.
//
// The workers print their namespace's pids, which name unrelated processes
// here and must not be killed at cleanup. Killing unshare kills slotrun
// (--kill-child), and with it the whole namespace.
func startAsPID1(t *testing.T, args ...string) (*proc, int) {
	t.Helper()
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("unshare is not installed")
	}
	cmd := exec.Command(unshare, append([]string{"--pid", "--fork", "--mount-proc", "--kill-child", slotrunBin}, args...)...)
	p := startCmd(t, t.TempDir(), cmd, false)

	var slotrun int
	deadline := time.After(waitFor)
	for slotrun == 0 {
		select {
		case <-p.exited:
			p.waitEOF()
			if strings.Contains(p.stderr.text(), "Operation not permitted") {
				t.Skipf("cannot make a PID namespace here: %s", p.stderr.text())
			}
			t.Fatalf("unshare exited %d before slotrun started", p.state.ExitCode())
		case <-deadline:
			t.Fatalf("unshare has no child within %s", waitFor)
		case <-time.After(5 * time.Millisecond):
		}
		if kids := childrenOf(cmd.Process.Pid); len(kids) > 0 {
			slotrun = kids[0]
		}
	}
	return p, slotrun
}

// nsProcess is a process seen from the host: its host pid, its pid in the
// innermost namespace it belongs to, and its state letter.
type nsProcess struct {
	PID, NSPid int
	State      byte
}

func (q nsProcess) String() string {
	return fmt.Sprintf("pid %d (%d in its namespace) state %c", q.PID, q.NSPid, q.State)
}

// descendants lists every process below root, found by following the parent
// links of /proc/*/stat.
func descendants(root int) []nsProcess {
	children := parentLinks()
	var found []nsProcess
	queue := []int{root}
	for len(queue) > 0 {
		for _, pid := range children[queue[0]] {
			state, _, ok := procStat(pid)
			if ok {
				found = append(found, nsProcess{PID: pid, NSPid: innermostPID(pid), State: state})
			}
			queue = append(queue, pid)
		}
		queue = queue[1:]
	}
	return found
}

func childrenOf(pid int) []int { return parentLinks()[pid] }

// parentLinks maps every pid in /proc to its children.
func parentLinks() map[int][]int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if _, ppid, ok := procStat(pid); ok {
			children[ppid] = append(children[ppid], pid)
		}
	}
	return children
}

// innermostPID reads the last pid of the NSpid line of /proc/PID/status:
// the process's pid in its own namespace. 0 if unknown.
func innermostPID(pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "NSpid:"); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				return 0
			}
			n, _ := strconv.Atoi(f[len(f)-1])
			return n
		}
	}
	return 0
}

func TestSignalFromAnotherPIDNamespaceIsRefused(t *testing.T) {
	t.Parallel()
	// slotrun as a container's PID 1: its PID file says 1. From the host,
	// or from a sidecar in a sibling PID namespace sharing the volume, pid
	// 1 is another process, which must never get the signal.
	p, _ := startAsPID1(t, "-n", "1", "--", workerBin)
	p.waitReady(0, 0)
	tests := []struct {
		name   string
		argv   []string
		reason string
	}{
		{"host", []string{slotrunBin, "signal", "HUP"}, "a process in another PID namespace"},
		{"sibling", []string{"unshare", "--pid", "--fork", "--mount-proc", slotrunBin, "signal", "HUP"}, "cannot see"},
	}
	for _, tt := range tests {
		cmd := exec.Command(tt.argv[0], tt.argv[1:]...)
		cmd.Dir = p.dir
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 {
			t.Errorf("%s: slotrun signal: %v; want exit 1\n%s", tt.name, err, out)
		}
		if !strings.Contains(string(out), tt.reason) {
			t.Errorf("%s: slotrun signal said %q; want it to say the holder is %s", tt.name, out, tt.reason)
		}
	}
	if strings.Contains(p.stderr.text(), "signal received") || strings.Contains(p.stdout.text(), "sig=HUP") {
		t.Errorf("the HUP reached slotrun or its worker")
	}
}
