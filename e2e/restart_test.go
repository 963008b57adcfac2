package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slotrun/slotrun/slots"
)

func TestCrashedWorkerKeepsItsSlot(t *testing.T) {
	t.Parallel()
	p := start(t, "-n", "4", "--stop-timeout", "5s", "--", workerBin, "-grandchild")
	pids := p.waitReady(0, seq(4)...)
	grandchild := p.waitStdout(`^grandchild id=2 `).int(t, "pid")

	from := p.lineCount()
	if err := syscall.Kill(pids[2], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_, f := waitLine(t, p.stdout, from, `^ready id=2 `)
	if f.int(t, "pid") == pids[2] {
		t.Fatalf("replacement has the old pid %d", pids[2])
	}
	if alive(grandchild) {
		t.Errorf("grandchild %d of the killed worker is still alive after the replacement started", grandchild)
	}
	waitLine(t, p.stderr, 0, `worker exited:.* slot=2 .*signal=KILL`)
	table := openTable(t, p.dir, 4)
	eventually(t, waitFor, "slot table names the replacement", func() bool {
		return table.Snapshot()[2].PID == f.int(t, "pid")
	})
	for id, pid := range pids {
		if id != 2 && !alive(pid) {
			t.Errorf("worker %d (pid %d) died along with worker 2", id, pid)
		}
	}
}

// startTimes returns the times of the "worker started" log lines of a slot.
func startTimes(t *testing.T, stderr string, slot int) []time.Time {
	t.Helper()
	rx := regexp.MustCompile(fmt.Sprintf(`^(\S+) \[INFO\]\s+slotrun\.slot-%d: worker started:`, slot))
	var times []time.Time
	for _, line := range strings.Split(stderr, "\n") {
		if m := rx.FindStringSubmatch(line); m != nil {
			ts, err := time.Parse("2006-01-02T15:04:05.000Z0700", m[1])
			if err != nil {
				t.Fatalf("log time %q: %v", m[1], err)
			}
			times = append(times, ts)
		}
	}
	return times
}

func TestQuickFailuresBackOffExponentiallyUpToTheCap(t *testing.T) {
	t.Parallel()
	p := start(t, "-n", "1", "--backoff-min", "50ms", "--backoff-max", "200ms", "--min-uptime", "5s",
		"--max-restarts", "5", "--restart-window", "1m", "--", workerBin, "-exit", "3")
	if code := p.wait(); code != 3 {
		t.Errorf("exit code %d after giving up; want the worker's 3", code)
	}
	var delays []string
	for _, m := range regexp.MustCompile(`restart scheduled: .*delay=(\S+)`).FindAllStringSubmatch(p.stderr.text(), -1) {
		delays = append(delays, m[1])
	}
	want := []string{"50ms", "100ms", "200ms", "200ms", "200ms"}
	if strings.Join(delays, " ") != strings.Join(want, " ") {
		t.Errorf("backoff delays %v; want %v", delays, want)
	}
	// Each restart waited at least its delay (an upper bound would be a
	// timing assertion; the delays themselves are checked above).
	starts := startTimes(t, p.stderr.text(), 0)
	if len(starts) != len(want)+1 {
		t.Fatalf("%d starts; want %d", len(starts), len(want)+1)
	}
	for i, d := range want {
		wait, _ := time.ParseDuration(d)
		// Log times have millisecond precision.
		if gap := starts[i+1].Sub(starts[i]); gap < wait-time.Millisecond {
			t.Errorf("restart %d came %v after the previous start; want at least %v", i+1, gap, wait)
		}
	}
}

func TestWorkerUpForMinUptimeRestartsAtOnce(t *testing.T) {
	t.Parallel()
	p := start(t, "-n", "1", "--min-uptime", "100ms", "--backoff-min", "10s", "--",
		workerBin, "-exit-after", "150ms", "-code", "1")
	first := p.waitReady(0, 0)[0]
	_, again := waitLine(t, p.stdout, 1, `^ready id=0 `)
	if again.int(t, "pid") == first {
		t.Errorf("no new worker")
	}
	// Restarted at once, not after --backoff-min: the exit line, then the
	// start line with the restart count, and no "restart scheduled" line
	// in between.
	i, exited := waitLine(t, p.stderr, 0, `worker exited:`)
	_, started := waitLine(t, p.stderr, i+1, `worker started:`)
	if exited.int(t, "pid") != first || started.int(t, "pid") != again.int(t, "pid") || started["restarts"] != "1" {
		t.Errorf("exit of pid %s then start of pid %s with restarts=%s; want %d, %d and 1",
			exited["pid"], started["pid"], started["restarts"], first, again.int(t, "pid"))
	}
	if strings.Contains(p.stderr.text(), "restart scheduled") {
		t.Errorf("a restart at once logged a restart scheduled line:\n%s", p.stderr.text())
	}
}

func TestMaxRestartsGivesUpWithTheWorkersCode(t *testing.T) {
	t.Parallel()
	p := start(t, "-n", "2", "--max-restarts", "3", "--restart-window", "1m", "--backoff-min", "1ms", "--backoff-max", "1ms",
		"--", "/bin/sh", "-c", `echo "ready id=$COMET_PROCESS_ID"; [ "$COMET_PROCESS_ID" = 1 ] && exit 7; exec sleep 60`)
	if code := p.wait(); code != 7 {
		t.Errorf("exit code %d; want the failing worker's 7", code)
	}
	if n := strings.Count(p.stdout.text(), "ready id=1"); n != 4 {
		t.Errorf("slot 1 started %d times; want 1 + 3 restarts", n)
	}
	if !regexp.MustCompile(`giving up.*max_restarts=3`).MatchString(p.stderr.text()) {
		t.Errorf("no log line naming the rule that gave up")
	}
	if _, err := os.Stat(filepath.Join(p.dir, ".pid", "slotrun.pid")); !os.IsNotExist(err) {
		t.Errorf("pid file left behind after giving up: %v", err)
	}
}

func TestGiveUpAfterCleanExitsExitsOne(t *testing.T) {
	t.Parallel()
	code, _, _ := runOnce(t, t.TempDir(), "-n", "1", "--max-restarts", "2", "--backoff-min", "1ms", "--backoff-max", "1ms",
		"--", workerBin, "-exit", "0")
	if code != 1 {
		t.Errorf("exit code %d; want 1 when the last exit was 0", code)
	}
}

func TestRestartNeverExitsWithTheWorkersStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		worker []string
		want   int
	}{
		{"code", []string{"-exit", "42"}, 42},
		{"killed", []string{"-kill-self"}, 128 + 9},
		{"clean", []string{"-exit", "0"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"-n", "1", "--restart", "never", "--", workerBin}, tt.worker...)
			if code, _, _ := runOnce(t, t.TempDir(), args...); code != tt.want {
				t.Errorf("exit code %d; want %d", code, tt.want)
			}
		})
	}
}

