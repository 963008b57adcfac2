package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// The crash storm ends with a look at slotrun's slot table, read straight
// from the file (docs/slots.md) rather than through the slots package, so
// the check is as black-box as the rest of the bench:
//
//	offset 0   "SLOTRUN1", version uint32, count uint32, 48 reserved bytes
//	offset 64  slot i: uint64 LE at 64+8*i = pid | start-time tag << 32

const slotHeader = 64

func readSlotTable(path string) ([]uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < slotHeader || string(b[:8]) != "SLOTRUN1" {
		return nil, fmt.Errorf("%s: not a slot table", path)
	}
	count := int(binary.LittleEndian.Uint32(b[12:16]))
	if len(b) < slotHeader+8*count {
		return nil, fmt.Errorf("%s: %d bytes, too short for %d slots", path, len(b), count)
	}
	words := make([]uint64, count)
	for i := range words {
		words[i] = binary.LittleEndian.Uint64(b[slotHeader+8*i:])
	}
	return words, nil
}

// slotCensus says who holds the slots of a table at one moment.
type slotCensus struct {
	Workers    int `json:"workers"`    // distinct live workers
	Supervisor int `json:"supervisor"` // held by the supervisor while the slot waits
	Dead       int `json:"dead"`       // holder gone (a worker that just died)
	Free       int `json:"free"`       // nobody: never allowed while slotrun runs
	Shared     int `json:"shared"`     // a worker named by two slots: never allowed
	WrongSlot  int `json:"wrong_slot"` // a worker in a slot that is not its COMET_PROCESS_ID
}

// ok reports whether every slot is held exactly once by a live worker.
func (c slotCensus) ok(n int) bool {
	return c.Workers == n && c.Free == 0 && c.Shared == 0 && c.WrongSlot == 0
}

func (c slotCensus) String() string {
	return fmt.Sprintf("%d workers, %d held by supervisor, %d dead holders, %d free, %d shared, %d in the wrong slot",
		c.Workers, c.Supervisor, c.Dead, c.Free, c.Shared, c.WrongSlot)
}

// census classifies every slot word. A holder is alive when it runs, is not
// a zombie, and its start time matches the tag (else its pid was reused).
func census(words []uint64, supervisor int) slotCensus {
	var c slotCensus
	seen := map[int]bool{}
	for i, w := range words {
		pid, tag := int(uint32(w)), uint32(w>>32)
		switch {
		case w == 0:
			c.Free++
		case !holderAlive(pid, tag):
			c.Dead++
		case pid == supervisor:
			c.Supervisor++
		case seen[pid]:
			c.Shared++
		default:
			id, ok := environ(pid, "COMET_PROCESS_ID")
			if !ok || !holderAlive(pid, tag) {
				// Died while we looked. A process that is exiting
				// but not yet a zombie has already lost its
				// environment: /proc/PID/environ reads empty.
				c.Dead++
				continue
			}
			seen[pid] = true
			c.Workers++
			if id != strconv.Itoa(i) {
				c.WrongSlot++
			}
		}
	}
	return c
}

func holderAlive(pid int, tag uint32) bool {
	st, err := readStat(pid)
	return err == nil && st.state != 'Z' && st.state != 'X' && uint32(st.startTime) == tag
}

// checkSlotsAfterStorm looks at the table the moment the storm window ends,
// then lets the workers stay up (the calm file) and waits until every slot
// is held by exactly one live worker of its own id. It returns the two
// censuses and whether the table is sound: never a free or shared slot,
// and in the end one worker per slot.
func checkSlotsAfterStorm(in *instance) (during, after slotCensus, err error) {
	path := filepath.Join(in.dir, ".pid", "slotrun.slots")
	words, err := readSlotTable(path)
	if err != nil {
		return during, after, err
	}
	during = census(words, in.sup.pid)
	if err := os.WriteFile(in.calm, nil, 0o644); err != nil {
		return during, after, err
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		in.settle()
		if words, err = readSlotTable(path); err != nil {
			return during, after, err
		}
		after = census(words, in.sup.pid)
		if after.ok(in.n) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if during.Free > 0 || during.Shared > 0 || during.WrongSlot > 0 || !after.ok(in.n) {
		return during, after, fmt.Errorf("slot table unsound: during the storm: %v; after: %v", during, after)
	}
	return during, after, nil
}
