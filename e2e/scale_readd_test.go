package e2e

import (
	"syscall"
	"testing"
)

// TestReAddedSlotShowsItsNewWorker: a slot removed by `scale` and taken
// again holds a new worker, and status shows that worker's life, not the
// one before it: no restarts, no last exit. /metrics agrees on the gauges
// (no last exit code for the slot), and its restart counter goes on from
// where it was: a counter never goes down while slotrun runs.
func TestReAddedSlotShowsItsNewWorker(t *testing.T) {
	t.Parallel()
	p := start(t, "-n", "2", "--min-uptime", "100ms", "--backoff-min", "10ms", "--http", "127.0.0.1:0", "--", workerBin)
	pids := p.waitReady(0, 0, 1)
	addr := p.httpAddr()
	from := p.lineCount()
	syscall.Kill(pids[1], syscall.SIGKILL)
	p.waitReady(from, 1)
	eventually(t, waitFor, "slot 1 restarted once", func() bool {
		return statusOf(t, p.dir).worker(t, 1).Restarts == 1
	})

	mustClient(t, p.dir, "scale", "1")
	from = p.lineCount()
	mustClient(t, p.dir, "scale", "2")
	p.waitReady(from, 1)
	w := statusOf(t, p.dir).worker(t, 1)
	if w.Restarts != 0 || compact(w.LastExit) != "null" {
		t.Errorf("slot 1 after scale 1, scale 2: restarts %d, last_exit %s; want 0 and null, a new worker's", w.Restarts, w.LastExit)
	}
	_, families := scrape(t, addr)
	if v, ok := series(families, "slotrun_worker_restarts_total", "slot", "1"); !ok || v != 1 {
		t.Errorf("slotrun_worker_restarts_total{slot=\"1\"} = %v (present %v); want 1, as before the scale-down", v, ok)
	}
	if v, ok := series(families, "slotrun_worker_last_exit_code", "slot", "1"); ok {
		t.Errorf("slotrun_worker_last_exit_code{slot=\"1\"} = %v; want none, as status has no last exit for the new worker", v)
	}

	// The new worker's own restarts count from there; the counter goes on.
	from = p.lineCount()
	mustClient(t, p.dir, "signal", "--slot", "1", "KILL")
	p.waitReady(from, 1)
	eventually(t, waitFor, "the new worker in slot 1 restarted once", func() bool {
		return statusOf(t, p.dir).worker(t, 1).Restarts == 1
	})
	_, families = scrape(t, addr)
	if v, _ := series(families, "slotrun_worker_restarts_total", "slot", "1"); v != 2 {
		t.Errorf("slotrun_worker_restarts_total{slot=\"1\"} = %v; want 2", v)
	}
	if v, ok := series(families, "slotrun_worker_last_exit_code", "slot", "1"); !ok || v != 128+9 {
		t.Errorf("slotrun_worker_last_exit_code{slot=\"1\"} = %v (present %v); want 137", v, ok)
	}
}
