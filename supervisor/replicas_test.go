package supervisor

import (
	"slices"
	"syscall"
	"testing"
)

// wantIDs checks what slot's current worker was told: its id across the
// replicas, its slot in this host's table, and the id count.
func (h *harness) wantIDs(slot int, id, slotEnv, count string) {
	h.t.Helper()
	env := h.proc(slot).env
	for _, kv := range []string{"COMET_PROCESS_ID=" + id, "SLOTRUN_SLOT=" + slotEnv, "COMET_PROCESS_COUNT=" + count} {
		if !slices.Contains(env, kv) {
			h.t.Errorf("slot %d: the worker's environment lacks %s: %q", slot, kv, env)
		}
	}
}

// Copy 2 of 3, 4 slots each: ids 8..11 of 12, in every worker's
// environment and every slot's log lines, through a crash and scaling;
// the slot table and the slots themselves stay this host's 0..3.
func TestOrdinalMakesIDsGlobal(t *testing.T) {
	opts := testOptions(2)
	opts.Slots, opts.Ordinal, opts.Replicas = 4, 2, 3
	h := start(t, opts)
	h.wantStates("starting starting idle idle")
	h.wantIDs(0, "8", "0", "12")
	h.wantIDs(1, "9", "1", "12")
	h.wantTableHolder(1, h.pid(1))
	h.wantLog("worker started", "slot=1", "id=9")

	old := h.pid(1)
	h.exit(1, killedBy(syscall.SIGKILL))
	h.advance(opts.BackoffMax)
	if h.pid(1) == old || h.pid(1) == 0 {
		t.Fatalf("slot 1 was not restarted")
	}
	h.wantIDs(1, "9", "1", "12")
	h.wantLog("worker exited", "slot=1", "id=9")

	h.signal(syscall.SIGTTIN)
	h.signal(syscall.SIGTTIN)
	h.wantStates("ready ready starting starting")
	h.wantIDs(2, "10", "2", "12")
	h.wantIDs(3, "11", "3", "12")
	h.wantTableHolder(3, h.pid(3))
}

// Without replicas the id is the slot, as it always was.
func TestWithoutReplicasTheIDIsTheSlot(t *testing.T) {
	opts := testOptions(3)
	h := start(t, opts)
	for slot := range 3 {
		n := string(rune('0' + slot))
		h.wantIDs(slot, n, n, "3")
	}
}
