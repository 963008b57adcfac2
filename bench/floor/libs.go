//go:build benchlibs

package main

// The floor-libs build: the same program, with the libraries slotrun
// links linked too.
import _ "github.com/slotrun/slotrun/bench/internal/contractlibs"
