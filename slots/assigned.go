package slots

import (
	"os"
	"strconv"
)

// EnvSlot is the worker's slot in its supervisor's own table. It is the id
// itself unless ids span several supervisors, each with a table of its own
// (slotrun --ordinal K --replicas R: id = K·slots + slot; see
// docs/replicas.md).
const EnvSlot = "SLOTRUN_SLOT"

// assignedFromEnv returns the slot and the id a supervisor gave this
// process: the id from COMET_PROCESS_ID, the slot in the supervisor's table
// from SLOTRUN_SLOT, or the id itself where that is not set. ok is false
// without a valid COMET_PROCESS_ID, or with a SLOTRUN_SLOT that is not a
// number from 0 to the id: then the process takes an id as one not started
// by a supervisor would.
func assignedFromEnv() (slot, id int, ok bool) {
	id, _, ok = FromEnv()
	if !ok {
		return -1, -1, false
	}
	s, set := os.LookupEnv(EnvSlot)
	if !set {
		return id, id, true
	}
	slot, err := strconv.Atoi(s)
	if err != nil || slot < 0 || slot > id {
		return -1, -1, false
	}
	return slot, id, true
}
