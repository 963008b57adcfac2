package pidfile_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/slotrun/slotrun/pidfile"
)

// As in pidfile_test.go, no test here calls t.Parallel.

func TestSignalNeverSignalsThePIDInAStaleFile(t *testing.T) {
	// A live process that holds no lock, named in a file nobody holds: the
	// situation after a supervisor died and its PID was reused.
	bystander := startHelper(t, helperOpts{})
	bystander.waitFor(t, readyLine)
	path := filepath.Join(t.TempDir(), "slotrun.pid")
	writeFile(t, path, fmt.Sprintf("%d\n", bystander.pid()))

	err := pidfile.Signal(path, unix.SIGUSR1)
	if !errors.Is(err, pidfile.ErrNotRunning) {
		t.Fatalf("Signal on a stale file: %v; want ErrNotRunning", err)
	}
	// Probe: a SIGUSR2 sent now. Had Signal sent SIGUSR1, it would have been
	// pending before the probe, and the kernel delivers the lower-numbered
	// pending signal first, so the bystander would report it first.
	if err := unix.Kill(bystander.pid(), unix.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	before := bystander.waitFor(t, fmt.Sprintf(signalLine, unix.SIGUSR2))
	if len(before) != 0 {
		t.Fatalf("the bystander named in a stale file said %q before the probe; want no signal", before)
	}
}

// TestSignalNeverSignalsALiveProcessThatDoesNotHoldTheLock: the file is
// held, but /proc/locks shows the lock is ours, not the live process's the
// file names (say, a stale file being taken over, its PID reused meanwhile).
func TestSignalNeverSignalsALiveProcessThatDoesNotHoldTheLock(t *testing.T) {
	bystander := startHelper(t, helperOpts{})
	bystander.waitFor(t, readyLine)
	path := filepath.Join(t.TempDir(), "slotrun.pid")
	writeFile(t, path, fmt.Sprintf("%d\n", bystander.pid()))
	holdLock(t, path)

	if pid, err := pidfile.Read(path); !errors.Is(err, pidfile.ErrNotRunning) {
		t.Errorf("Read = %d, %v; want ErrNotRunning", pid, err)
	}
	err := pidfile.Signal(path, unix.SIGUSR1)
	if !errors.Is(err, pidfile.ErrNotRunning) {
		t.Errorf("Signal: %v; want ErrNotRunning", err)
	}
	want := fmt.Sprintf("pid file %s names pid %d, but pid %d holds its lock", path, bystander.pid(), os.Getpid())
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Signal: %v; want it to say %q", err, want)
	}
	// The probe of TestSignalNeverSignalsThePIDInAStaleFile.
	if err := unix.Kill(bystander.pid(), unix.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	if before := bystander.waitFor(t, fmt.Sprintf(signalLine, unix.SIGUSR2)); len(before) != 0 {
		t.Fatalf("the bystander said %q before the probe; want no signal", before)
	}
}

func TestSignalReachesTheHolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "slotrun.pid")
	holder := startHelper(t, helperOpts{path: path})
	holder.waitFor(t, readyLine)

	if err := pidfile.Signal(path, unix.SIGUSR1); err != nil {
		t.Fatalf("Signal on a held file: %v", err)
	}
	if before := holder.waitFor(t, fmt.Sprintf(signalLine, unix.SIGUSR1)); len(before) != 0 {
		t.Errorf("the holder said %q before the signal; want nothing else", before)
	}
}

// TestReadersRefuseAFileHeldInAnotherPIDNamespace is slotrun as a
// container's PID 1, its PID file on a volume the host also sees: the file
// says 1, and here pid 1 is another process, which must never be signalled.
func TestReadersRefuseAFileHeldInAnotherPIDNamespace(t *testing.T) {
	opts := pidNamespace(t)
	path := filepath.Join(t.TempDir(), "slotrun.pid")
	holder := startHelper(t, helperOpts{path: path, unshare: opts})
	holder.waitFor(t, readyLine)
	if got := readFile(t, path); got != "1\n" {
		t.Fatalf("the helper in its own PID namespace wrote %q; want its PID there, 1", got)
	}

	check := func(what string, err error) {
		t.Helper()
		var other *pidfile.OtherNamespaceError
		if !errors.As(err, &other) || !errors.Is(err, pidfile.ErrOtherNamespace) || errors.Is(err, pidfile.ErrNotRunning) {
			t.Fatalf("%s: %v; want an *OtherNamespaceError, not ErrNotRunning", what, err)
		}
		if other.FilePID != 1 || other.Holder <= 1 || other.Holder == os.Getpid() {
			t.Errorf("%s: FilePID %d, Holder %d; want 1 and the helper's PID here", what, other.FilePID, other.Holder)
		}
		want := fmt.Sprintf("pid file %s is held by pid %d here, a process in another PID namespace "+
			"(the file says pid 1, which here is another process); "+
			"run slotrun signal inside that namespace (e.g. docker exec / kubectl exec)", path, other.Holder)
		if err.Error() != want {
			t.Errorf("%s: message\n got %s\nwant %s", what, err, want)
		}
	}
	pid, err := pidfile.Read(path)
	if err == nil {
		t.Fatalf("Read = %d, nil; want an error: pid %d here is not the holder", pid, pid)
	}
	check("Read", err)
	// Signal 0 sends nothing, so a regression cannot disturb our PID 1; it
	// would succeed where Signal wrongly trusts the file.
	check("Signal", pidfile.Signal(path, unix.Signal(0)))
}

func TestSignalRefusesANonUnixSignal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "slotrun.pid")
	f, err := pidfile.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Remove() })
	if err := pidfile.Signal(path, notUnix{}); err == nil || !strings.Contains(err.Error(), "not a Unix signal") {
		t.Errorf("Signal with a non-Unix os.Signal: %v; want it refused", err)
	}
}

type notUnix struct{}

func (notUnix) String() string { return "plan9 note" }
func (notUnix) Signal()        {}

func TestSignalOnAMissingFileIsNotRunning(t *testing.T) {
	err := pidfile.Signal(filepath.Join(t.TempDir(), "none.pid"), unix.SIGUSR1)
	if !errors.Is(err, pidfile.ErrNotRunning) {
		t.Fatalf("Signal on a missing file: %v; want ErrNotRunning", err)
	}
}

func TestSignalAndReadWhenTheNamedPIDIsGoneAreNotRunning(t *testing.T) {
	// Held, but naming no process: what a reader sees in the moment another
	// instance takes over a stale file. It must not be trusted as running.
	path := filepath.Join(t.TempDir(), "slotrun.pid")
	writeFile(t, path, fmt.Sprintf("%d\n", neverAPID))
	holdLock(t, path)

	if pid, err := pidfile.Read(path); !errors.Is(err, pidfile.ErrNotRunning) {
		t.Errorf("Read = %d, %v; want ErrNotRunning", pid, err)
	}
	if err := pidfile.Signal(path, unix.SIGUSR1); !errors.Is(err, pidfile.ErrNotRunning) {
		t.Errorf("Signal: %v; want ErrNotRunning", err)
	}
}