func TestRestartNeverReportsTheFirstFailure(t *testing.T) {
	t.Parallel()
	code, _, _ := runOnce(t, t.TempDir(), "-n", "3", "--restart", "never", "--",
		"/bin/sh", "-c", `[ "$COMET_PROCESS_ID" = 1 ] && exit 9; exit 0`)
	if code != 9 {
		t.Errorf("exit code %d; want 9, the only failing worker's", code)
	}
}

func TestOnFailureRestartsOnlyFailures(t *testing.T) {
	t.Parallel()
	// Slot 0 fails once, then succeeds; slot 1 succeeds at once.
	dir := t.TempDir()
	marker := filepath.Join(dir, "failed-once")
	script := fmt.Sprintf(`echo "ready id=$COMET_PROCESS_ID"; if [ "$COMET_PROCESS_ID" = 0 ] && [ ! -e %s ]; then touch %s; exit 5; fi; exit 0`, marker, marker)
	code, stdout, _ := runOnce(t, dir, "-n", "2", "--restart", "on-failure", "--backoff-min", "1ms", "--", "/bin/sh", "-c", script)
	if code != 0 {
		t.Errorf("exit code %d; want 0 once every slot ended cleanly", code)
	}
	if n := strings.Count(stdout, "ready id=0"); n != 2 {
		t.Errorf("slot 0 started %d times; want 2 (one restart after its failure)", n)
	}
	if n := strings.Count(stdout, "ready id=1"); n != 1 {
		t.Errorf("slot 1 started %d times; want 1 (exit 0 ends the slot)", n)
	}
}

