package listen

import "github.com/slotrun/slotrun/internal/execshim"

// ShimArgv is the argv that runs path, as argv, through the exec shim
// (internal/execshim), which sets LISTEN_PID to the worker's own pid and
// execs it: the one step between fork and exec that Go's ForkExec cannot
// take. Only workers that get sockets go through it (docs/sockets.md).
func ShimArgv(path string, argv []string) []string {
	return append([]string{execshim.Arg0, path}, argv...)
}

// ShimPath is what fork runs for the shim: this very binary, even if it was
// replaced or deleted on disk since slotrun started (the forked child's
// /proc/self/exe is slotrun's).
const ShimPath = "/proc/self/exe"
