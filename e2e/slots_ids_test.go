package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/slotrun/slotrun/slots"
)

// The tests of this file run slotrun with testdata/slotuser, a program that
// takes ids with slots.GetProcessID and reports an "overlap" line when it
// gets an id that a live process still uses (see its doc comment).

var slotuser struct {
	once sync.Once
	bin  string
	err  error
}

// slotuserBin builds testdata/slotuser once, beside the other binaries, and
// kills what is left of this test's slotusers when the test ends.
func slotuserBin(t *testing.T) string {
	t.Helper()
	slotuser.once.Do(func() {
		slotuser.bin = filepath.Join(filepath.Dir(workerBin), "slotuser")
		cmd := exec.Command("go", "build", "-o", slotuser.bin, "./testdata/slotuser")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			slotuser.err = fmt.Errorf("build testdata/slotuser: %v\n%s", err, out)
		}
	})
	if slotuser.err != nil {
		t.Fatal(slotuser.err)
	}
	// Registered before slotrun starts, so it runs after slotrun's cleanup:
	// children that outlived their worker, and racers, go too. Only this
	// test's: the tests run in parallel, and another's workers killed
	// would come back as a second generation with the same ids.
	t.Cleanup(func() { killRunning(slotuser.bin, t.Name()) })
	return slotuser.bin
}

// testDirOf matches the temporary directories of test name in a command
// line: t.TempDir() is /tmp/NAME followed by digits.
func testDirOf(name string) *regexp.Regexp {
	return regexp.MustCompile(`/` + regexp.QuoteMeta(name) + `\d`)
}

