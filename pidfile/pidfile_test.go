package pidfile_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
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

// TestRemoveTakesTheDirectoriesCreateMade: a failed start leaves nothing
// behind; a directory that holds something else stays.
func TestRemoveTakesTheDirectoriesCreateMade(t *testing.T) {
	root := t.TempDir()
	f, err := pidfile.Create(filepath.Join(root, "a", "b", "x.pid"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Remove(); err != nil {
		t.Fatal(err)
	}
	assertDirHolds(t, root)

	f, err = pidfile.Create(filepath.Join(root, "a", "b", "x.pid"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, "a", "b", "x.slots"), "")
	if err := f.Remove(); err != nil {
		t.Fatal(err)
	}
	assertDirHolds(t, filepath.Join(root, "a", "b"), "x.slots")
}
