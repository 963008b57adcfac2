package pidfile_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/slotrun/slotrun/pidfile"
)

// No test here calls t.Parallel: a process that forks holds a copy of every
// descriptor until the child execs, so a test starting helpers could keep
// another test's lock alive for a few microseconds after its Remove.

func TestSecondCreateWhileHeldFailsWithTheHoldersPID(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "slotrun.pid")
	holder := startHelper(t, helperOpts{path: path})
	holder.waitFor(t, readyLine)

	f, err := pidfile.Create(path)
	if f != nil || !errors.Is(err, pidfile.ErrRunning) {
		t.Fatalf("Create on a held file = %v, %v; want nil, an ErrRunning", f, err)
	}
	var running *pidfile.RunningError
	if !errors.As(err, &running) || running.PID != holder.pid() || running.Path != path {
		t.Fatalf("Create's error = %#v; want a *RunningError with PID %d and Path %q", err, holder.pid(), path)
	}
	want := fmt.Sprintf("already running (pid %d); pid file %s is locked", holder.pid(), path)
	if err.Error() != want {
		t.Errorf("message = %q; want %q", err.Error(), want)
	}
	if got := readFile(t, path); got != fmt.Sprintf("%d\n", holder.pid()) {
		t.Errorf("after the failed Create the file holds %q; want the holder's PID %d", got, holder.pid())
	}
	if pid, err := pidfile.Read(path); err != nil || pid != holder.pid() {
		t.Errorf("Read = %d, %v; want %d, nil", pid, err, holder.pid())
	}
	assertDirHolds(t, dir, "slotrun.pid")
}

func TestCreateTakesOverTheFileOfAKilledHolder(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "slotrun.pid")
	holder := startHelper(t, helperOpts{path: path})
	holder.waitFor(t, readyLine)
	holder.kill()

	if _, err := pidfile.Read(path); !errors.Is(err, pidfile.ErrNotRunning) || !strings.Contains(err.Error(), "stale") {
		t.Fatalf("Read after the holder died: %v; want ErrNotRunning saying the file is stale", err)
	}
	f, err := pidfile.Create(path)
	if err != nil {
		t.Fatalf("Create over a dead holder's file: %v", err)
	}
	t.Cleanup(func() { f.Remove() })
	if f.PID() != os.Getpid() || f.Path() != path {
		t.Errorf("File.PID, File.Path = %d, %q; want %d, %q", f.PID(), f.Path(), os.Getpid(), path)
	}
	if got, want := readFile(t, path), fmt.Sprintf("%d\n", os.Getpid()); got != want {
		t.Errorf("file holds %q after the takeover; want %q", got, want)
	}
	if pid, err := pidfile.Read(path); err != nil || pid != os.Getpid() {
		t.Errorf("Read = %d, %v; want our PID %d", pid, err, os.Getpid())
	}
	assertDirHolds(t, dir, "slotrun.pid")
}

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

func TestCreateWritesThePIDWithModeAndParentDirectory(t *testing.T) {
	base := t.TempDir()
	path := filepath.Join(base, "run", "slotrun", "slotrun.pid")
	f, err := pidfile.Create(path)
	if err != nil {
		t.Fatalf("Create with missing parents: %v", err)
	}
	t.Cleanup(func() { f.Remove() })

	if got, want := readFile(t, path), strconv.Itoa(os.Getpid())+"\n"; got != want {
		t.Errorf("content = %q; want %q", got, want)
	}
	assertMode(t, path, 0o644)
	// MkdirAll's 0755 goes through the umask, as mkdir -p does.
	wantDir := 0o755 &^ umask(t)
	assertMode(t, filepath.Join(base, "run"), wantDir)
	assertMode(t, filepath.Join(base, "run", "slotrun"), wantDir)
	assertDirHolds(t, filepath.Dir(path), "slotrun.pid")
}

func TestCreateModeIgnoresTheUmask(t *testing.T) {
	// In a helper, since the umask is process-wide.
	path := filepath.Join(t.TempDir(), "slotrun.pid")
	holder := startHelper(t, helperOpts{path: path, umask: "077"})
	holder.waitFor(t, readyLine)
	assertMode(t, path, 0o644)
}

func TestCreateRefusesASymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "precious")
	writeFile(t, target, "precious\n")
	path := filepath.Join(dir, "slotrun.pid")
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
	dangling := filepath.Join(dir, "dangling.pid")
	if err := os.Symlink(filepath.Join(dir, "nowhere"), dangling); err != nil {
		t.Fatal(err)
	}

	for _, p := range []string{path, dangling} {
		f, err := pidfile.Create(p)
		if err == nil {
			f.Remove()
			t.Fatalf("Create(%s) on a symlink succeeded; want it refused", p)
		}
		if want := p + ": is a symlink; remove it or choose another --pidfile"; !strings.Contains(err.Error(), want) {
			t.Errorf("Create(%s): %q; want it to say %q", p, err, want)
		}
		if fi, err := os.Lstat(p); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("after Create, %s is no longer the symlink (%v)", p, err)
		}
		if _, err := pidfile.Read(p); err == nil || errors.Is(err, pidfile.ErrNotRunning) || !strings.Contains(err.Error(), "is a symlink") {
			t.Errorf("Read(%s) on a symlink: %v; want an error saying it is a symlink", p, err)
		}
	}
	if got := readFile(t, target); got != "precious\n" {
		t.Errorf("the symlink's target now holds %q; want it untouched", got)
	}
	assertDirHolds(t, dir, "dangling.pid", "precious", "slotrun.pid")
}

func TestCreateRefusesADirectory(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "slotrun.pid")
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := pidfile.Create(path)
	if err == nil {
		f.Remove()
		t.Fatal("Create on a directory succeeded; want it refused")
	}
	if want := path + ": is a directory; remove it or choose another --pidfile"; !strings.Contains(err.Error(), want) {
		t.Errorf("Create on a directory: %q; want it to say %q", err, want)
	}
	if _, err := pidfile.Read(path); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("Read on a directory: %v; want an error saying it is a directory", err)
	}
	if fi, err := os.Stat(path); err != nil || !fi.IsDir() {
		t.Errorf("the directory is gone after Create (%v)", err)
	}
	assertDirHolds(t, dir, "slotrun.pid")
}

func TestChildrenDoNotInheritTheLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "slotrun.pid")
	f, err := pidfile.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Remove() })
	child := startHelper(t, helperOpts{})
	child.waitFor(t, readyLine)

	pidFile, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	fdDir := fmt.Sprintf("/proc/%d/fd", child.pid())
	entries, err := os.ReadDir(fdDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if fi, err := os.Stat(filepath.Join(fdDir, e.Name())); err == nil && os.SameFile(fi, pidFile) {
			t.Fatalf("the child has fd %s open on the PID file; want the descriptor close-on-exec", e.Name())
		}
	}
}

func TestRemoveDeletesOurFileAndReleasesTheLock(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "slotrun.pid")
	f, err := pidfile.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	// A second name for the same inode lets us watch its lock after Remove
	// has unlinked the first.
	alias := filepath.Join(dir, "alias")
	if err := os.Link(path, alias); err != nil {
		t.Fatal(err)
	}
	if pid, err := pidfile.Read(alias); err != nil || pid != os.Getpid() {
		t.Fatalf("Read before Remove = %d, %v; want our PID", pid, err)
	}

	if err := f.Remove(); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after Remove, Lstat = %v; want the file gone", err)
	}
	if _, err := pidfile.Read(alias); !errors.Is(err, pidfile.ErrNotRunning) {
		t.Errorf("after Remove, Read on the same inode: %v; want ErrNotRunning (lock released)", err)
	}
	if _, err := pidfile.Read(path); !errors.Is(err, pidfile.ErrNotRunning) {
		t.Errorf("after Remove, Read: %v; want ErrNotRunning", err)
	}
	if err := f.Remove(); err != nil {
		t.Errorf("second Remove: %v; want nil", err)
	}
	var none *pidfile.File
	if err := none.Remove(); err != nil {
		t.Errorf("Remove on a nil File: %v; want nil", err)
	}
}

func TestRemoveSparesAFileAnotherInstanceCreated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "slotrun.pid")
	f, err := pidfile.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Remove() })
	// Someone deletes our file by hand, and another instance starts.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	other := startHelper(t, helperOpts{path: path})
	other.waitFor(t, readyLine)

	if err := f.Remove(); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if got, want := readFile(t, path), fmt.Sprintf("%d\n", other.pid()); got != want {
		t.Fatalf("after our Remove the file holds %q; want the other instance's %q", got, want)
	}
	if pid, err := pidfile.Read(path); err != nil || pid != other.pid() {
		t.Errorf("Read = %d, %v; want the other instance's PID %d", pid, err, other.pid())
	}
}

