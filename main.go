// Command slotrun supervises N copies of a worker program, each with its own
// slot id, and keeps them running. See README.md and DESIGN.md.
package main

import (
	"os"

	"github.com/slotrun/slotrun/listen"
)

func main() {
	// Before anything else: as a worker's exec shim, this process only sets
	// LISTEN_PID and becomes the worker.
	listen.RunShimIfAsked()
	os.Exit(newCLI(os.Stdout, os.Stderr).run(os.Args[1:]))
}
