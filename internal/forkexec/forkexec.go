// Package forkexec starts a worker with what only the child itself can
// tell: its own pid, for LISTEN_PID, which sd_listen_fds(3) requires, and
// the moment it was born, for the slot table (docs/slots.md). Go's
// syscall.ForkExec runs no code of ours between fork and exec, so this
// package forks with a raw clone and runs, in the child, only raw system
// calls on memory prepared before the fork: no allocation, no stack growth,
// no call into the Go runtime (docs/sockets.md, "LISTEN_PID without a
// shim"). Where it is not built (ErrUnsupported), slotrun falls back to
// syscall.ForkExec, and to its exec shim for LISTEN_PID.
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
	Env   []string   // the worker's environment
	Files []*os.File // become fds 0, 1, 2, 3...
	// ListenPID sets LISTEN_PID to the child's own pid, in place of any
	// LISTEN_PID in Env.
	ListenPID bool
}

// Child is what Start tells of the child it started.
type Child struct {
	PID int
	// Born is the boot clock (CLOCK_BOOTTIME, in nanoseconds) as the
	// child read it first thing after the fork: no earlier than the start
	// time the kernel stamped it with (slots.Fork). 0 if it could not.
	Born int64
}

// Start forks and execs path with argv as a worker: leader of its own
// process group, parent-death signal SIGKILL (so the caller must run on a
// thread that lives as long as the child should: the supervisor's locked
// loop thread), signal handlers at their defaults, the open-file limit the
// process was started with (internal/nofile), attr.Files as fds 0.., and,
// with attr.ListenPID, LISTEN_PID=<its pid> in its environment. Like
// syscall.ForkExec it returns once the child has exec'ed, or with the
// exec's error (the child then reaped).
func Start(path string, argv []string, attr Attr) (Child, error) { return start(path, argv, attr) }
