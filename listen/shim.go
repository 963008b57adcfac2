package listen

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// ShimArg0 is argv[0] of slotrun's own binary run as the exec shim: the
// one step that must run between fork and the worker's exec, setting
// LISTEN_PID to the worker's pid, which Go's ForkExec cannot do. Only
// workers that get sockets go through it (docs/sockets.md).
const ShimArg0 = "slotrun-listen-exec"

// ShimArgv is the argv that runs path, as argv, through the shim.
func ShimArgv(path string, argv []string) []string {
	return append([]string{ShimArg0, path}, argv...)
}

// ShimPath is what fork runs for the shim: this very binary, even if it was
// replaced or deleted on disk since slotrun started (the forked child's
// /proc/self/exe is slotrun's).
const ShimPath = "/proc/self/exe"

// RunShimIfAsked is called first thing in main. In the shim it sets
// LISTEN_PID to its own pid and execs the worker, or exits 127 (not found)
// or 126 (cannot run it), as a shell would; otherwise it returns.
func RunShimIfAsked() {
	if len(os.Args) < 3 || os.Args[0] != ShimArg0 {
		return
	}
	path, argv := os.Args[1], os.Args[2:]
	env := os.Environ()
	pid := EnvPID + "=" + strconv.Itoa(os.Getpid())
	set := false
	for i, kv := range env {
		if len(kv) > len(EnvPID) && kv[:len(EnvPID)+1] == EnvPID+"=" {
			env[i], set = pid, true
		}
	}
	if !set {
		env = append(env, pid)
	}
	err := syscall.Exec(path, argv, env)
	fmt.Fprintf(os.Stderr, "slotrun: %s: cannot run it: %v\n", path, err)
	if errors.Is(err, syscall.ENOENT) {
		os.Exit(127)
	}
	os.Exit(126)
}
