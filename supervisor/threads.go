package supervisor

import (
	"runtime"
	"sync"
)

// spareThreads is how many OS threads Run has the Go runtime start before
// any worker exists, beyond those it already has.
const spareThreads = 6

// reserveThreads makes the Go runtime start n more OS threads now and keep
// them parked for later use. A pids limit (a container's, a cgroup's)
// counts threads and processes alike: once the workers have used it up, a
// runtime that needs one more thread for slotrun dies ("fatal error:
// newosproc"), and every worker with it. The runtime never ends an idle
// thread, so threads made here are there when a burst of work needs them.
func reserveThreads(n int) {
	var locked, done sync.WaitGroup
	release := make(chan struct{})
	for range n {
		locked.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			// A locked goroutine keeps its thread to itself, so the
			// others each need one of their own.
			runtime.LockOSThread()
			locked.Done()
			<-release
			runtime.UnlockOSThread()
		}()
	}
	locked.Wait()
	close(release)
	done.Wait()
}
