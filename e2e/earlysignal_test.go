package e2e

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// Ctrl-C (or a TERM) while slotrun still reads its settings (here, a
// config file on a FIFO nobody writes) ends it at once, by that signal, as
// it would any program: the signals held from initialisation on
// (internal/prestart) leave INT and TERM alone until the supervisor takes
// them, before its PID file exists.
func TestInterruptWhileReadingTheSettingsEndsSlotrun(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			interruptWhileReadingTheSettings(t, sig)
		})
	}
}

func interruptWhileReadingTheSettings(t *testing.T, sig syscall.Signal) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "cfg.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(slotrunBin, "-c", fifo, "-n", "1", "--", "sleep", "100")
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	w := openOnceRead(t, fifo)
	defer syscall.Close(w)
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != sig {
			t.Fatalf("slotrun ended with %v; want death by %v", err, sig)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("slotrun ignored %v while reading its settings", sig)
	}
	if _, err := os.Stat(filepath.Join(dir, ".pid")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("slotrun left %s behind (err %v)", filepath.Join(dir, ".pid"), err)
	}
}

// openOnceRead opens fifo for writing once slotrun has opened it to read:
// held open and not written, it keeps slotrun reading its settings.
func openOnceRead(t *testing.T, fifo string) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		w, err := syscall.Open(fifo, syscall.O_WRONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
		if err == nil {
			return w
		}
		if time.Now().After(deadline) {
			t.Fatalf("slotrun never opened its config file: %v", err)
		}
		time.Sleep(5 * time.Millisecond) // the poll's interval, under the deadline above
	}
}

// A signal that comes before the workers exist (here while slotrun reads
// its settings, before its PID file) is held, and acted on once they do
// (internal/sighold): a TTIN then adds a worker.
func TestASignalBeforeTheWorkersIsActedOnOnceTheyExist(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "cfg.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	p := startCmd(t, dir, exec.Command(slotrunBin, "-c", fifo, "-n", "1", "--slots", "2", "--", workerBin), true)
	w := openOnceRead(t, fifo)
	p.signal(syscall.SIGTTIN)
	// An empty file: the settings are the flags'.
	syscall.Close(w)
	p.waitReady(0, 0, 1)
	p.waitStderr(`signal received: signal=TTIN action=scale-up`)
}

// Without -n, slotrun starts one worker per processor Go would use: the
// GOMAXPROCS it started with, not the 1 it sets for itself once the
// settings are read.
func TestDefaultWorkerCountIsGOMAXPROCS(t *testing.T) {
	t.Parallel()
	if os.Getenv("GOMAXPROCS") != "" {
		t.Skip("GOMAXPROCS is set in the environment")
	}
	want := runtime.GOMAXPROCS(0)
	for range 5 {
		p := start(t, "--", workerBin)
		p.waitStderr(fmt.Sprintf(`starting.* workers=%d `, want))
		p.signal(syscall.SIGTERM)
		if code := p.wait(); code != 0 {
			t.Fatalf("exit code %d after TERM; want 0", code)
		}
	}
}

// With its stdout and stderr a pipe nobody reads (`slotrun … 2>&1 | head
// -0`), a slotrun that fails to start still exits with its code, not by
// SIGPIPE: Go's runtime ends a process whose write to stdout or stderr
// fails unless PIPE is caught or ignored, and PIPE is ignored from the
// first moments until caught (internal/sigcatch).
func TestAFailedStartWithNobodyReadingItsOutputExitsWithItsCode(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"no such program", []string{"-n", "1", "--", "/no/such/program"}, 127},
		{"bad usage", []string{"-n", "abc", "--", workerBin}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			r.Close()
			cmd := exec.Command(slotrunBin, tc.args...)
			cmd.Dir = t.TempDir()
			cmd.Stdout, cmd.Stderr = w, w
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			w.Close()
			t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("slotrun did not exit")
			}
			ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
			if ws.Signaled() || ws.ExitStatus() != tc.code {
				t.Fatalf("slotrun ended with %v; want exit code %d", cmd.ProcessState, tc.code)
			}
		})
	}
}
