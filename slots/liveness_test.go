package slots_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slotrun/slotrun/slots"
	"golang.org/x/sys/unix"
)

// These tests hold slots for processes whose main thread ends before their
// other threads. A Go program cannot do that (runtime.Goexit in main ends
// the main goroutine, not the main thread), so the holder is a small C
// program, testdata/mainexit.c, built with gcc.

var mainExit struct {
	once sync.Once
	dir  string // removed by TestMain
	bin  string
	err  error
}

// mainExitBin builds testdata/mainexit.c once per test run. Without gcc the
// test is skipped, except in CI (CI set), which installs gcc: there it fails.
func mainExitBin(t *testing.T) string {
	t.Helper()
	mainExit.once.Do(func() {
		gcc, err := exec.LookPath("gcc")
		if err != nil {
			mainExit.err = err
			return
		}
		if mainExit.dir, err = os.MkdirTemp("", "slots-test-"); err != nil {
			mainExit.err = err
			return
		}
		mainExit.bin = filepath.Join(mainExit.dir, "mainexit")
		out, err := exec.Command(gcc, "-pthread", "-o", mainExit.bin, filepath.Join("testdata", "mainexit.c")).CombinedOutput()
		if err != nil {
			mainExit.err = fmt.Errorf("gcc: %v: %s", err, out)
		}
	})
	if mainExit.err != nil {
		if errors.Is(mainExit.err, exec.ErrNotFound) && os.Getenv("CI") == "" {
			t.Skipf("cannot build testdata/mainexit.c: %v", mainExit.err)
		}
		t.Fatalf("cannot build testdata/mainexit.c: %v", mainExit.err)
	}
	return mainExit.bin
}

// removeBuilt removes what the tests built; TestMain calls it.
func removeBuilt() {
	if mainExit.dir != "" {
		os.RemoveAll(mainExit.dir)
	}
}

// mainExitProc is a running mainexit.
type mainExitProc struct {
	t        *testing.T
	cmd      *exec.Cmd
	pid, tid int // the process, and its second thread
	stdin    *os.File
	done     chan struct{} // closed once reaped
}

// startMainExit starts mainexit and waits for its ready line. t.Cleanup
// kills and reaps it.
func startMainExit(t *testing.T) *mainExitProc {
	t.Helper()
	cmd := exec.Command(mainExitBin(t))
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, os.Stderr
	err = cmd.Start()
	inR.Close()
	outW.Close()
	if err != nil {
		t.Fatalf("start mainexit: %v", err)
	}
	p := &mainExitProc{t: t, cmd: cmd, stdin: inW, done: make(chan struct{})}
	t.Cleanup(func() {
		p.stdin.Close()
		cmd.Process.Kill()
		p.reap()
		outR.Close()
	})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(outR)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	select {
	case line := <-lines:
		if _, err := fmt.Sscanf(line, "ready %d %d", &p.pid, &p.tid); err != nil || p.pid != cmd.Process.Pid {
			t.Fatalf("mainexit said %q, want \"ready %d TID\"", line, cmd.Process.Pid)
		}
	case <-time.After(timeout):
		t.Fatalf("mainexit pid %d wrote nothing within %v", cmd.Process.Pid, timeout)
	}
	return p
}

// command sends mainexit one of its commands.
func (p *mainExitProc) command(c string) {
	p.t.Helper()
	if _, err := p.stdin.WriteString(c + "\n"); err != nil {
		p.t.Fatalf("mainexit pid %d: %v", p.pid, err)
	}
}

// reap waits for the process, once, within the timeout.
func (p *mainExitProc) reap() {
	select {
	case <-p.done:
		return
	default:
	}
	go func() {
		p.cmd.Wait()
		close(p.done)
	}()
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.t.Errorf("mainexit pid %d not reaped within %v", p.pid, timeout)
	}
}

