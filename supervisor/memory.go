package supervisor

import (
	"os"
	"runtime/debug"
)

// settleMemory runs once the first workers are started. The start's
// garbage (every worker's environment, the log lines) is collected and its
// memory given back now, rather than kept by the runtime for the
// supervisor's whole life. Then the collector is told to keep the heap
// small: with the default GOGC of 100 the heap may grow to 4 MiB before a
// collection, more than the rest of the supervisor uses, and requests to
// the control socket and /metrics would take it there over a few minutes.
// At 25 the floor is 1 MiB; the live heap is small, so a collection is
// cheap. Set only after the start, which then runs with no collection of
// its own. GOGC set in the environment wins (docs/control.md, "Memory").
func settleMemory() {
	debug.FreeOSMemory()
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(25)
	}
}
