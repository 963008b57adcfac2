// Package e2e tests the built slotrun binary from outside, the way a user
// runs it: real processes, real signals, real files. TestMain builds slotrun
// and the helper worker (testdata/worker) once.
package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"io"
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

	"golang.org/x/sys/unix"
)

var (
	slotrunBin  string
	workerBin   string
	sdworkerBin string // testdata/sdworker: go-systemd's activation and daemon clients
	serverBin   string // examples/server
)

// waitFor bounds every wait of these tests: generous, since -race and a
// loaded 2-core machine slow everything, yet far below the test timeout.
const waitFor = 15 * time.Second

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "slotrun-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	slotrunBin = filepath.Join(dir, "slotrun")
	workerBin = filepath.Join(dir, "worker")
	sdworkerBin = filepath.Join(dir, "sdworker")
	serverBin = filepath.Join(dir, "server")
	for _, b := range []struct{ out, pkg string }{{slotrunBin, ".."}, {workerBin, "./testdata/worker"},
		{sdworkerBin, "./testdata/sdworker"}, {serverBin, "../examples/server"}} {
		cmd := exec.Command("go", "build", "-o", b.out, b.pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0") // as the README builds it
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n", b.pkg, err)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	code := m.Run()
	killLeftovers()
	os.RemoveAll(dir)
	os.Exit(code)
}

// killLeftovers kills any process still running one of this run's binaries:
// a test's cleanup kills what the workers reported, and this catches what
// they started but had no time to report.
func killLeftovers() {
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		if exe, _ := os.Readlink("/proc/" + p.Name() + "/exe"); exe != "" && (exe == workerBin || exe == slotrunBin || exe == sdworkerBin || exe == serverBin || exe == slotuser.bin) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// output collects the lines a process writes to one stream.
type output struct {
	mu      sync.Mutex
	lines   []string
	changed chan struct{} // closed and replaced on every new line and at EOF
	eof     bool
}

func newOutput(r io.Reader) *output {
	o := &output{changed: make(chan struct{})}
	go func() {
		br := bufio.NewReaderSize(r, 1<<20)
		for {
			line, err := br.ReadString('\n')
			if line != "" {
				o.add(strings.TrimSuffix(line, "\n"))
			}
			if err != nil {
				o.mu.Lock()
				o.eof = true
				close(o.changed)
				o.changed = make(chan struct{})
				o.mu.Unlock()
				return
			}
		}
	}()
	return o
}

func (o *output) add(line string) {
	o.mu.Lock()
	o.lines = append(o.lines, line)
	close(o.changed)
	o.changed = make(chan struct{})
	o.mu.Unlock()
}

// snapshot returns the lines so far and a channel closed when more come.
func (o *output) snapshot() ([]string, <-chan struct{}, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.lines, o.changed, o.eof
}

func (o *output) text() string {
	lines, _, _ := o.snapshot()
	return strings.Join(lines, "\n")
}

// proc is a running slotrun.
type proc struct {
	t      *testing.T
	dir    string
	cmd    *exec.Cmd
	stdout *output
	stderr *output
	exited chan struct{}
	state  *os.ProcessState

	stderrPipe *os.File // our end of slotrun's stderr
}

// start runs slotrun with args in a fresh directory.
func start(t *testing.T, args ...string) *proc {
	t.Helper()
	return startIn(t, t.TempDir(), args...)
}

// startIn runs slotrun with args in dir. Whatever it and its workers leave
// running is killed when the test ends.
func startIn(t *testing.T, dir string, args ...string) *proc {
	t.Helper()
	return startCmd(t, dir, exec.Command(slotrunBin, args...), true)
}

// startCmd starts cmd in dir with its output collected. With ownPIDs, the
// pids the workers print are this machine's, and what is left of them is
// killed at cleanup; in another PID namespace they name unrelated processes.
func startCmd(t *testing.T, dir string, cmd *exec.Cmd, ownPIDs bool) *proc {
	t.Helper()
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = outW, errW
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", cmd.Args, err)
	}
	outW.Close()
	errW.Close()
	p := &proc{t: t, dir: dir, cmd: cmd, stdout: newOutput(outR), stderr: newOutput(errR), stderrPipe: errR, exited: make(chan struct{})}
	p.watchExit()
	t.Cleanup(func() {
		p.killIfRunning()
		// Workers die with slotrun (parent-death signal); whatever they
		// started, and reported, goes too.
		for _, pid := range p.reportedPIDs(ownPIDs) {
			// Only our worker binary: a pid printed long ago may have
			// been reused by an unrelated process.
			if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); exe == workerBin {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		outR.Close()
		errR.Close()
		// The supervisor logs a move outside its slot state machine as a
		// bug (docs/states.md); no scenario may make one.
		if strings.Contains(p.stderr.text(), "bug: ") {
			t.Errorf("slotrun logged a bug")
		}
		if t.Failed() {
			t.Logf("slotrun %v\n--- stdout:\n%s\n--- stderr:\n%s", cmd.Args[1:], p.stdout.text(), p.stderr.text())
		}
	})
	return p
}

var pidField = regexp.MustCompile(`\bpid=(\d+)`)

// reportedPIDs are every pid the workers printed, if they are ours.
func (p *proc) reportedPIDs(ours bool) []int {
	if !ours {
		return nil
	}
	var pids []int
	for _, m := range pidField.FindAllStringSubmatch(p.stdout.text(), -1) {
		n, _ := strconv.Atoi(m[1])
		pids = append(pids, n)
	}
	return pids
}

// waitLine waits for the first line of o after index from that matches re,
// and returns its index and fields.
func waitLine(t *testing.T, o *output, from int, re string) (int, fields) {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.After(waitFor)
	for {
		lines, changed, eof := o.snapshot()
		for i := from; i < len(lines); i++ {
			if rx.MatchString(lines[i]) {
				return i, parseFields(lines[i])
			}
		}
		from = max(from, len(lines))
		if eof {
			t.Fatalf("no line matching %q before the stream ended", re)
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("no line matching %q within %s", re, waitFor)
		}
	}
}

func (p *proc) waitStdout(re string) fields {
	p.t.Helper()
	_, f := waitLine(p.t, p.stdout, 0, re)
	return f
}

func (p *proc) waitStderr(re string) fields {
	p.t.Helper()
	_, f := waitLine(p.t, p.stderr, 0, re)
	return f
}

// waitReady waits until workers with ids 0..n-1 have each printed a ready
// line (after line index from) and returns their pids by id.
func (p *proc) waitReady(from int, ids ...int) map[int]int {
	p.t.Helper()
	pids := map[int]int{}
	for _, id := range ids {
		_, f := waitLine(p.t, p.stdout, from, fmt.Sprintf(`^ready id=%d `, id))
		pids[id] = f.int(p.t, "pid")
	}
	return pids
}

func seq(n int) []int {
	ids := make([]int, n)
	for i := range ids {
		ids[i] = i
	}
	return ids
}

// lineCount is how many stdout lines there are now, for waits that must
// only see what comes after.
func (p *proc) lineCount() int {
	lines, _, _ := p.stdout.snapshot()
	return len(lines)
}

func (p *proc) signal(sig syscall.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal slotrun: %v", err)
	}
}

// wait waits for slotrun to exit and returns its exit code.
func (p *proc) wait() int {
	p.t.Helper()
	select {
	case <-p.exited:
	case <-time.After(waitFor):
		p.t.Fatalf("slotrun did not exit within %s", waitFor)
	}
	return p.state.ExitCode()
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// watchExit waits for the started slotrun in the background: p.exited is
// closed, and p.state set, once it has exited.
func (p *proc) watchExit() {
	go func() {
		p.cmd.Wait()
		p.state = p.cmd.ProcessState
		close(p.exited)
	}()
}

// killIfRunning kills slotrun unless it has exited, and waits for it.
func (p *proc) killIfRunning() {
	select {
	case <-p.exited:
	default:
		p.cmd.Process.Kill()
		<-p.exited
	}
}

// fields are the key=value pairs of a line.
type fields map[string]string

func parseFields(line string) fields {
	f := fields{}
	for _, word := range strings.Fields(line) {
		if k, v, ok := strings.Cut(word, "="); ok {
			f[k] = v
		}
	}
	return f
}

func (f fields) int(t *testing.T, key string) int {
	t.Helper()
	n, err := strconv.Atoi(f[key])
	if err != nil {
		t.Fatalf("field %s=%q is not a number", key, f[key])
	}
	return n
}

// alive reports whether pid is a live process: a zombie is not, but a
// process whose main thread is a zombie while other threads still run or
// exit is, as the slot table sees it (field 20 of stat counts the threads).
func alive(pid int) bool {
	if errors.Is(unix.Kill(pid, 0), unix.ESRCH) {
		return false
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(f) > 17 && (f[0] != "Z" || f[17] != "1")
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(within)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("%s: not true within %s", what, within)
		}
	}
}

// runOnce runs slotrun to completion and returns its exit code and output.
func runOnce(t *testing.T, dir string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	p := startIn(t, dir, args...)
	code = p.wait()
	p.waitEOF()
	return code, p.stdout.text(), p.stderr.text()
}

// waitEOF waits until slotrun's stdout and stderr have been read to their
// end. After wait, the readers may still be catching up: a test that checks
// everything slotrun wrote must call this first.
func (p *proc) waitEOF() {
	p.t.Helper()
	deadline := time.After(waitFor)
	for _, o := range []*output{p.stdout, p.stderr} {
		for {
			_, changed, eof := o.snapshot()
			if eof {
				break
			}
			select {
			case <-changed:
			case <-deadline:
				p.t.Fatalf("slotrun's output did not end within %s of its exit: something it started still holds it open", waitFor)
			}
		}
	}
}

// procStat is what /proc/PID/stat says of a process: its state letter (R, S,
// T, Z, ...) and its parent. ok is false once the process is gone (reaped).
func procStat(pid int) (state byte, ppid int, ok bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, false
	}
	// The command name, in parentheses, may hold spaces: fields count from
	// its closing parenthesis. Field 3 is the state, field 4 the parent.
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 2 || len(f[0]) == 0 {
		return 0, 0, false
	}
	ppid, err = strconv.Atoi(f[1])
	if err != nil {
		return 0, 0, false
	}
	return f[0][0], ppid, true
}