func TestRacingCreatorsOnAStaleFileExactlyOneWins(t *testing.T) {
	// Goroutines race as separate instances would: flock locks belong to the
	// open file description, so each Create's descriptor competes. Readers
	// poll throughout and must never see the file missing or half-written.
	const rounds, creators, readers = 20, 8, 4
	for round := range rounds {
		dir := t.TempDir()
		path := filepath.Join(dir, "slotrun.pid")
		writeFile(t, path, fmt.Sprintf("%d\n", neverAPID))

		start, stop := make(chan struct{}), make(chan struct{})
		var creatorsWG, readersWG sync.WaitGroup
		files := make([]*pidfile.File, creators)
		errs := make([]error, creators)
		for i := range creators {
			creatorsWG.Go(func() {
				<-start
				files[i], errs[i] = pidfile.Create(path)
			})
		}
		readerErrs := make(chan error, readers)
		for range readers {
			readersWG.Go(func() {
				<-start
				for {
					select {
					case <-stop:
						return
					default:
					}
					pid, err := pidfile.Read(path)
					if err == nil && pid == os.Getpid() ||
						errors.Is(err, pidfile.ErrNotRunning) && !strings.Contains(err.Error(), "no pid file") {
						continue
					}
					readerErrs <- fmt.Errorf("Read = %d, %v; want our PID or ErrNotRunning for a file that exists", pid, err)
					return
				}
			})
		}
		close(start)
		creatorsWG.Wait()
		close(stop)
		readersWG.Wait()
		close(readerErrs)
		for err := range readerErrs {
			t.Errorf("round %d: %v", round, err)
		}

		var winner *pidfile.File
		for i, err := range errs {
			var running *pidfile.RunningError
			switch {
			case err == nil && winner == nil:
				winner = files[i]
			case err == nil:
				t.Errorf("round %d: two creators won", round)
				files[i].Remove()
			case !errors.As(err, &running):
				t.Errorf("round %d: a loser got %v; want ErrRunning", round, err)
			case running.PID != os.Getpid() && running.PID != neverAPID:
				// neverAPID only if the winner stalled between locking the
				// stale file and renaming its own over it for longer than
				// Create's retry budget.
				t.Errorf("round %d: a loser reports pid %d; want ours, %d", round, running.PID, os.Getpid())
			}
		}
		if winner == nil {
			t.Fatalf("round %d: no creator won; errors: %v", round, errs)
		}
		if pid, err := pidfile.Read(path); err != nil || pid != os.Getpid() {
			t.Errorf("round %d: Read after the race = %d, %v; want our PID", round, pid, err)
		}
		if err := winner.Remove(); err != nil {
			t.Errorf("round %d: Remove: %v", round, err)
		}
		assertDirHolds(t, dir)
		if t.Failed() {
			return
		}
	}
}

func TestRacingProcessesOnAStaleFileExactlyOneWins(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "slotrun.pid")
	writeFile(t, path, fmt.Sprintf("%d\n", neverAPID))
	const n = 6
	helpers := make([]*helper, n)
	for i := range helpers {
		helpers[i] = startHelper(t, helperOpts{path: path, gate: true})
	}
	for _, h := range helpers {
		h.waitFor(t, waitingLine)
	}
	for _, h := range helpers {
		h.release(t)
	}

	var winner *helper
	var losers []int // the PIDs the losers report
	for _, h := range helpers {
		line := h.next(t)
		if line == readyLine {
			if winner != nil {
				t.Fatalf("helpers %d and %d both won", winner.pid(), h.pid())
			}
			winner = h
			continue
		}
		var pid int
		if _, err := fmt.Sscanf(line, runningLine, &pid); err != nil {
			t.Fatalf("helper %d said %q; want %q or %q", h.pid(), line, readyLine, runningLine)
		}
		losers = append(losers, pid)
	}
	if winner == nil {
		t.Fatalf("no helper won; the losers report %v", losers)
	}
	for _, pid := range losers {
		if pid != winner.pid() && pid != neverAPID { // see the goroutine race
			t.Errorf("a loser reports pid %d; want the winner's, %d", pid, winner.pid())
		}
	}
	if pid, err := pidfile.Read(path); err != nil || pid != winner.pid() {
		t.Errorf("Read = %d, %v; want the winner's PID %d", pid, err, winner.pid())
	}
	assertDirHolds(t, dir, "slotrun.pid")
}

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
func holdLock(t *testing.T, path string) {
	t.Helper()
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s has mode %v; want %v", path, got, want)
	}
}

// assertDirHolds checks dir holds exactly names: no temporary file left.
func assertDirHolds(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if !slices.Equal(got, names) {
		t.Errorf("%s holds %q; want %q", dir, got, names)
	}
}

// umask reads this process's umask without changing it.
func umask(t *testing.T) os.FileMode {
	t.Helper()
	status := readFile(t, "/proc/self/status")
	for line := range strings.Lines(status) {
		if v, ok := strings.CutPrefix(line, "Umask:"); ok {
			m, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32)
			if err != nil {
				t.Fatal(err)
			}
			return os.FileMode(m)
		}
	}
	t.Fatal("no Umask line in /proc/self/status")
	return 0
}
