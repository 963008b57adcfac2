package pidfile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParsePID(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int // 0: not a PID
	}{
		{"123\n", 123},
		{"123", 123}, // echo -n, or a writer that omits the newline
		{"1\n", 1},
		{"2147483647\n", 2147483647},
		{"", 0},
		{"\n", 0},
		{"0\n", 0},  // kill(0, sig) would signal our own process group
		{"-1\n", 0}, // kill(-1, sig) would signal every process we may signal
		{"+5\n", 0},
		{"2147483648\n", 0}, // beyond pid_t
		{"4294967295\n", 0}, // would wrap to -1 in a 32-bit pid_t
		{" 12\n", 0},
		{"12 \n", 0},
		{"12\r\n", 0},
		{"123\n\n", 0},
		{"0x10\n", 0},
		{"abc\n", 0},
	} {
		got, err := parsePID([]byte(c.in))
		if c.want == 0 {
			if !errors.Is(err, errNotPID) {
				t.Errorf("parsePID(%q) = %d, %v; want errNotPID", c.in, got, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("parsePID(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
}

// linkNoReplace is the fallback for filesystems without RENAME_NOREPLACE,
// which the test machine may not have; exercise it directly.
func TestLinkNoReplace(t *testing.T) {
	dir := t.TempDir()
	tmp, path := filepath.Join(dir, "tmp"), filepath.Join(dir, "slotrun.pid")
	if err := os.WriteFile(tmp, []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := linkNoReplace(tmp, path); !errors.Is(err, unix.EEXIST) {
		t.Fatalf("linkNoReplace onto an existing file: %v; want EEXIST", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "2\n" {
		t.Fatalf("the existing file now holds %q; want it untouched", b)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := linkNoReplace(tmp, path); err != nil {
		t.Fatalf("linkNoReplace onto nothing: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "1\n" {
		t.Errorf("the file holds %q; want %q", b, "1\n")
	}
	if _, err := os.Lstat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the temporary name is still there (%v); want it gone", err)
	}
}
