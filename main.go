// Command slotrun supervises N copies of a worker program, each with its own
// slot id, and keeps them running. See README.md and DESIGN.md.
package main

import (
	"os"

	// First of all, in its init: as a worker's exec shim, this process
	// only sets LISTEN_PID and becomes the worker.
	_ "github.com/slotrun/slotrun/internal/execshim"
)

func main() {
	os.Exit(newCLI(os.Stdout, os.Stderr).run(os.Args[1:]))
}
