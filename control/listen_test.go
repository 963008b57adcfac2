package control

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestListenMakesAPrivateSocketWhateverTheUmask: the mode comes from the
// socket before bind, not from the umask.
func TestListenMakesAPrivateSocketWhateverTheUmask(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "s.sock")
	l, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	st, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Type() != os.ModeSocket || st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v; want a socket, 0600", st.Mode())
	}
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("cannot connect to the socket: %v", err)
	}
	c.Close()
}

// TestListenReplacesAStaleSocketButNotAFile: a socket left behind is
// replaced; a regular file in the way is left alone and refused.
func TestListenReplacesAStaleSocketButNotAFile(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, "stale.sock")
	l, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	l2, err := Listen(stale)
	if err != nil {
		t.Fatalf("a stale socket was not replaced: %v", err)
	}
	l2.Close()

	file := filepath.Join(dir, "data.sock")
	if err := os.WriteFile(file, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(file); err == nil || !strings.Contains(err.Error(), "not a socket is in the way") {
		t.Errorf("Listen over a regular file: %v", err)
	}
	if b, _ := os.ReadFile(file); string(b) != "keep" {
		t.Error("the regular file was touched")
	}
}

func TestCheckPathNamesTheLimit(t *testing.T) {
	ok := "/" + strings.Repeat("a", MaxPathLen-1)
	if err := CheckPath(ok); err != nil {
		t.Errorf("a %d-byte path: %v", len(ok), err)
	}
	long := ok + "a"
	err := CheckPath(long)
	if err == nil || !strings.Contains(err.Error(), "108 bytes long, more than a unix socket's limit of 107") {
		t.Errorf("a 108-byte path: %v", err)
	}
	if _, err := Listen(long); err == nil || errors.Is(err, syscall.EINVAL) {
		t.Errorf("Listen(108 bytes) = %v; want the clear error, before any syscall", err)
	}
}

// TestListenRefusesASocketInUse: a socket another process listens on is
// neither removed nor taken over.
func TestListenRefusesASocketInUse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "live.sock")
	live, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	if l, err := Listen(path); err == nil {
		l.Close()
		t.Fatal("Listen took over a socket another process listens on")
	} else if !strings.Contains(err.Error(), "--control "+path+": in use by another process") {
		t.Errorf("Listen on a live socket: %v; want it to say the path is in use", err)
	}
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("the live socket no longer answers: %v", err)
	}
	c.Close()
}
