package e2e

import (
	"os"
	"path/filepath"
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

// crashUntil is a worker command whose slot 1 fails at once until the
// file ok exists in its directory; slot 0 always runs.
func crashUntil() []string {
	return []string{"sh", "-c", `[ "$COMET_PROCESS_ID" = 0 ] || [ -e ok ] || exit 3; exec "$0" "$@"`, workerBin}
}

// TestRestartOfASlotInBackoffStartsItNow: a slot waiting out a long
// backoff after its crashes is started at once by `restart --slot 1` (a
// fix was deployed), and restart returns once it is ready. Before, restart
// exited 0 at once, started nothing and counted a completed restart.
func TestRestartOfASlotInBackoffStartsItNow(t *testing.T) {
	t.Parallel()
	p := start(t, append([]string{"-n", "2", "--min-uptime", "200ms", "--backoff-min", "1h", "--backoff-max", "1h", "--"}, crashUntil()...)...)
	p.waitReady(0, 0)
	p.waitStderr(`slot-1: restart scheduled: .*delay=1h0m0s`)
	touch(t, p.dir, "ok")
	mustClient(t, p.dir, "restart", "--slot", "1")
	st := statusOf(t, p.dir)
	if len(st.Workers) != 2 || st.Workers[1].State != "ready" {
		t.Errorf("after restart --slot 1 of a slot in backoff: %+v; want slot 1 ready", st.Workers)
	}
}

// TestRestartOfAllStartsTheSlotsInBackoff: `restart` of every slot starts
// those in backoff too, one at a time with the others.
func TestRestartOfAllStartsTheSlotsInBackoff(t *testing.T) {
	t.Parallel()
	p := start(t, append([]string{"-n", "2", "--min-uptime", "200ms", "--backoff-min", "1h", "--backoff-max", "1h", "--"}, crashUntil()...)...)
	first := p.waitReady(0, 0)[0]
	p.waitStderr(`slot-1: restart scheduled: .*delay=1h0m0s`)
	touch(t, p.dir, "ok")
	mustClient(t, p.dir, "restart")
	st := statusOf(t, p.dir)
	if len(st.Workers) != 2 || st.Workers[0].State != "ready" || st.Workers[1].State != "ready" || st.Workers[0].PID == first {
		t.Errorf("after restart with slot 1 in backoff: %+v; want both ready, slot 0 with a new worker (not pid %d)", st.Workers, first)
	}
}

func touch(t *testing.T, dir, name string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestScaleUpWhileAScaledDownWorkerStops: `scale 3` while the worker that
// `scale 1` removed still stops (it ignores TERM) takes its slot back and
// waits until a new worker runs there; exit 0, three workers. Before, it
// started slot 2, then exited 1 saying every free slot was held by
// another process, and logged advice to raise --slots.
func TestScaleUpWhileAScaledDownWorkerStops(t *testing.T) {
	t.Parallel()
	p := start(t, "-n", "2", "--slots", "3", "--stop-timeout", "1s", "--", workerBin, "-ignore-term")
	old := p.waitReady(0, 0, 1)[1]
	mustClient(t, p.dir, "scale", "--no-wait", "1")
	p.waitStderr(`slot-1: scaling down`)
	if code, _, errs := client(t, p.dir, "scale", "3"); code != 0 {
		t.Fatalf("scale 3 while slot 1 stops: exit %d, %q; want 0", code, errs)
	}
	st := statusOf(t, p.dir)
	if len(st.Workers) != 3 || st.Desired != 3 || st.Workers[1].PID == old || st.Workers[1].State == "stopping" {
		t.Errorf("after scale 3: desired %d, workers %+v; want 3, slot 1 with a new worker (not pid %d)", st.Desired, st.Workers, old)
	}
	if strings.Contains(p.stderr.text(), "--slots larger") {
		t.Error("the log advises a larger --slots, though a slot of this supervisor was only stopping")
	}
}