func TestALargerLeftoverTableDoesNotWidenTheIDSpace(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// An earlier run, or another supervisor, left a table of 6 slots.
	table, err := slots.Open(filepath.Join(dir, ".pid", "slotrun.slots"), 6)
	if err != nil {
		t.Fatal(err)
	}
	table.Close()

	p := startIn(t, dir, "-n", "2", "--", workerBin)
	for id := range 2 {
		if f := p.waitStdout(fmt.Sprintf(`^ready id=%d `, id)); f["count"] != "2" {
			t.Errorf("worker %d: COMET_PROCESS_COUNT=%s; want 2, the --slots default, whatever the file's size", id, f["count"])
		}
	}
	p.signal(syscall.SIGTTIN)
	p.waitStderr(`scale-up: no free slot`)
	if strings.Contains(p.stdout.text(), "ready id=2") {
		t.Errorf("scale-up went past --slots into the file's extra slots")
	}
}

func TestExecFailureAtStartExitsLikeAShell(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
		return path
	}
	tests := []struct {
		name, content string
		code          int
		message       string
	}{
		{"bad-interpreter.sh", "#!/nonexistent/interpreter\necho hi\n", 127, "the interpreter on its #! line was not found"},
		{"no-shebang.sh", "echo hi\n", 126, "a script needs a #! line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := write(tt.name, tt.content)
			run := t.TempDir()
			// A restart loop would never end: --backoff-min 1ms makes
			// one show as a hang rather than a slow pass.
			code, stdout, stderr := runOnce(t, run, "-n", "2", "--backoff-min", "1ms", "--", path)
			if code != tt.code {
				t.Errorf("exit code %d; want %d", code, tt.code)
			}
			if !strings.Contains(stderr, "slotrun: "+path+": cannot run it: ") || !strings.Contains(stderr, tt.message) {
				t.Errorf("stderr does not say why:\n%s", stderr)
			}
			if stdout != "" {
				t.Errorf("stdout %q; want nothing", stdout)
			}
			if _, err := os.Stat(filepath.Join(run, ".pid", "slotrun.pid")); !os.IsNotExist(err) {
				t.Errorf("pid file left behind: %v", err)
			}
		})
	}
}

func TestWorkerUsingGetProcessIDKeepsItsAssignedSlot(t *testing.T) {
	t.Parallel()
	// The same worker code runs with and without slotrun: under slotrun,
	// GetProcessID returns COMET_PROCESS_ID, and ReleaseProcessID leaves
	// the slot to the supervisor, which keeps it across the restart.
	p := start(t, "-n", "3", "--log-level", "debug", "--", workerBin, "-getid", ".pid/slotrun.slots")
	for id := range 3 {
		f := p.waitStdout(fmt.Sprintf(`^getid id=%d `, id))
		if f["got"] != f["id"] || f["err"] != "<nil>" {
			t.Errorf("worker %d: GetProcessID = %s, %s; want its COMET_PROCESS_ID", id, f["got"], f["err"])
		}
	}
	p.signal(syscall.SIGTERM)
	if code := p.wait(); code != 0 {
		t.Errorf("exit code %d; want 0", code)
	}
	p.waitEOF()
	if log := p.stderr.text(); strings.Contains(log, "another process took the slot") || strings.Contains(log, "cannot release") {
		t.Errorf("the workers' ReleaseProcessID disturbed the supervisor:\n%s", log)
	}
}
