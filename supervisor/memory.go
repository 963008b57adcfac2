package supervisor

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/slotrun/slotrun/internal/imagepages"
)

// Memory is settled twice (docs/memory.md): shortly after the first
// workers are started, and once more when each of them has been ready,
// after --min-uptime, since their ready timers and log lines are start-up
// too.

// firstSettleDelay is how long after the start the memory is first
// settled. Not at once: settling is a collection and a walk of slotrun's
// own mappings, about 1 ms of CPU, and on a small machine the workers are
// starting on the other processors right then (docs/performance.md,
// "Start-up of the supervisor"). By this time their start is long over: 64
// workers start in under 80 ms here.
const firstSettleDelay = 100 * time.Millisecond

// settleDue: firstSettleDelay after the start is over.
type settleDue struct{}

func (settleDue) isEvent() {}

// afterStart runs once start has returned, before the loop. With
// --min-uptime 0 every worker is ready already, and nothing is awaited.
func (s *supervisor) afterStart() {
	s.sys.afterFunc(firstSettleDelay, func() { s.post(settleDue{}) })
	for _, sl := range s.slots {
		if sl.active() && sl.state != stateReady {
			sl.awaitedReady = true
			s.awaitingFirstReady++
		}
	}
}

// firstReady settles memory once every worker that was not yet ready when
// the start returned has been ready once: counted, not looked up, since in
// a crash storm a worker is ready at every restart.
func (s *supervisor) firstReady(sl *slot) {
	if !sl.awaitedReady {
		return
	}
	sl.awaitedReady = false
	s.awaitingFirstReady--
	if s.awaitingFirstReady == 0 {
		s.settleMemory()
	}
}

func (s *supervisor) settleMemory() {
	if err := s.sys.settleMemory(); err != nil {
		s.log.Debug("could not give back all start-up memory", "error", err)
		return
	}
	s.log.Debug("start-up memory given back")
}

// settleMemory gives back what the start-up used and will not use again.
//
// First the pages of slotrun's own executable are unmapped: most of them
// served only the start (package initialisation, flags, the config file),
// and what runs from now on maps its pages back in.
//
// Then the garbage is collected and its memory given back now, rather than
// kept by the runtime for the supervisor's whole life; that collection also
// maps back what every collection needs, so what is resident afterwards is
// what the supervisor keeps using. The collector is then told to keep the
// heap small: with the default GOGC of 100 the heap may grow to 4 MiB
// before a collection, more than the rest of the supervisor uses, and
// requests to the control socket and /metrics would take it there over a
// few minutes. At 25 the floor is 1 MiB; the live heap is small, so a
// collection is cheap. Set only after the start, which then runs with no
// collection of its own. GOGC set in the environment wins.
func (realSystem) settleMemory() error {
	_, err := imagepages.Release()
	debug.FreeOSMemory()
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(25)
	}
	if err != nil {
		return fmt.Errorf("settle memory: %w", err)
	}
	return nil
}

// useOneProcessor runs the supervisor's Go code on one processor (P)
// unless GOMAXPROCS is in the environment (docs/memory.md). One goroutine
// owns the supervisor's state and the others wait on I/O, so a second P
// buys no parallelism the supervisor uses; it costs a second set of the
// runtime's per-P caches, more threads with their stacks, and threads
// spinning to look for work after each wake-up. Measured A/B with
// `go run ./bench --only slotrun`: CPU per restart in a crash storm about
// 9% lower, PSS 0.15-0.2 MiB lower, restart latency unchanged. Workers
// inherit nothing of this.
func useOneProcessor() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
}
