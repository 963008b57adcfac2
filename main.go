// Command slotrun supervises N copies of a worker program, each with its own
// slot id, and keeps them running. See README.md and docs/architecture.md.
package main

import (
	"os"
)

func main() {
	os.Exit(newCLI(os.Stdout, os.Stderr).run(os.Args[1:]))
}
