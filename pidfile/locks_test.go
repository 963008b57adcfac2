package pidfile

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseFlockLine(t *testing.T) {
	for _, c := range []struct {
		line string
		want flockLine
		ok   bool
	}{
		{"1: FLOCK  ADVISORY  WRITE 2630 fe:00:9978000 0 EOF", flockLine{pid: 2630, major: 0xfe, minor: 0, ino: 9978000}, true},
		// Major and minor are hex, the inode decimal.
		{"12: FLOCK  ADVISORY  WRITE 7 103:1a:1310742 0 EOF", flockLine{pid: 7, major: 0x103, minor: 0x1a, ino: 1310742}, true},
		// The holder is not visible from this PID namespace.
		{"3: FLOCK  ADVISORY  WRITE 0 00:2d:42 0 EOF", flockLine{pid: 0, major: 0, minor: 0x2d, ino: 42}, true},
		// Waiting for the lock, not holding it; deeper waiters are indented more.
		{"1: -> FLOCK  ADVISORY  WRITE 2748 fe:00:9978000 0 EOF", flockLine{}, false},
		{"1:  -> FLOCK  ADVISORY  WRITE 2749 fe:00:9978000 0 EOF", flockLine{}, false},
		// A shared flock is never what lockHeld saw held.
		{"4: FLOCK  ADVISORY  READ 555 08:01:77 0 EOF", flockLine{}, false},
		// Other kinds of lock, which flock does not conflict with.
		{"2: POSIX  ADVISORY  WRITE 1234 00:1a:42 0 EOF", flockLine{}, false},
		{"5: OFDLCK ADVISORY  WRITE -1 00:1a:42 0 EOF", flockLine{}, false},
		{"6: LEASE  ACTIVE    READ 99 00:1a:42 0 EOF", flockLine{}, false},
		{"7: DELEG  ACTIVE    READ 99 00:1a:42 0 EOF", flockLine{}, false},
		// Malformed or cut short.
		{"8: FLOCK  ADVISORY  WRITE 77 <none>:0 0 EOF", flockLine{}, false},
		{"9: FLOCK  ADVISORY  WRITE x fe:00:1 0 EOF", flockLine{}, false},
		{"9: FLOCK  ADVISORY  WRITE 77 zz:00:1 0 EOF", flockLine{}, false},
		{"9: FLOCK  ADVISORY  WRITE 77 fe:00 0 EOF", flockLine{}, false},
		{"9: FLOCK  ADVISORY  WRITE 77 fe:00:-1 0 EOF", flockLine{}, false},
		{"FLOCK  ADVISORY  WRITE 77 fe:00:1 0 EOF", flockLine{}, false},
		{"9: FLOCK  ADVISORY  WRITE", flockLine{}, false},
		{"", flockLine{}, false},
	} {
		got, ok := parseFlockLine(c.line)
		if ok != c.ok || got != c.want {
			t.Errorf("parseFlockLine(%q) = %+v, %t; want %+v, %t", c.line, got, ok, c.want, c.ok)
		}
	}
}

// TestFlockHolderFindsOurLock: the device and inode of fstat match what
// /proc/locks prints, and the holder is us.
func TestFlockHolderFindsOurLock(t *testing.T) {
	if _, err := os.Stat(procLocks); err != nil {
		t.Skipf("no %s: %v", procLocks, err)
	}
	fd, st := openPIDFileForLocking(t)
	if pid, ok := flockHolder(st); pid != 0 || !ok {
		t.Fatalf("flockHolder on an unlocked file = %d, %t; want 0, true: no holder", pid, ok)
	}
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	if pid, ok := flockHolder(st); !ok || pid != os.Getpid() {
		t.Errorf("flockHolder on our locked file = %d, %t; want %d, true", pid, ok, os.Getpid())
	}
}

func TestHoldsFlockSeesOurLockThroughFdinfo(t *testing.T) {
	fd, st := openPIDFileForLocking(t)
	if holdsFlock(os.Getpid(), st) {
		t.Fatal("holdsFlock = true before the lock is taken")
	}
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	if !holdsFlock(os.Getpid(), st) {
		t.Error("holdsFlock = false for our own exclusive lock")
	}
	if holdsFlock(os.Getppid(), st) {
		t.Error("holdsFlock = true for our parent, which does not have the file open")
	}
}

// openPIDFileForLocking makes a PID file and returns an open, unlocked
// descriptor of it, closed when the test ends, and its fstat.
func openPIDFileForLocking(t *testing.T) (int, *unix.Stat_t) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "slotrun.pid")
	if err := os.WriteFile(path, []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		t.Fatal(err)
	}
	return fd, &st
}
