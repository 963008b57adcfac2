package slots_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slotrun/slotrun/internal/testfs"

	"github.com/slotrun/slotrun/slots"
	"golang.org/x/sys/unix"
)

// A 4 KiB file system holds the header and 504 slots.
const tmpfsSize, fitting = 4096, (4096 - 64) / 8

// TestOpenOnAFullFileSystemFails: a table larger than the room left is
// refused with ENOSPC, not mapped: touching a slot of it would fault. The
// failed creation leaves nothing that refuses a smaller table.
func TestOpenOnAFullFileSystemFails(t *testing.T) {
	path := filepath.Join(testfs.MountTmpfs(t, tmpfsSize), "t.slots")
	tbl, err := slots.Open(path, fitting+1)
	if err == nil {
		tbl.Close()
		t.Fatalf("Open(%d slots) on a %d-byte tmpfs succeeded; want ENOSPC (a slot past the room would fault)", fitting+1, tmpfsSize)
	}
	if !errors.Is(err, unix.ENOSPC) || !strings.Contains(err.Error(), path) {
		t.Errorf("Open: %q; want an error that names the file and wraps ENOSPC", err)
	}
	if n := strings.Count(err.Error(), "\n"); n != 0 {
		t.Errorf("Open: the error is %d lines; want one", n+1)
	}

	tbl = openTable(t, path, fitting)
	if got := tbl.Size(); got != fitting {
		t.Fatalf("Size() = %d, want %d", got, fitting)
	}
	for _, h := range tbl.Snapshot() { // touches every slot
		if h.PID != 0 {
			t.Errorf("new table: %+v", h)
		}
	}
}

// TestGrowOnAFullFileSystemKeepsTheTable: a grow that does not fit fails
// and leaves the table as it was, its holders included.
func TestGrowOnAFullFileSystemKeepsTheTable(t *testing.T) {
	path := filepath.Join(testfs.MountTmpfs(t, tmpfsSize), "t.slots")
	small := openTable(t, path, 8)
	me := os.Getpid()
	if err := small.AcquireSlot(3, me); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	tbl, err := slots.Open(path, 600)
	if err == nil {
		tbl.Close()
		t.Fatalf("Open(600 slots) grew an 8-slot table on a %d-byte tmpfs; want ENOSPC", tmpfsSize)
	}
	if !errors.Is(err, unix.ENOSPC) || !strings.Contains(err.Error(), path) {
		t.Errorf("Open: %q; want an error that names the file and wraps ENOSPC", err)
	}
	if after, err := os.ReadFile(path); err != nil || !bytes.Equal(before, after) {
		t.Errorf("the failed grow changed the file: %d bytes before, %d after (%v)", len(before), len(after), err)
	}
	if got := openTable(t, path, 1).Size(); got != 8 {
		t.Errorf("after the failed grow, Size() = %d, want 8", got)
	}
	if err := small.Release(3, me); err != nil {
		t.Errorf("Release of the slot held before the failed grow: %v", err)
	}
}

// TestFailedCreationDoesNotRefuseTheNextOpen: a table that could not be
// created, the file system being full, is created by the next Open once
// there is room.
func TestFailedCreationDoesNotRefuseTheNextOpen(t *testing.T) {
	dir := testfs.MountTmpfs(t, tmpfsSize)
	ballast := filepath.Join(dir, "ballast")
	if err := os.WriteFile(ballast, make([]byte, tmpfsSize), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "t.slots")
	if tbl, err := slots.Open(path, 2); err == nil {
		tbl.Close()
		t.Fatalf("Open on a full tmpfs succeeded; want ENOSPC")
	} else if !errors.Is(err, unix.ENOSPC) {
		t.Errorf("Open on a full tmpfs: %v; want ENOSPC", err)
	}

	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	tbl, err := slots.Open(path, 2)
	if err != nil {
		t.Fatalf("Open once there is room: %v", err)
	}
	defer tbl.Close()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := tableBytes("SLOTRUN1", 1, 2, 0, 0); !bytes.Equal(got, want) {
		t.Errorf("table file:\n got % x\nwant % x", got, want)
	}
}

// TestZeroFilledFileIsAnUnfinishedTable: a file of nothing but zero bytes is
// what a creation that stopped before its header leaves (a crash, a full
// disk): Open creates the table in it. A file with a zero header but
// something else in its slots is not one of those, and is refused.
func TestZeroFilledFileIsAnUnfinishedTable(t *testing.T) {
	for _, n := range []int{1, 63, 64, 80, 64 + 8*20} {
		t.Run(fmt.Sprintf("%d bytes", n), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "t.slots")
			if err := os.WriteFile(path, make([]byte, n), 0o644); err != nil {
				t.Fatal(err)
			}
			tbl := openTable(t, path, 3)
			if got := tbl.Size(); got != 3 {
				t.Errorf("Size() = %d, want 3", got)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if want := tableBytes("SLOTRUN1", 1, 3, 0, 0, 0); !bytes.Equal(got, want) {
				t.Errorf("table file:\n got % x\nwant % x", got, want)
			}
		})
	}

	path := filepath.Join(t.TempDir(), "t.slots")
	data := append(make([]byte, 64), 1, 0, 0, 0, 0, 0, 0, 0)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if tbl, err := slots.Open(path, 3); err == nil {
		tbl.Close()
		t.Errorf("Open of a zero header followed by a non-zero word succeeded; want it refused")
	} else if !errors.Is(err, slots.ErrBadTable) {
		t.Errorf("Open of a zero header followed by a non-zero word: %v; want ErrBadTable", err)
	}
}
