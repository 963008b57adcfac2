package forkexec

import (
	"errors"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/slotrun/slotrun/internal/nofile/nofiletest"
)

func skipUnsupported(t *testing.T) {
	if _, err := Start("/nonexistent", []string{"x"}, Attr{}); errors.Is(err, ErrUnsupported) {
		t.Skip(err)
	}
}

func TestChildGetsItsOwnPIDAndTheFiles(t *testing.T) {
	skipUnsupported(t)
	runtime.LockOSThread() // the parent-death signal follows this thread
	defer runtime.UnlockOSThread()
	out, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	extra, extraW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	devnull, _ := os.Open(os.DevNull)
	defer devnull.Close()
	script := `echo "$LISTEN_PID $$ $(cut -d' ' -f5 /proc/$$/stat) $(grep -E '^Sig(Blk|Ign)' /proc/$$/status | tr -d '\t' | tr '\n' ' ')"; echo fd3 >&3`
	child, err := Start("/bin/sh", []string{"sh", "-c", script}, Attr{
		Env:       []string{"PATH=/usr/bin:/bin", "LISTEN_PID=1", "LISTEN_FDS=1"},
		Files:     []*os.File{devnull, outW, os.Stderr, extraW},
		ListenPID: true,
	})
	pid := child.PID
	outW.Close()
	extraW.Close()
	if err != nil {
		t.Fatal(err)
	}
	var ws syscall.WaitStatus
	syscall.Wait4(pid, &ws, 0, nil)
	buf := make([]byte, 4096)
	n, _ := out.Read(buf)
	f := strings.Fields(string(buf[:n]))
	if len(f) < 5 || f[0] != strconv.Itoa(pid) || f[1] != f[0] || f[2] != f[0] {
		t.Fatalf("child said %q; want LISTEN_PID, $$ and its process group all %d", buf[:n], pid)
	}
	// (The shell catches some signals itself; exec reset every handler.)
	for _, field := range f[3:5] {
		k, v, _ := strings.Cut(field, ":")
		if strings.Trim(v, "0") != "" {
			t.Errorf("%s is %s; want no signal blocked or ignored", k, v)
		}
	}
	n, _ = extra.Read(buf)
	if string(buf[:n]) != "fd3\n" {
		t.Errorf("fd 3 gave %q", buf[:n])
	}
	if !ws.Exited() || ws.ExitStatus() != 0 {
		t.Errorf("child status %v", ws)
	}
}

func TestExecErrorIsReturned(t *testing.T) {
	skipUnsupported(t)
	_, err := Start("/nonexistent/program", []string{"x"}, Attr{})
	if !errors.Is(err, syscall.ENOENT) {
		t.Errorf("error %v; want ENOENT", err)
	}
	_, err = Start("/etc/passwd", []string{"x"}, Attr{})
	if !errors.Is(err, syscall.EACCES) {
		t.Errorf("error %v; want EACCES", err)
	}
}

// Many starts from several goroutines at once, under -race: each child
// must exec (or be reaped), and the parent must stay sound.
func TestManyStarts(t *testing.T) {
	skipUnsupported(t)
	done := make(chan error)
	for range 4 {
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			for range 50 {
				child, err := Start("/bin/true", []string{"true"}, Attr{})
				if err != nil {
					done <- err
					return
				}
				var ws syscall.WaitStatus
				syscall.Wait4(child.PID, &ws, 0, nil)
				if !ws.Exited() || ws.ExitStatus() != 0 {
					done <- errors.New("child did not exit 0: " + strconv.Itoa(int(ws)))
					return
				}
			}
			done <- nil
		}()
	}
	timeout := time.After(60 * time.Second)
	for range 4 {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-timeout:
			t.Fatal("starts did not finish")
		}
	}
}

// run starts argv with stdout on a pipe, waits for it, and returns what
// it printed.
func run(t *testing.T, attr Attr, argv ...string) string {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	out, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	attr.Files = []*os.File{os.Stdin, outW, os.Stderr}
	child, err := Start(argv[0], argv, attr)
	outW.Close()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(out)
	var ws syscall.WaitStatus
	syscall.Wait4(child.PID, &ws, 0, nil)
	return string(b)
}

func TestWithoutListenPIDTheEnvironmentIsPassedAsItIs(t *testing.T) {
	skipUnsupported(t)
	env := []string{"A=1", "LISTEN_PID=7", "B=two words"}
	got := run(t, Attr{Env: env}, "/usr/bin/env")
	if want := strings.Join(env, "\n") + "\n"; got != want {
		t.Errorf("the child's environment is %q; want %q", got, want)
	}
}

// Born brackets the start time the kernel gives the child
// (/proc/PID/stat, in clock ticks of 10 ms): the slot table counts on it.
func TestBornIsNoEarlierThanTheChildsStartTime(t *testing.T) {
	skipUnsupported(t)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for range 20 {
		before := bootClock(t)
		child, err := Start("/bin/sleep", []string{"sleep", "60"}, Attr{})
		if err != nil {
			t.Fatal(err)
		}
		after := bootClock(t)
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(child.PID) + "/stat")
		syscall.Kill(child.PID, syscall.SIGKILL)
		var ws syscall.WaitStatus
		syscall.Wait4(child.PID, &ws, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		s := string(stat)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		started, _ := strconv.ParseInt(fields[19], 10, 64) // field 22: starttime
		const tick = int64(10 * time.Millisecond)
		if child.Born < before || child.Born > after || child.Born/tick < started || before/tick > started {
			t.Fatalf("boot clock %d before the start, %d after it, %d as the child read it; the kernel's start time is tick %d",
				before, after, child.Born, started)
		}
	}
}

func bootClock(t *testing.T) int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		t.Fatal(err)
	}
	return ts.Nano()
}

// In a process started with a lowered soft open-file limit, which Go's
// syscall package then raises, the child gets the lowered one, with or
// without LISTEN_PID, as syscall.ForkExec's children do.
func TestChildGetsTheOpenFileLimitTheProcessStartedWith(t *testing.T) {
	skipUnsupported(t)
	soft, inside := nofiletest.Lowered(t)
	if !inside {
		return
	}
	want := strconv.FormatUint(soft, 10)
	for _, listenPID := range []bool{false, true} {
		got := strings.TrimSpace(run(t, Attr{Env: []string{"LISTEN_FDS=0"}, ListenPID: listenPID}, "/bin/sh", "-c", "ulimit -Sn"))
		if got != want {
			t.Errorf("with ListenPID %v the child's soft limit is %s; want %s, the one the process started with", listenPID, got, want)
		}
	}
}

// The pipe that carries an exec error to the parent may get a descriptor
// the child is to put one of the worker's files at: the error must still
// come back.
func TestExecErrorIsReturnedWhenThePipeGetsALowDescriptor(t *testing.T) {
	skipUnsupported(t)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	files := []*os.File{os.Stdin, os.Stdout, os.Stderr}
	var free []*os.File // the lowest free descriptors, freed again below
	for range 2 {
		f, err := os.Open(os.DevNull)
		if err != nil {
			t.Fatal(err)
		}
		free = append(free, f)
	}
	for len(files) <= int(free[1].Fd()) {
		files = append(files, os.Stdin) // the child's files reach above them
	}
	for _, f := range free {
		f.Close() // the pipe takes these
	}
	_, err := Start("/nonexistent/program", []string{"x"}, Attr{Files: files})
	if !errors.Is(err, syscall.ENOENT) {
		t.Errorf("error %v with %d files and the pipe's descriptors below; want ENOENT", err, len(files))
	}
}
