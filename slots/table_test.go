package slots_test

import (
	"bytes"
	"errors"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/slotrun/slotrun/slots"
)

func TestOpenCreatesTableInTheDocumentedFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing", "dir", "new.slots")
	tbl := openTable(t, path, 3)
	if got := tbl.Size(); got != 3 {
		t.Fatalf("Size() = %d, want 3", got)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := tableBytes("SLOTRUN1", 1, 3, 0, 0, 0); !bytes.Equal(got, want) {
		t.Fatalf("new table file:\n got % x\nwant % x", got, want)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm&^0o644 != 0 {
		t.Errorf("new table has mode %v, want at most 0644", perm)
	}

	// The slot word is pid | tag<<32, little-endian.
	pid := os.Getpid()
	slot, err := tbl.Acquire(pid)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := readWord(t, path, slot), word(pid, mustTag(t, pid)); got != want {
		t.Errorf("slot %d on disk = %#x, want pid|tag<<32 = %#x", slot, got, want)
	}
}

func TestOpenRejectsSizeOutOfRange(t *testing.T) {
	for _, size := range []int{-1, 0, slots.MaxSlots + 1} {
		path := filepath.Join(t.TempDir(), "t.slots")
		if tbl, err := slots.Open(path, size); err == nil {
			tbl.Close()
			t.Errorf("Open(%d slots) succeeded, want an error", size)
		} else if !strings.Contains(err.Error(), path) {
			t.Errorf("Open(%d slots): %q does not name the file", size, err)
		}
		if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Open(%d slots) created the file (%v)", size, err)
		}
	}
	tbl := openTable(t, filepath.Join(t.TempDir(), "max.slots"), slots.MaxSlots)
	if tbl.Size() != slots.MaxSlots {
		t.Errorf("Size() = %d, want %d", tbl.Size(), slots.MaxSlots)
	}
}

// TestOpenRefusesUnsafeOrMalformedFiles: each refusal has its own message,
// which names the file, and leaves the file as it was.
func TestOpenRefusesUnsafeOrMalformedFiles(t *testing.T) {
	valid := tableBytes("SLOTRUN1", 1, 32, make([]uint64, 32)...)
	writeFile := func(data []byte, perm os.FileMode) func(t *testing.T, path string) {
		return func(t *testing.T, path string) {
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			// Chmod, because the umask filters WriteFile's mode.
			if err := os.Chmod(path, perm); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name  string
		setup func(t *testing.T, path string)
		is    error
		says  string
	}{
		{"symlink", func(t *testing.T, path string) {
			target := filepath.Join(t.TempDir(), "real.slots")
			writeFile(valid, 0o644)(t, target)
			if err := os.Symlink(target, path); err != nil {
				t.Fatal(err)
			}
		}, slots.ErrUnsafeFile, "is a symbolic link"},
		{"dangling symlink", func(t *testing.T, path string) {
			if err := os.Symlink(filepath.Join(t.TempDir(), "nowhere"), path); err != nil {
				t.Fatal(err)
			}
		}, slots.ErrUnsafeFile, "is a symbolic link"},
		{"fifo", func(t *testing.T, path string) {
			if err := syscall.Mkfifo(path, 0o644); err != nil {
				t.Fatal(err)
			}
		}, slots.ErrUnsafeFile, "is not a regular file"},
		{"other owner", func(t *testing.T, path string) {
			if os.Geteuid() != 0 {
				t.Skip("needs root to give a file to another user")
			}
			nobody, err := user.Lookup("nobody")
			if err != nil {
				t.Skipf("no user nobody: %v", err)
			}
			uid, _ := strconv.Atoi(nobody.Uid)
			writeFile(valid, 0o644)(t, path)
			if err := os.Chown(path, uid, -1); err != nil {
				t.Fatal(err)
			}
		}, slots.ErrUnsafeFile, "is owned by uid"},
		{"group-writable", writeFile(valid, 0o664), slots.ErrUnsafeFile, "is group-writable (mode 0664)"},
		{"world-writable", writeFile(valid, 0o646), slots.ErrUnsafeFile, "is world-writable (mode 0646)"},
		{"short header", writeFile(valid[:40], 0o644), slots.ErrBadTable, "is 40 bytes, shorter than the 64-byte header"},
		{"wrong magic", writeFile(tableBytes("SLOTRUN2", 1, 1, 0), 0o644), slots.ErrBadTable, `does not start with the magic "SLOTRUN1"`},
		{"wrong version", writeFile(tableBytes("SLOTRUN1", 2, 1, 0), 0o644), slots.ErrBadTable, "has format version 2"},
		{"zero slots", writeFile(tableBytes("SLOTRUN1", 1, 0), 0o644), slots.ErrBadTable, "claims 0 slots"},
		{"absurd slot count", writeFile(tableBytes("SLOTRUN1", 1, 1<<31), 0o644), slots.ErrBadTable, "claims 2147483648 slots"},
		{"truncated", writeFile(valid[:64+8*10], 0o644), slots.ErrBadTable, "header says 32 slots (320 bytes): it was truncated"},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "t.slots")
			tt.setup(t, path)
			before := regularFileBytes(t, path)

			tbl, err := slots.Open(path, 8)
			if err == nil {
				tbl.Close()
				t.Fatalf("Open succeeded, want it refused")
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("error %q is not %v", err, tt.is)
			}
			msg := err.Error()
			if !strings.Contains(msg, path) || !strings.Contains(msg, tt.says) {
				t.Errorf("error %q should name %s and say %q", msg, path, tt.says)
			}
			if other, dup := seen[strings.ReplaceAll(msg, path, "PATH")]; dup {
				t.Errorf("same message as case %q: %q", other, msg)
			}
			seen[strings.ReplaceAll(msg, path, "PATH")] = tt.name
			if after := regularFileBytes(t, path); !bytes.Equal(before, after) {
				t.Errorf("refused file changed: %d bytes before, %d after", len(before), len(after))
			}
		})
	}
}

