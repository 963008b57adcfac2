package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// Copy 2 of 3 with 4 slots: its workers get ids 8..11 of 12, through a
// crash and scaling, and GetProcessID returns the same id; the slot table
// stays this host's, with 4 slots.
func TestOrdinalAndReplicasGiveGlobalIDs(t *testing.T) {
	t.Parallel()
	p := start(t, "--ordinal", "2", "--replicas", "3", "--slots", "4", "-n", "2",
		"--backoff-min", "1ms", "--", workerBin, "-getid", ".pid/slotrun.slots")
	pids := p.waitReady(0, 8, 9)
	for id := 8; id <= 9; id++ {
		f := p.waitStdout(fmt.Sprintf(`^ready id=%d `, id))
		if f["count"] != "12" {
			t.Errorf("worker %d: COMET_PROCESS_COUNT=%s; want 12", id, f["count"])
		}
		if g := p.waitStdout(fmt.Sprintf(`^getid id=%d `, id)); g["got"] != g["id"] || g["err"] != "<nil>" {
			t.Errorf("worker %d: GetProcessID = %s, %s; want its id %d", id, g["got"], g["err"], id)
		}
		p.waitStderr(fmt.Sprintf(`worker started:.*\bid=%d .*slot=%d `, id, id-8))
	}
	p.waitStderr(`starting:.* ordinal=2 replicas=3 ids="8-11 of 12"`)
	table := openTable(t, p.dir, 4)

	// A crash: the same id comes back.
	from := p.lineCount()
	if err := syscall.Kill(pids[9], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.waitStderr(`worker exited:.*\bid=9 .*slot=1 .*signal=KILL`)
	again := p.waitReady(from, 9)
	if again[9] == pids[9] {
		t.Errorf("id 9 ready again with the old pid %d", pids[9])
	}

	// Scaling up fills slots 2 and 3: ids 10 and 11, still of 12.
	from = p.lineCount()
	// (One at a time: the kernel merges a signal sent while the same one is pending.)
	p.signal(syscall.SIGTTIN)
	p.waitReady(from, 10)
	p.signal(syscall.SIGTTIN)
	p.waitReady(from, 11)
	if f := p.waitStdout(`^ready id=11 `); f["count"] != "12" {
		t.Errorf("scaled-up worker: COMET_PROCESS_COUNT=%s; want 12", f["count"])
	}
	for _, h := range table.Snapshot() {
		if !h.Alive {
			t.Errorf("slot %d of this host's table is not held after scaling to 4", h.Slot)
		}
	}
	p.signal(syscall.SIGTERM)
	if code := p.wait(); code != 0 {
		t.Errorf("exit code %d after TERM; want 0", code)
	}
}

// Three copies, as three pods would run them, each with its own directory
// and slot table: together their workers hold every id 0..11 once, and
// each is told the count 12.
func TestReplicasTogetherCoverTheIDSpaceOnce(t *testing.T) {
	t.Parallel()
	seen := map[int]int{} // id -> pid
	for k := range 3 {
		p := start(t, "--ordinal", fmt.Sprint(k), "--replicas", "3", "-n", "4", "--", workerBin)
		for id, pid := range p.waitReady(0, 4*k, 4*k+1, 4*k+2, 4*k+3) {
			if other, dup := seen[id]; dup {
				t.Errorf("id %d held by pid %d and pid %d", id, other, pid)
			}
			seen[id] = pid
			if f := p.waitStdout(fmt.Sprintf(`^ready id=%d `, id)); f["count"] != "12" {
				t.Errorf("id %d: COMET_PROCESS_COUNT=%s; want 12", id, f["count"])
			}
		}
		openTable(t, p.dir, 4) // each copy's table has its own 4 slots
	}
	if len(seen) != 12 {
		t.Errorf("%d distinct ids; want 12", len(seen))
	}
}

// onHost returns argv that runs slotrun with args in a UTS namespace of
// its own whose host name is host, as a StatefulSet pod's is. The test is
// skipped where such a namespace cannot be made.
func onHost(t *testing.T, host string, args ...string) []string {
	t.Helper()
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("unshare is not installed")
	}
	probe := exec.Command(unshare, "--uts", "hostname", "probe-0")
	if out, err := probe.CombinedOutput(); err != nil {
		t.Skipf("cannot make a UTS namespace and name its host here: %v: %s", err, out)
	}
	return append([]string{unshare, "--uts", "/bin/sh", "-c", `hostname "$0" && exec "$@"`, host, slotrunBin}, args...)
}

