package slots_test

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slotrun/slotrun/slots"
)

// churnGoroutines has each of n goroutines Acquire and Release a slot of tbl
// iters times, retrying while the table is full. All share one pid, so the
// table cannot tell them apart: each marks the slot it got in owner with a
// compare-and-swap, which fails if another goroutine holds the same slot.
func churnGoroutines(tbl *slots.Table, n, iters int) error {
	pid := os.Getpid()
	owner := make([]atomic.Int32, tbl.Size())
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for g := int32(1); g <= int32(n); g++ {
		wg.Go(func() {
			for range iters {
				var slot int
				for {
					var err error
					slot, err = tbl.Acquire(pid)
					if err == nil {
						break
					}
					if !errors.Is(err, slots.ErrNoFreeSlot) {
						errs <- err
						return
					}
				}
				if !owner[slot].CompareAndSwap(0, g) {
					errs <- fmt.Errorf("goroutine %d got slot %d, which goroutine %d holds", g, slot, owner[slot].Load())
					return
				}
				if !owner[slot].CompareAndSwap(g, 0) {
					errs <- fmt.Errorf("goroutine %d: slot %d was taken from it by goroutine %d", g, slot, owner[slot].Load())
					return
				}
				if err := tbl.Release(slot, pid); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func TestGoroutinesNeverShareASlot(t *testing.T) {
	for _, size := range []int{4, 64} { // fewer slots than goroutines, and more
		t.Run(fmt.Sprintf("%d slots", size), func(t *testing.T) {
			tbl := openTable(t, newTable(t, size), size)
			if err := churnGoroutines(tbl, 8, 2000); err != nil {
				t.Fatal(err)
			}
			for _, h := range tbl.Snapshot() {
				if h.PID != 0 {
					t.Errorf("after all released: %+v", h)
				}
			}
		})
	}
}

// churnProcesses runs n churn helpers of iters Acquire/Release pairs each on
// the table at path, released all at once. It returns how long the slowest
// took by its own clock, and how many pairs met another process's holder. Each helper checks that its slot's word stays its
// own from Acquire to Release. goFunc is called just before they are released,
// done when all have reported.
func churnProcesses(tb testing.TB, path string, n, iters int, goFunc, done func()) (slowest time.Duration, contended int) {
	tb.Helper()
	gateR, open := gate(tb)
	children := make([]*child, n)
	for i := range children {
		children[i] = startChild(tb, "churn", []string{"SLOTS_TEST_PATH=" + path, "SLOTS_TEST_ITER=" + strconv.Itoa(iters)}, gateR)
	}
	for _, c := range children {
		c.expect("ready")
	}
	goFunc()
	open()
	for _, c := range children {
		line := c.line()
		var it, full, higher int
		var ns int64
		if _, err := fmt.Sscanf(line, "done %d %d %d %d", &it, &full, &higher, &ns); err != nil || it != iters {
			c.wait()
			tb.Fatalf("churn pid %d said %q, want \"done %d ...\"; stderr: %s", c.pid, line, iters, c.errb.String())
		}
		slowest = max(slowest, time.Duration(ns))
		contended += full + higher
	}
	done()
	for _, c := range children {
		if code := c.wait(); code != 0 {
			tb.Fatalf("churn pid %d exited %d; stderr: %s", c.pid, code, c.errb.String())
		}
	}
	return slowest, contended
}

func TestProcessesNeverShareASlot(t *testing.T) {
	const procs, iters = 8, 5000
	path := newTable(t, 4) // fewer slots than processes: they wait for each other
	elapsed, contended := churnProcesses(t, path, procs, iters, func() {}, func() {})
	// Whether the processes overlapped is up to the scheduler, so it is
	// reported, not required.
	t.Logf("%d processes × %d Acquire/Release pairs on 4 slots: %v; %d met another holder",
		procs, iters, elapsed, contended)
	for _, h := range openTable(t, path, 1).Snapshot() {
		if h.PID != 0 {
			t.Errorf("after all released: %+v", h)
		}
	}
}
