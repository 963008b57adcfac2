package slots_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slotrun/slotrun/slots"
)

// FuzzOpen uses arbitrary bytes as a slot table file. Whatever they are,
// Open must refuse them with an error naming the file, or give a Table that
// every method can use without a panic or a fault.
func FuzzOpen(f *testing.F) {
	valid := tableBytes("SLOTRUN1", 1, 4, 0, 0, 0, 0)
	f.Add(valid)
	f.Add(tableBytes("SLOTRUN1", 1, 2, word(1, 0), word(1<<22+1, 3)))
	f.Add(valid[:64+8*3])
	f.Add(valid[:63])
	f.Add([]byte{})
	f.Add(tableBytes("SLOTRUN0", 1, 4, 0, 0, 0, 0))
	f.Add(tableBytes("SLOTRUN1", 9, 4, 0, 0, 0, 0))
	f.Add(tableBytes("SLOTRUN1", 1, 0xffffffff))
	f.Add(append(tableBytes("SLOTRUN1", 1, 1, 0), 0xff, 0xff, 0xff))
	me := os.Getpid()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "fuzz.slots")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, 0o644); err != nil {
			t.Fatal(err)
		}
		tbl, err := slots.Open(path, 4)
		if err != nil {
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		defer tbl.Close()

		n := tbl.Size()
		if n < 4 || n > slots.MaxSlots {
			t.Fatalf("Size() = %d, want 4 to %d", n, slots.MaxSlots)
		}
		if fi, err := os.Stat(path); err != nil || fi.Size() < int64(64+8*n) {
			t.Fatalf("file too short for %d slots: %v, %v", n, fi.Size(), err)
		}
		if hs := tbl.Snapshot(); len(hs) != n {
			t.Fatalf("Snapshot has %d entries, want %d", len(hs), n)
		}
		slot, err := tbl.Acquire(me)
		switch {
		case err == nil:
			if err := tbl.Release(slot, me); err != nil {
				t.Fatalf("Release of the slot just acquired: %v", err)
			}
		case !errors.Is(err, slots.ErrNoFreeSlot):
			t.Fatalf("Acquire: %v", err)
		}
		for _, s := range []int{-1, 0, n - 1, n} {
			tbl.AcquireSlot(s, me)
			tbl.Transfer(s, me, me)
			tbl.Release(s, me)
		}
	})
}
