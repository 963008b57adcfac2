package slots_test

import (
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/slotrun/slotrun/slots"
)

// BenchmarkAcquireRelease: one Acquire and one Release, for this process's
// own pid, on a 64-slot table with free slots.
func BenchmarkAcquireRelease(b *testing.B) {
	tbl := openTable(b, newTable(b, 64), 64)
	pid := os.Getpid()
	for b.Loop() {
		slot, err := tbl.Acquire(pid)
		if err != nil {
			b.Fatal(err)
		}
		if err := tbl.Release(slot, pid); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAcquireFull: Acquire on a table whose every slot has a live
// holder, so it looks at each slot and fails. "self": the holder is this
// process, known without a system call; "other": another process, checked
// through kill and /proc.
func BenchmarkAcquireFull(b *testing.B) {
	for _, bc := range []struct {
		holder string
		size   int
	}{{"self", 64}, {"self", 1024}, {"other", 64}} {
		b.Run(fmt.Sprintf("holder=%s/slots=%d", bc.holder, bc.size), func(b *testing.B) {
			tbl := openTable(b, newTable(b, bc.size), bc.size)
			pid := os.Getpid()
			if bc.holder == "other" {
				c := startChild(b, "block", nil)
				c.expect("ready")
				pid = c.pid
			}
			for i := range bc.size {
				if err := tbl.AcquireSlot(i, pid); err != nil {
					b.Fatal(err)
				}
			}
			me := os.Getpid()
			for b.Loop() {
				if _, err := tbl.Acquire(me); !errors.Is(err, slots.ErrNoFreeSlot) {
					b.Fatalf("Acquire on a full table: %v", err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*bc.size), "ns/slot")
		})
	}
}

// BenchmarkConcurrentAcquireRelease: 8 goroutines of one process Acquire and
// Release on a 64-slot table; b.N pairs in all. Each checks, apart from the
// table, that no other goroutine holds the slot it got.
func BenchmarkConcurrentAcquireRelease(b *testing.B) {
	const goroutines = 8
	tbl := openTable(b, newTable(b, 64), 64)
	b.ResetTimer()
	if err := churnGoroutines(tbl, goroutines, (b.N+goroutines-1)/goroutines); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pairs/s")
}

// BenchmarkProcessesAcquireRelease: 8 processes Acquire and Release on one
// 64-slot table; b.N pairs in all. Each checks that its slot's word stays
// its own from Acquire to Release. Starting the processes is not timed.
func BenchmarkProcessesAcquireRelease(b *testing.B) {
	const procs = 8
	iters := (b.N + procs - 1) / procs
	path := newTable(b, 64)
	b.StopTimer()
	slowest, contended := churnProcesses(b, path, procs, iters, b.StartTimer, b.StopTimer)
	b.ReportMetric(float64(procs*iters)/slowest.Seconds(), "pairs/s")
	b.ReportMetric(float64(contended)/float64(procs*iters), "contended/pair")
}