func TestOpenGrowsButNeverShrinks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.slots")
	t4 := openTable(t, path, 4)
	pid := os.Getpid()
	for range 4 {
		if _, err := t4.Acquire(pid); err != nil {
			t.Fatal(err)
		}
	}

	t8 := openTable(t, path, 8)
	if got := t8.Size(); got != 8 {
		t.Fatalf("after Open(8), Size() = %d, want 8", got)
	}
	if got := t4.Size(); got != 4 {
		t.Errorf("the first handle's Size() = %d, want the 4 it mapped", got)
	}
	// Growing kept the holders and added free slots.
	if slot, err := t8.Acquire(pid); slot != 4 || err != nil {
		t.Errorf("Acquire on the grown table = %d, %v; want slot 4", slot, err)
	}
	// The first handle still works on its part of the table.
	if err := t4.Release(2, pid); err != nil {
		t.Errorf("Release through the first handle: %v", err)
	}
	if h := t8.Snapshot()[2]; h.PID != 0 {
		t.Errorf("slot 2 released through the first handle, but the second sees %+v", h)
	}
	if _, err := t4.Acquire(pid); err != nil {
		t.Errorf("Acquire through the first handle: %v", err)
	}

	t2 := openTable(t, path, 2)
	if got := t2.Size(); got != 8 {
		t.Errorf("Open(2) on an 8-slot table: Size() = %d, want 8", got)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != 64+8*8 {
		t.Errorf("file is %d bytes, want %d", fi.Size(), 64+8*8)
	}
}

func TestGrowDropsBytesPastTheSlotCount(t *testing.T) {
	// A file longer than its count says, as a crash during a grow leaves
	// it: the extra bytes are not slots, and growing must not make them so.
	path := filepath.Join(t.TempDir(), "t.slots")
	data := tableBytes("SLOTRUN1", 1, 1, 0, 0xdeadbeef_00000001, 0xdeadbeef_00000001)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if tbl := openTable(t, path, 1); tbl.Size() != 1 {
		t.Fatalf("Size() = %d, want the 1 slot the header says", tbl.Size())
	}
	tbl := openTable(t, path, 4)
	for _, h := range tbl.Snapshot() {
		if h.PID != 0 || h.Tag != 0 {
			t.Errorf("after growing, %+v; want every slot zero", h)
		}
	}
}

func TestConcurrentOpensAgreeOnSize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.slots")
	sizes := []int{3, 9, 1, 16, 5, 12, 2, 7}
	tables := make([]*slots.Table, len(sizes))
	errs := make([]error, len(sizes))
	var wg sync.WaitGroup
	for i, size := range sizes {
		wg.Go(func() { tables[i], errs[i] = slots.Open(path, size) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open(%d): %v", sizes[i], err)
		}
		defer tables[i].Close()
		if got := tables[i].Size(); got < sizes[i] {
			t.Errorf("Open(%d) gave Size() %d", sizes[i], got)
		}
	}
	if got := openTable(t, path, 1).Size(); got != 16 {
		t.Errorf("final size %d, want the largest asked for, 16", got)
	}
}

func TestClosedTableReturnsErrors(t *testing.T) {
	tbl, err := slots.Open(filepath.Join(t.TempDir(), "t.slots"), 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := tbl.Close(); err != nil {
		t.Fatal(err)
	}
	pid := os.Getpid()
	if _, err := tbl.Acquire(pid); !errors.Is(err, slots.ErrClosed) {
		t.Errorf("Acquire after Close: %v, want ErrClosed", err)
	}
	if err := tbl.AcquireSlot(0, pid); !errors.Is(err, slots.ErrClosed) {
		t.Errorf("AcquireSlot after Close: %v, want ErrClosed", err)
	}
	if err := tbl.Release(0, pid); !errors.Is(err, slots.ErrClosed) {
		t.Errorf("Release after Close: %v, want ErrClosed", err)
	}
	if err := tbl.Transfer(0, pid, pid); !errors.Is(err, slots.ErrClosed) {
		t.Errorf("Transfer after Close: %v, want ErrClosed", err)
	}
	if hs := tbl.Snapshot(); len(hs) != 0 {
		t.Errorf("Snapshot after Close: %v, want none", hs)
	}
	if err := tbl.Close(); !errors.Is(err, slots.ErrClosed) {
		t.Errorf("second Close: %v, want ErrClosed", err)
	}
}

// regularFileBytes returns the contents of path if it is a regular file (a
// FIFO would block the read), else nil.
func regularFileBytes(t *testing.T, path string) []byte {
	t.Helper()
	if fi, err := os.Lstat(path); err != nil || !fi.Mode().IsRegular() {
		return nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
