package pidfile_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/slotrun/slotrun/pidfile"
)

// As in pidfile_test.go, no test here calls t.Parallel.

func TestReadMissingFileIsNotRunning(t *testing.T) {
	path := filepath.Join(t.TempDir(), "none", "slotrun.pid")
	pid, err := pidfile.Read(path)
	if !errors.Is(err, pidfile.ErrNotRunning) {
		t.Fatalf("Read on a missing file = %d, %v; want ErrNotRunning", pid, err)
	}
	if want := "not running (no pid file at " + path + ")"; err.Error() != want {
		t.Errorf("message = %q; want %q", err, want)
	}
}

func TestReadGarbageWhileHeldIsAClearError(t *testing.T) {
	// Each case costs Read's retry budget (about 0.1 s): it waits out what
	// could be a takeover in progress. The full parsing table is in
	// TestParsePID.
	for _, content := range []string{"", "abc\n", "4294967295\n"} {
		path := filepath.Join(t.TempDir(), "slotrun.pid")
		writeFile(t, path, content)
		holdLock(t, path)

		pid, err := pidfile.Read(path)
		if err == nil || errors.Is(err, pidfile.ErrNotRunning) {
			t.Errorf("Read of held %q = %d, %v; want an error", content, pid, err)
			continue
		}
		if want := fmt.Sprintf("pid file %s: locked by a running process, but holds %q instead of a PID", path, content); err.Error() != want {
			t.Errorf("Read of held %q: message %q; want %q", content, err, want)
		}
	}
}

func TestReadAcceptsAPIDWithoutNewline(t *testing.T) {
	path := filepath.Join(t.TempDir(), "slotrun.pid")
	writeFile(t, path, strconv.Itoa(os.Getpid()))
	holdLock(t, path)
	if pid, err := pidfile.Read(path); err != nil || pid != os.Getpid() {
		t.Errorf("Read = %d, %v; want %d", pid, err, os.Getpid())
	}
}

func TestCreateOnHeldGarbageIsRunningWithUnknownPID(t *testing.T) {
	path := filepath.Join(t.TempDir(), "slotrun.pid")
	writeFile(t, path, "garbage\n")
	holdLock(t, path)

	_, err := pidfile.Create(path)
	var running *pidfile.RunningError
	if !errors.As(err, &running) || running.PID != 0 {
		t.Fatalf("Create on held garbage: %v; want a *RunningError with PID 0", err)
	}
	if want := "already running (pid unknown); pid file " + path + " is locked"; err.Error() != want {
		t.Errorf("message = %q; want %q", err, want)
	}
	if got := readFile(t, path); got != "garbage\n" {
		t.Errorf("the held file now holds %q; want it untouched", got)
	}
}

func TestCreateTakesOverStaleGarbage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "slotrun.pid")
	writeFile(t, path, "garbage\n")
	if _, err := pidfile.Read(path); !errors.Is(err, pidfile.ErrNotRunning) {
		t.Errorf("Read of stale garbage: %v; want ErrNotRunning (the lock is free, the content irrelevant)", err)
	}
	f, err := pidfile.Create(path)
	if err != nil {
		t.Fatalf("Create over stale garbage: %v", err)
	}
	t.Cleanup(func() { f.Remove() })
	if got, want := readFile(t, path), fmt.Sprintf("%d\n", os.Getpid()); got != want {
		t.Errorf("file holds %q; want %q", got, want)
	}
}

func TestCreateInOneProcessTwiceIsRunning(t *testing.T) {
	path := filepath.Join(t.TempDir(), "slotrun.pid")
	f, err := pidfile.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Remove() })
	_, err = pidfile.Create(path)
	var running *pidfile.RunningError
	if !errors.As(err, &running) || running.PID != os.Getpid() {
		t.Fatalf("second Create in one process: %v; want ErrRunning with our PID", err)
	}
}

// holdLock takes an exclusive flock on path until the test ends, as a
// holder would, without going through Create.
