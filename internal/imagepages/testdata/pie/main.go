// Command pie releases its image's pages and then runs a collection, which
// reads the type data that a position-independent build keeps in its
// RELRO segment: built with -buildmode=pie, it crashes if Release dropped
// the relocated pages. It prints "ok" and exits 0 otherwise.
package main

import (
	"fmt"
	"os"
	"runtime"

	"github.com/slotrun/slotrun/internal/imagepages"
)

func main() {
	if _, err := imagepages.Release(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	runtime.GC()
	m := map[string]any{"list": []string{"x"}}
	errs := make(chan error, 1)
	errs <- fmt.Errorf("wrapped: %w", os.ErrNotExist)
	fmt.Println("ok", len(m), <-errs != nil)
}
