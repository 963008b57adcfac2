package e2e

import (
	"path/filepath"
	"testing"
)

// TestHTTPBindFailureStartsNothing: an --http address that is not this
// host's, or that another process listens on, stops slotrun before it
// starts anything: exit 1, one line naming --http, the address and the
// reason, and nothing left behind: no PID file or control socket, no
// worker, no entry in a slot table shared with a running slotrun.
func TestHTTPBindFailureStartsNothing(t *testing.T) {
	t.Parallel()
	notHere := "192.0.2.1:0" // TEST-NET-1: documentation only, never a host's
	checkRefusal(t, 1, []string{"slotrun: --http 192.0.2.1:0: the address is not one of this host's (write :PORT to listen on all of them)"},
		"-n", "2", "--http", notHere, "--", workerBin)

	table := filepath.Join(t.TempDir(), "shared.slots")
	first := start(t, "-n", "1", "--slots", "4", "--slots-file", table, "--http", "127.0.0.1:0", "--", workerBin)
	first.waitReady(0, 0)
	inUse := first.httpAddr()
	for _, tc := range []struct{ addr, why string }{
		{notHere, "the address is not one of this host's"},
		{inUse, "address already in use (another process listens there; choose another port, or port 0 for a free one)"},
	} {
		checkRefusal(t, 1, []string{"slotrun: --http " + tc.addr + ": " + tc.why},
			"-n", "3", "--slots", "4", "--slots-file", table, "--http", tc.addr, "--", workerBin)
		for _, h := range holders(t, table) {
			if h.Slot != 0 && h.Alive {
				t.Errorf("--http %s: slot %d is still held by pid %d after the refused start", tc.addr, h.Slot, h.PID)
			}
		}
	}
}
