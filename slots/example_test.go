package slots_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/slotrun/slotrun/slots"
)

// A worker program started by slotrun finds its id in the environment.
func ExampleFromEnv() {
	id, count, ok := slots.FromEnv()
	if !ok {
		log.Fatal("not started by slotrun: no valid COMET_PROCESS_ID")
	}
	fmt.Printf("worker %d of %d\n", id, count)
}

// A worker program started by something else draws its id from a slot table
// it shares with its siblings.
func ExampleGetProcessID() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, ".pid", "app.slots")

	id, err := slots.GetProcessID(path)
	if err != nil {
		log.Fatal(err)
	}
	defer slots.ReleaseProcessID(path)
	fmt.Println("worker id", id)
	// Output: worker id 0
}

// A supervisor holds a slot while its worker restarts, so that no other
// process can take it, then hands it to the new worker.
func ExampleTable_Transfer() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	tbl, err := slots.Open(filepath.Join(dir, "app.slots"), 4)
	if err != nil {
		log.Fatal(err)
	}
	defer tbl.Close()

	supervisor := os.Getpid()
	slot, err := tbl.Acquire(supervisor)
	if err != nil {
		log.Fatal(err)
	}
	// ... start the worker, then: tbl.Transfer(slot, supervisor, workerPID).
	// When it dies: tbl.Transfer(slot, workerPID, supervisor), even after
	// reaping it; at the end: tbl.Release(slot, supervisor).
	if err := tbl.Release(slot, supervisor); err != nil {
		log.Fatal(err)
	}
	for _, h := range tbl.Snapshot() {
		fmt.Println(h.Slot, h.PID, h.Alive)
	}
	// Output:
	// 0 0 false
	// 1 0 false
	// 2 0 false
	// 3 0 false
}