func TestOrdinalAutoReadsTheStatefulSetPodName(t *testing.T) {
	t.Parallel()
	argv := onHost(t, "web-5", "--ordinal", "auto", "--replicas", "8", "-n", "2", "--", workerBin)
	p := startCmd(t, t.TempDir(), exec.Command(argv[0], argv[1:]...), true)
	p.waitReady(0, 10, 11)
	if f := p.waitStdout(`^ready id=11 `); f["count"] != "16" {
		t.Errorf("COMET_PROCESS_COUNT=%s; want 16 (8 replicas of 2 slots)", f["count"])
	}
	p.waitStderr(`starting:.* ordinal=5 replicas=8 ids="10-11 of 16"`)
	// unshare without --fork, and sh, exec: the process started is slotrun.
	p.signal(syscall.SIGTERM)
	if code := p.wait(); code != 0 {
		t.Errorf("exit code %d after TERM; want 0", code)
	}
}

// Bad ordinals and replicas: exit 2, one line naming the value, nothing
// started and no file made.
func TestBadOrdinalsAreRefused(t *testing.T) {
	t.Parallel()
	w := workerBin
	for _, tc := range []struct {
		name  string
		args  []string
		names []string
	}{
		{"ordinal not below replicas", []string{"--ordinal", "3", "--replicas", "3", "--", w}, []string{"--ordinal 3", "--replicas 3"}},
		{"ordinal without replicas", []string{"--ordinal", "1", "--", w}, []string{"--ordinal 1", "--replicas 1 (the default)"}},
		{"negative ordinal", []string{"--ordinal", "-1", "--replicas", "3", "--", w}, []string{"--ordinal", "-1"}},
		{"ordinal not a number", []string{"--ordinal", "first", "--replicas", "3", "--", w}, []string{"--ordinal", `"first"`, "auto"}},
		{"zero replicas", []string{"--replicas", "0", "--", w}, []string{"--replicas", "0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			checkRefusal(t, 2, tc.names, tc.args...)
		})
	}
}

func TestOrdinalAutoWithoutATrailingNumberIsRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		host  string
		names []string
	}{
		{"web", []string{"--ordinal auto", `host name "web"`, "-N"}},
		{"web-7", []string{"--ordinal auto", `"web-7", ordinal 7`, "--replicas 3"}},
	} {
		t.Run(tc.host, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			argv := onHost(t, tc.host, "--ordinal", "auto", "--replicas", "3", "--", workerBin)
			p := startCmd(t, dir, exec.Command(argv[0], argv[1:]...), true)
			if code := p.wait(); code != 2 {
				t.Errorf("exit code %d; want 2", code)
			}
			p.waitEOF()
			stderr := strings.TrimSuffix(p.stderr.text(), "\n")
			if strings.Count(stderr, "\n") != 0 || !strings.HasPrefix(stderr, "slotrun: ") {
				t.Errorf("stderr %q; want one line starting `slotrun: `", stderr)
			}
			checkNames(t, stderr, tc.names)
			if p.stdout.text() != "" {
				t.Errorf("stdout %q; want nothing", p.stdout.text())
			}
			if _, err := os.Stat(filepath.Join(dir, ".pid")); !os.IsNotExist(err) {
				t.Errorf(".pid made before the refusal: %v", err)
			}
		})
	}
}
