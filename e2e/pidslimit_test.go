package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// pidsCgroup makes a cgroup with the pids controller for one test and
// removes it (killing what is left in it) when the test ends. The tests run
// as root on Linux; a machine without the pids controller cannot run them.
func pidsCgroup(t *testing.T) string {
	t.Helper()
	root := "/sys/fs/cgroup/pids" // cgroup v1
	if _, err := os.Stat(filepath.Join(root, "cgroup.procs")); err != nil {
		root = "/sys/fs/cgroup" // cgroup v2, with pids among its controllers
		if c, err := os.ReadFile(filepath.Join(root, "cgroup.controllers")); err != nil || !strings.Contains(string(c), "pids") {
			t.Skip("no pids cgroup controller on this machine")
		}
	}
	dir := filepath.Join(root, fmt.Sprintf("slotrun-e2e-%d-%s", os.Getpid(), strings.ReplaceAll(t.Name(), "/", "-")))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatalf("make a pids cgroup (run the tests as root): %v", err)
	}
	t.Cleanup(func() {
		writeCgroup(t, dir, "pids.max", "max")
		eventually(t, waitFor, "the test cgroup empties", func() bool {
			procs, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
			for _, f := range strings.Fields(string(procs)) {
				if pid, err := strconv.Atoi(f); err == nil {
					syscall.Kill(pid, syscall.SIGKILL)
				}
			}
			return len(strings.TrimSpace(string(procs))) == 0
		})
		os.Remove(dir)
	})
	return dir
}

func writeCgroup(t *testing.T, dir, file, value string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, file), []byte(value), 0o644); err != nil {
		t.Fatalf("cgroup %s = %s: %v", file, value, err)
	}
}

func cgroupPIDs(t *testing.T, dir string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "pids.current"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// startInCgroup runs slotrun with args inside cgroup dir, from its first
// instruction on.
func startInCgroup(t *testing.T, dir string, args ...string) *proc {
	t.Helper()
	script := `echo $$ > "$1/cgroup.procs" && shift && exec "$@"`
	cmd := exec.Command("/bin/sh", append([]string{"-c", script, "sh", dir, slotrunBin}, args...)...)
	return startCmd(t, t.TempDir(), cmd, true)
}

// A fork that fails for want of a resource (EAGAIN under a pids limit) is a
// failed start to be retried with the backoff, not a program that "cannot
// be run" (126): slotrun keeps the workers it could start and starts the
// others once the limit allows.
func TestForkFailingForAPidsLimitIsRetried(t *testing.T) {
	cg := pidsCgroup(t)
	// How many tasks slotrun itself takes under a limit (it keeps spare
	// threads then): one run with one worker.
	writeCgroup(t, cg, "pids.max", "1000")
	probe := startInCgroup(t, cg, "-n", "1", "--", "/bin/sleep", "1000")
	probe.waitStderr(`worker started:.*slot=0`)
	own := cgroupPIDs(t, cg) - 1
	probe.signal(syscall.SIGTERM)
	if code := probe.wait(); code != 0 {
		t.Fatalf("probe run exited %d", code)
	}

	// Room for slotrun and a few of its sixteen workers.
	writeCgroup(t, cg, "pids.max", strconv.Itoa(own+2))
	p := startInCgroup(t, cg, "-n", "16", "--backoff-max", "200ms", "--", "/bin/sleep", "1000")
	p.waitStderr(`cannot start the worker.*resource temporarily unavailable`)
	select {
	case <-p.exited:
		t.Fatalf("slotrun exited %d when a fork failed with EAGAIN; want it to retry", p.state.ExitCode())
	default:
	}
	writeCgroup(t, cg, "pids.max", "max")
	for slot := range 16 {
		p.waitStderr(fmt.Sprintf(`worker started:.*slot=%d `, slot))
	}
	p.signal(syscall.SIGTERM)
	if code := p.wait(); code != 0 {
		t.Errorf("exit code %d after TERM; want 0", code)
	}
}

// Giving up after forks that failed with EAGAIN exits 1, slotrun's own
// runtime failure, not 126.
func TestGiveUpAfterForkFailuresExitsOne(t *testing.T) {
	cg := pidsCgroup(t)
	// A limit from the start, as a container has: slotrun sees it and keeps
	// spare threads, which the tighter limit below would not let it make.
	writeCgroup(t, cg, "pids.max", "1000")
	p := startInCgroup(t, cg, "-n", "1", "--max-restarts", "1", "--backoff-min", "10ms", "--", "/bin/sleep", "1000")
	f := p.waitStderr(`worker started:.*slot=0`)
	writeCgroup(t, cg, "pids.max", strconv.Itoa(cgroupPIDs(t, cg)-1))
	if err := syscall.Kill(f.int(t, "pid"), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(); code != 1 {
		t.Errorf("exit code %d after giving up on EAGAIN; want 1", code)
	}
	p.waitStderr(`giving up`)
}