// killRunning kills every process that runs the binary at path with a
// temporary directory of test name among its arguments, one by one.
func killRunning(path, name string) {
	mine := testDirOf(name)
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		if exe, _ := os.Readlink("/proc/" + p.Name() + "/exe"); exe != path {
			continue
		}
		if cmdline, _ := os.ReadFile("/proc/" + p.Name() + "/cmdline"); mine.Match(cmdline) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// idLines returns the fields of the "getid" lines in o, by pid.
func idLines(o *output) map[int]fields {
	lines, _, _ := o.snapshot()
	byPID := map[int]fields{}
	for _, l := range lines {
		if strings.HasPrefix(l, "getid ") {
			f := parseFields(l)
			pid, _ := strconv.Atoi(f["pid"])
			byPID[pid] = f
		}
	}
	return byPID
}

// waitIDLines waits until o has n "getid" lines from processes other than
// those in seen, and returns them.
func waitIDLines(t *testing.T, o *output, n int, seen map[int]fields) map[int]fields {
	t.Helper()
	var got map[int]fields
	eventually(t, waitFor, fmt.Sprintf("%d processes report an id", n), func() bool {
		got = map[int]fields{}
		for pid, f := range idLines(o) {
			if _, old := seen[pid]; !old {
				got[pid] = f
			}
		}
		return len(got) >= n
	})
	return got
}

// noOverlaps fails the test for every "overlap" or "error" line in o.
func noOverlaps(t *testing.T, who string, o *output) {
	t.Helper()
	for _, l := range strings.Split(o.text(), "\n") {
		if strings.HasPrefix(l, "overlap ") || strings.HasPrefix(l, "error ") {
			t.Errorf("%s: %s", who, l)
		}
	}
}

// TestChildrenOfAWorkerGetIDsOfTheirOwn: a worker that took its id with
// GetProcessID starts four children that ask for ids too (a prefork
// server): each gets a free slot of its own, none the worker's.
func TestChildrenOfAWorkerGetIDsOfTheirOwn(t *testing.T) {
	t.Parallel()
	bin := slotuserBin(t)
	dir := t.TempDir()
	table, locks := filepath.Join(dir, "ids.slots"), t.TempDir()
	p := startIn(t, dir, "-n", "1", "--slots", "8", "--slots-file", table, "--",
		bin, "-table", table, "-locks", locks, "-getid", "-children", "4")
	ids := waitIDLines(t, p.stdout, 5, nil)
	seen := map[string]int{}
	for pid, f := range ids {
		if other, dup := seen[f["id"]]; dup {
			t.Errorf("pids %d and %d both got id %s", other, pid, f["id"])
		}
		seen[f["id"]] = pid
		worker := f["ppid"] == strconv.Itoa(p.pid())
		if worker != (f["id"] == "0") {
			t.Errorf("pid %d (parent %s) got id %s; want 0 for the worker only", pid, f["ppid"], f["id"])
		}
	}
	noOverlaps(t, "slotrun's workers", p.stdout)
	p.signal(syscall.SIGTERM)
	if code := p.wait(); code != 0 {
		t.Errorf("exit code %d after TERM; want 0", code)
	}
}

// TestFirstChildOfAWorkerThatTakesNoIDGetsItsID: a worker that does not use
// its id itself (a prefork parent, a wrapper) passes it to the first of its
// children that asks; the others get free slots. When the worker dies,
// slotrun stops the children and starts a new worker in the same slot: it
// neither gives the id away while a child holds it nor waits for ever.
func TestFirstChildOfAWorkerThatTakesNoIDGetsItsID(t *testing.T) {
	t.Parallel()
	bin := slotuserBin(t)
	dir := t.TempDir()
	table, locks := filepath.Join(dir, "ids.slots"), t.TempDir()
	p := startIn(t, dir, "-n", "1", "--slots", "8", "--slots-file", table, "--stop-timeout", "5s", "--",
		bin, "-table", table, "-locks", locks, "-children", "4")

	check := func(round int, ids map[int]fields) (worker int) {
		t.Helper()
		seen := map[string]int{}
		for pid, f := range ids {
			if other, dup := seen[f["id"]]; dup {
				t.Errorf("round %d: pids %d and %d both got id %s", round, other, pid, f["id"])
			}
			seen[f["id"]] = pid
			worker, _ = strconv.Atoi(f["ppid"])
		}
		if _, ok := seen["0"]; !ok {
			t.Errorf("round %d: no child got the worker's id 0: %v", round, ids)
		}
		return worker
	}
	first := waitIDLines(t, p.stdout, 4, nil)
	worker := check(1, first)
	// The id moved to the child: the table names it as the holder.
	for pid, f := range first {
		if f["id"] == "0" {
			if h := holders(t, table)[0]; h.PID != pid || !h.Alive {
				t.Errorf("slot 0: %+v; want the child pid %d that has id 0", h, pid)
			}
		}
	}

	// The worker dies; its children hold slots, one of them its id.
	from := p.lineCount()
	syscall.Kill(worker, syscall.SIGKILL)
	waitLine(t, p.stdout, from, `^parent `)
	second := waitIDLines(t, p.stdout, 4, first)
	if w := check(2, second); w == worker {
		t.Errorf("round 2: the children's parent is the killed worker %d", worker)
	}
	noOverlaps(t, "slotrun's workers", p.stdout)
	p.signal(syscall.SIGTERM)
	if code := p.wait(); code != 0 {
		t.Errorf("exit code %d after TERM; want 0", code)
	}
}

// holders returns what the slot table at path says now.
func holders(t *testing.T, path string) []slots.Holder {
	t.Helper()
	tbl, err := slots.Open(path, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Close()
	return tbl.Snapshot()
}

// TestShellWrapperPassesTheIDToItsProgram: slotrun runs sh, which runs the
// program (a child, not an exec): the program gets the slot's id. When it
// gives the id back, the slot goes back to the shell, slotrun's worker.
func TestShellWrapperPassesTheIDToItsProgram(t *testing.T) {
	t.Parallel()
	bin := slotuserBin(t)
	dir := t.TempDir()
	table, locks := filepath.Join(dir, "ids.slots"), t.TempDir()
	p := startIn(t, dir, "-n", "1", "--slots", "4", "--slots-file", table, "--",
		"sh", "-c", `"$0" -table "$1" -locks "$2" -getid -release; exec sleep 600`, bin, table, locks)
	var prog int
	for pid, f := range waitIDLines(t, p.stdout, 1, nil) {
		if f["id"] != "0" || f["env"] != "0" {
			t.Errorf("the shell's program got id %s (COMET_PROCESS_ID %s); want 0", f["id"], f["env"])
		}
		prog = pid
	}
	h := holders(t, table)[0]
	if h.PID != prog || !h.Alive {
		t.Errorf("slot 0: %+v; want the program pid %d", h, prog)
	}
	_, shell, _ := procStat(prog)
	syscall.Kill(prog, syscall.SIGTERM)
	eventually(t, waitFor, "slot 0 goes back to the shell", func() bool {
		h := holders(t, table)[0]
		return h.PID == shell && h.Alive
	})
	noOverlaps(t, "the program", p.stdout)
	p.signal(syscall.SIGTERM)
	if code := p.wait(); code != 0 {
		t.Errorf("exit code %d after TERM; want 0", code)
	}
	p.waitEOF()
	if log := p.stderr.text(); strings.Contains(log, "another process took the slot") || strings.Contains(log, "cannot release") {
		t.Errorf("the program's id disturbed the supervisor:\n%s", log)
	}
}

// TestShellWrapperWithTwoProgramsGivesOneTheID: of two programs a shell
// runs side by side, one gets the slot's id and the other a free slot.
func TestShellWrapperWithTwoProgramsGivesOneTheID(t *testing.T) {
	t.Parallel()
	bin := slotuserBin(t)
	dir := t.TempDir()
	table, locks := filepath.Join(dir, "ids.slots"), t.TempDir()
	p := startIn(t, dir, "-n", "1", "--slots", "4", "--slots-file", table, "--",
		"sh", "-c", `"$0" -table "$1" -locks "$2" -getid & "$0" -table "$1" -locks "$2" -getid & wait`, bin, table, locks)
	got := map[string]bool{}
	for _, f := range waitIDLines(t, p.stdout, 2, nil) {
		got[f["id"]] = true
	}
	if len(got) != 2 || !got["0"] {
		t.Errorf("the two programs got ids %v; want 0 and another", got)
	}
	noOverlaps(t, "the programs", p.stdout)
	p.signal(syscall.SIGTERM)
	if code := p.wait(); code != 0 {
		t.Errorf("exit code %d after TERM; want 0", code)
	}
}

// stressSettings: how long, and with how many outside processes, the
// stress test runs. CI runs it briefly; SLOTRUN_STRESS=20s and
// SLOTRUN_STRESS_RACERS=200 make the longer run.
func stressSettings(t *testing.T) (time.Duration, int) {
	d, racers := 3*time.Second, 30
	if v := os.Getenv("SLOTRUN_STRESS"); v != "" {
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			t.Fatalf("SLOTRUN_STRESS: %v", err)
		}
	}
	if v := os.Getenv("SLOTRUN_STRESS_RACERS"); v != "" {
		var err error
		if racers, err = strconv.Atoi(v); err != nil {
			t.Fatalf("SLOTRUN_STRESS_RACERS: %v", err)
		}
	}
	return d, racers
}

// TestIDsOfDyingWorkersGoToNobodyElse: 8 multi-threaded workers crash
// again and again, half of them after taking their id with GetProcessID,
// half as wrappers; each starts two children that ask for ids too. Beside
// them, outside processes race for ids with GetProcessID. No process may
// get an id that a live process still uses: not while a worker is still
// exiting, and not a worker's or a sibling's id.
func TestIDsOfDyingWorkersGoToNobodyElse(t *testing.T) {
	d, racers := stressSettings(t)
	bin := slotuserBin(t)
	dir := t.TempDir()
	table, locks := filepath.Join(dir, "ids.slots"), t.TempDir()
	p := startIn(t, dir, "-n", "8", "--slots", "12", "--slots-file", table,
		"--min-uptime", "1ms", "--backoff-min", "1ms", "--backoff-max", "20ms", "--stop-timeout", "5s", "--",
		bin, "-table", table, "-locks", locks, "-getid", "-odd-wrap", "-children", "2",
		"-crash", "300ms", "-threads", "4", "-mem", "16")
	waitLine(t, p.stdout, 0, `^getid `)

	type racer struct {
		cmd    *exec.Cmd
		out    *output
		exited chan error
	}
	rs := make([]racer, racers)
	for i := range rs {
		outR, outW, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "-table", table, "-locks", locks, "-race", d.String(), "-hold", "2ms", "-pause", "20ms")
		cmd.Stdout, cmd.Stderr = outW, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		outW.Close()
		t.Cleanup(func() { outR.Close() })
		rs[i] = racer{cmd, newOutput(outR), make(chan error, 1)}
		go func() { rs[i].exited <- cmd.Wait() }()
	}
	got, full := 0, 0
	deadline := time.After(d + waitFor)
	for i, r := range rs {
		select {
		case err := <-r.exited:
			if err != nil {
				t.Errorf("racer %d: %v", i, err)
			}
		case <-deadline:
			t.Fatalf("racer %d has not ended %v after it should have", i, waitFor)
		}
		_, f := waitLine(t, r.out, 0, `^done `)
		got += f.int(t, "got")
		full += f.int(t, "full")
		noOverlaps(t, fmt.Sprintf("racer pid %d", r.cmd.Process.Pid), r.out)
	}
	p.signal(syscall.SIGTERM)
	p.wait()
	p.waitEOF()
	noOverlaps(t, "slotrun's workers", p.stdout)
	crashes := regexp.MustCompile(`worker exited`).FindAllStringIndex(p.stderr.text(), -1)
	children := regexp.MustCompile(`(?m)^getid .*`).FindAllStringIndex(p.stdout.text(), -1)
	t.Logf("%v: %d worker exits, %d ids taken under slotrun; %d racers took %d ids, found the table full %d times",
		d, len(crashes), len(children), racers, got, full)
}
