// Command slotrun supervises N copies of a worker program, each with its own
// slot id, and keeps them running. See README.md and docs/architecture.md.
package main

import (
	"fmt"
	"os"

	"github.com/slotrun/slotrun/internal/sigstate"
	// First of all, in its init: as a worker's exec shim, this process
	// only sets LISTEN_PID and becomes the worker.
	_ "github.com/slotrun/slotrun/internal/execshim"
)

func main() {
	// Before anything else: workers get the signal state slotrun has, and
	// a parent may have blocked or ignored signals (docs/output.md).
	// With signals blocked this execs slotrun again, with the same PID.
	if err := sigstate.Clean(); err != nil {
		fmt.Fprintf(os.Stderr, "slotrun: warning: %v; workers may start with signals blocked or ignored\n", err)
	}
	os.Exit(newCLI(os.Stdout, os.Stderr).run(os.Args[1:]))
}
