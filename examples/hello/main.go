// Command hello is the smallest useful slotrun worker: it learns its slot id
// from the environment, says hello, reports the signals it gets, and stops
// on TERM. Try it:
//
//	CGO_ENABLED=0 go build -o bin/ . ./examples/hello && bin/slotrun -n 4 -- bin/hello
//
// then, from another shell in the same directory, `bin/slotrun signal HUP`,
// or `kill -9` one worker and watch it come back with the same id.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/slotrun/slotrun/slots"
)

func main() {
	id, count, ok := slots.FromEnv()
	if !ok {
		fmt.Fprintln(os.Stderr, "hello: run me under slotrun: COMET_PROCESS_ID is not set")
		os.Exit(2)
	}
	// Handle signals before saying hello: a TERM that follows the hello
	// at once must find the handler in place, not kill us.
	// Room for each signal asked for: os/signal drops a signal whose
	// channel is full, and a TERM must not be lost behind a HUP that
	// came with it.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGTERM, syscall.SIGINT)
	fmt.Printf("worker %d of %d: hello (pid %d)\n", id, count, os.Getpid())
	for sig := range sigs {
		if sig == syscall.SIGTERM || sig == syscall.SIGINT {
			fmt.Printf("worker %d: %v, goodbye\n", id, sig)
			return
		}
		fmt.Printf("worker %d: got %v\n", id, sig)
	}
}
