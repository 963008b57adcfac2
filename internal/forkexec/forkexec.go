// Package forkexec starts a worker with LISTEN_PID set to the worker's own
// pid, which sd_listen_fds(3) requires and which only exists once the child
// is forked. Go's syscall.ForkExec runs no code of ours between fork and
// exec, so this package forks with a raw clone and runs, in the child, only
// raw system calls on memory prepared before the fork: no allocation, no
// stack growth, no call into the Go runtime (docs/sockets.md, "LISTEN_PID
// without a shim"). Where it is not built (ErrUnsupported), slotrun falls
// back to its exec shim.
package forkexec

import (
	"errors"
	"os"
)

// ErrUnsupported is Start's error on a platform where it is not built.
var ErrUnsupported = errors.New("forkexec: not supported on this platform")

// PIDKey is the variable Start sets to the child's pid.
const PIDKey = "LISTEN_PID="

// Attr is what Start needs besides the program.
type Attr struct {
	Env   []string   // the worker's environment; any LISTEN_PID in it is replaced
	Files []*os.File // become fds 0, 1, 2, 3...
}

// Start forks and execs path with argv as a worker: leader of its own
// process group, parent-death signal SIGKILL (so the caller must run on a
// thread that lives as long as the child should: the supervisor's locked
// loop thread), signal handlers at their defaults, attr.Files as fds 0..,
// and LISTEN_PID=<its pid> in its environment. Like syscall.ForkExec it
// returns once the child has exec'ed, or with the exec's error (the child
// then reaped).
func Start(path string, argv []string, attr Attr) (int, error) { return start(path, argv, attr) }