// taskState returns the state letter of thread tid of process pid, or
// "gone".
func taskState(pid, tid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/stat", pid, tid))
	if err != nil {
		return "gone"
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

// threadCount is the Threads: line of /proc/PID/status, as text.
func threadCount(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return err.Error()
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

// TestLiveProcessWhoseMainThreadExitedKeepsItsSlot: a holder whose main
// thread called pthread_exit while another thread runs is alive, though
// /proc/PID/stat says Z; once its last thread exits it is dead, zombie or
// not.
func TestLiveProcessWhoseMainThreadExitedKeepsItsSlot(t *testing.T) {
	p := startMainExit(t)
	path := newTable(t, 2)
	tbl := openTable(t, path, 2)
	if err := tbl.AcquireSlot(0, p.pid); err != nil {
		t.Fatal(err)
	}
	p.command("pthread_exit")
	eventually(t, fmt.Sprintf("main thread of pid %d exits", p.pid), func() bool { return procState(p.pid) == "Z" })
	if s := taskState(p.pid, p.tid); s == "Z" || s == "gone" {
		t.Fatalf("the second thread of pid %d is %s: the test did not test a running process", p.pid, s)
	}

	if h := tbl.Snapshot()[0]; !h.Alive {
		t.Errorf("Snapshot: %+v; want Alive, since thread %d of the holder runs", h, p.tid)
	}
	other := startChild(t, "getid", []string{"SLOTS_TEST_PATH=" + path})
	if got := other.line(); got != "id 1" {
		t.Fatalf("GetProcessID in pid %d said %q beside a running holder of slot 0 (its main thread exited); want \"id 1\"", other.pid, got)
	}
	me := os.Getpid()
	if slot, err := tbl.Acquire(me); !errors.Is(err, slots.ErrNoFreeSlot) {
		t.Fatalf("Acquire = %d, %v; want ErrNoFreeSlot: slot 0's holder runs, slot 1 is the helper's", slot, err)
	}

	// The last thread exits: the whole group is gone, and the unreaped
	// zombie holds nothing.
	p.stdin.Close()
	eventually(t, fmt.Sprintf("the last thread of pid %d exits", p.pid), func() bool { return threadCount(p.pid) == "1" })
	other.end()
	if slot, err := tbl.Acquire(me); slot != 0 || err != nil {
		t.Fatalf("Acquire after the holder's last thread exited = %d, %v; want slot 0", slot, err)
	}
	if s := procState(p.pid); s != "Z" {
		t.Fatalf("pid %d is %q, not a zombie: the test did not test one", p.pid, s)
	}
}

// TestHolderWhoseThreadsAreStillExitingKeepsItsSlot: while a multi-threaded
// holder exits, its main thread may be a zombie before its other threads
// are done. The holder is alive until the last one is: here the second
// thread is held at its exit (PTRACE_EVENT_EXIT) while the slot is looked
// at.
func TestHolderWhoseThreadsAreStillExitingKeepsItsSlot(t *testing.T) {
	p := startMainExit(t)
	tbl := openTable(t, newTable(t, 2), 2)
	if err := tbl.AcquireSlot(0, p.pid); err != nil {
		t.Fatal(err)
	}
	tr := newTracer(t)
	if err := tr.do(func() error {
		_, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SEIZE, uintptr(p.tid), 0, unix.PTRACE_O_TRACEEXIT, 0, 0)
		if e != 0 {
			return e
		}
		return nil
	}); err != nil {
		if errors.Is(err, unix.EPERM) {
			t.Skipf("cannot trace thread %d: %v", p.tid, err)
		}
		t.Fatalf("PTRACE_SEIZE thread %d: %v", p.tid, err)
	}
	p.command("exit")
	if err := tr.do(func() error { return waitExitStop(p.tid) }); err != nil {
		t.Fatal(err)
	}
	eventually(t, fmt.Sprintf("main thread of pid %d exits", p.pid), func() bool { return procState(p.pid) == "Z" })

	me := os.Getpid()
	if h := tbl.Snapshot()[0]; !h.Alive {
		t.Errorf("Snapshot: %+v; want Alive, since thread %d of the holder has not finished exiting", h, p.tid)
	}
	if slot, err := tbl.Acquire(me); slot != 1 || err != nil {
		t.Fatalf("Acquire while the holder of slot 0 exits = %d, %v; want slot 1", slot, err)
	}

	// Let the thread finish, and collect it (a traced thread waits for its
	// tracer); then the holder is gone.
	if err := tr.do(func() error {
		if err := unix.PtraceCont(p.tid, 0); err != nil {
			return fmt.Errorf("PTRACE_CONT thread %d: %w", p.tid, err)
		}
		var ws unix.WaitStatus
		_, err := unix.Wait4(p.tid, &ws, unix.WALL, nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	eventually(t, fmt.Sprintf("slot 0 of exited pid %d is free", p.pid), func() bool { return !tbl.Snapshot()[0].Alive })
	if slot, err := tbl.Acquire(me); slot != 0 || err != nil {
		t.Fatalf("Acquire after the holder exited = %d, %v; want slot 0", slot, err)
	}
}

// waitExitStop waits until thread tid, which this OS thread traces, stops
// at PTRACE_EVENT_EXIT.
func waitExitStop(tid int) error {
	var ws unix.WaitStatus
	if _, err := unix.Wait4(tid, &ws, unix.WALL, nil); err != nil {
		return fmt.Errorf("wait for thread %d: %w", tid, err)
	}
	if !ws.Stopped() || ws.TrapCause() != unix.PTRACE_EVENT_EXIT {
		return fmt.Errorf("thread %d: wait status %#x, want a PTRACE_EVENT_EXIT stop", tid, uint32(ws))
	}
	return nil
}

// tracer runs functions on one OS thread, as ptrace requires of a tracer.
type tracer struct{ fns chan func() }

func newTracer(t *testing.T) *tracer {
	tr := &tracer{fns: make(chan func())}
	go func() {
		// Never unlocked: the thread ends with the goroutine, so no other
		// goroutine runs on a thread that is a tracer.
		runtime.LockOSThread()
		for fn := range tr.fns {
			fn()
		}
	}()
	t.Cleanup(func() { close(tr.fns) })
	return tr
}

func (tr *tracer) do(fn func() error) error {
	errc := make(chan error, 1)
	tr.fns <- func() { errc <- fn() }
	select {
	case err := <-errc:
		return err
	case <-time.After(timeout):
		return fmt.Errorf("tracer: no answer within %v", timeout)
	}
}
