package supervisor

import (
	"os"
	"path"
	"runtime"
	"strconv"
	"strings"
	"sync"
)

// spareThreads is how many OS threads Run has the Go runtime start, beyond
// those it already has, when slotrun runs under a pids limit.
const spareThreads = 6

// reserveThreadsUnderPidsLimit makes the Go runtime start spare OS threads
// now, before any worker exists, if a pids limit applies. Such a limit (a
// container's, a cgroup's) counts threads and processes alike: once the
// workers have used it up, a runtime that needs one more thread for slotrun
// dies ("fatal error: newosproc"), and every worker with it. The runtime
// never ends an idle thread, so threads made here are there when a burst of
// work needs them. Without a limit nothing is reserved: each thread costs
// memory (docs/architecture.md, "Start and exit").
func reserveThreadsUnderPidsLimit() {
	if room, limited := pidsRoom(); limited {
		// Leave most of the room to the workers: a limit so tight that
		// slotrun's spares would crowd them out gets fewer spares.
		reserveThreads(min(spareThreads, room/4))
	}
}

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

// pidsRoom reports whether this process's cgroup, or one above it, has a
// pids.max other than "max" (cgroup v2, or v1's pids controller), and if so
// how many more tasks the tightest of them allows.
func pidsRoom() (room int, limited bool) {
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(data), "\n") {
		// "0::/path" (v2), or "8:pids:/path" (v1).
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		var root string
		switch {
		case parts[0] == "0" && parts[1] == "":
			root = "/sys/fs/cgroup"
		case parts[1] == "pids":
			root = "/sys/fs/cgroup/pids"
		default:
			continue
		}
		for dir := path.Clean(parts[2]); ; dir = path.Dir(dir) {
			if r, ok := roomIn(path.Join(root, dir)); ok && (!limited || r < room) {
				room, limited = r, true
			}
			if dir == "/" {
				break
			}
		}
	}
	return room, limited
}

// roomIn reads pids.max and pids.current of one cgroup directory.
func roomIn(dir string) (room int, limited bool) {
	max, err := readNumber(path.Join(dir, "pids.max"))
	if err != nil {
		return 0, false // "max", or no pids controller here
	}
	current, err := readNumber(path.Join(dir, "pids.current"))
	if err != nil {
		return 0, false
	}
	return max - current, true
}

func readNumber(file string) (int, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(data)))
}
