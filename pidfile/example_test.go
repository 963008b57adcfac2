package pidfile_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/slotrun/slotrun/pidfile"
)

func Example() {
	dir, err := os.MkdirTemp("", "pidfile-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, ".pid", "slotrun.pid")

	f, err := pidfile.Create(path) // held until Remove or exit
	if err != nil {
		fmt.Println("slotrun: " + err.Error())
		return
	}
	defer f.Remove()

	// A second instance is refused, and learns who holds the file.
	_, err = pidfile.Create(path)
	var running *pidfile.RunningError
	fmt.Println(errors.Is(err, pidfile.ErrRunning), errors.As(err, &running) && running.PID == os.Getpid())

	// Readers trust the PID only while its lock is held.
	pid, err := pidfile.Read(path)
	fmt.Println(pid == os.Getpid(), err)

	f.Remove()
	_, err = pidfile.Read(path)
	fmt.Println(errors.Is(err, pidfile.ErrNotRunning))
	// Output:
	// true true
	// true <nil>
	// true
}
