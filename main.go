// Command slotrun supervises N copies of a worker program, each with its own
// slot id, and keeps them running. See README.md and docs/architecture.md.
package main

import (
	"fmt"
	"os"

	// First of all, in its init: a clean signal state, and for a
	// supervisor the signals caught while the rest initialises (and, in
	// a worker's exec shim, only LISTEN_PID set before the worker).
	"github.com/slotrun/slotrun/internal/prestart"
)

func main() {
	if err := prestart.CleanErr; err != nil {
		fmt.Fprintf(os.Stderr, "slotrun: warning: %v; workers may start with signals blocked or ignored\n", err)
	}
	os.Exit(newCLI(os.Stdout, os.Stderr).run(os.Args[1:]))
}
