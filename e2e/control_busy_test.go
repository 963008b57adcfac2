package e2e

import (
	"strings"
	"testing"
)

// These tests hold the control requests to what a user means while slots
// are busy: stopping after a scale-down, or in a backoff.

// TestSignalReachesAStoppingWorker: a worker that does not stop (it
// ignores TERM) still gets a signal sent to its slot, KILL included, so a
// user can end it without waiting out the stop timeout. Before, signal
// --slot said "slot 1 is not in use (slots in use: 0)" while status
// showed the slot stopping with its pid.
func TestSignalReachesAStoppingWorker(t *testing.T) {
	t.Parallel()
	p := start(t, "-n", "2", "--stop-timeout", "1m", "--", workerBin, "-ignore-term")
	p.waitReady(0, 0, 1)
	mustClient(t, p.dir, "scale", "--no-wait", "1")
	p.waitStderr(`slot-1: scaling down`)
	mustClient(t, p.dir, "signal", "--slot", "1", "USR1")
	p.waitStdout(`^signal id=1 .*sig=USR1`)
	mustClient(t, p.dir, "signal", "--slot", "1", "KILL")
	eventually(t, waitFor, "slot 1 gone after its KILL", func() bool {
		return !strings.Contains(mustClient(t, p.dir, "status", "--json"), `"slot": 1`)
	})
	code, _, errs := client(t, p.dir, "signal", "--slot", "1", "HUP")
	if want := "slotrun: signal: slot 1 is not in use (slots in use: 0)\n"; code != 1 || errs != want {
		t.Errorf("signal to a slot given up: exit %d, %q; want 1, %q", code, errs, want)
	}
}
