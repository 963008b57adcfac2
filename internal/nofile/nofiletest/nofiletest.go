// Package nofiletest runs a test again in a process started with a soft
// open-file limit below the hard one, which Go's syscall package raises
// as the process starts: the case internal/nofile and internal/forkexec
// are there for.
package nofiletest

import (
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
)

const env = "NOFILE_TEST_SOFT"

// Lowered reports, in the process started with the lowered limit, that
// limit and true. Anywhere else it runs t's test in such a process, fails
// t if it fails there, and returns false: the caller returns.
func Lowered(t *testing.T) (soft uint64, inside bool) {
	t.Helper()
	if v := os.Getenv(env); v != "" {
		soft, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q", env, v)
		}
		var now syscall.Rlimit
		if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &now); err != nil {
			t.Fatal(err)
		}
		if now.Cur == soft {
			t.Fatalf("the soft limit is still %d: Go did not raise it, and this test shows nothing", soft)
		}
		return soft, true
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Max < 64 {
		t.Skipf("hard limit %d: too low to lower the soft one and still run a test", lim.Max)
	}
	soft = lim.Max / 2
	cmd := exec.Command("/bin/sh", "-c", `ulimit -Sn "$1" && exec "$0" -test.run="$2" -test.v`,
		os.Args[0], strconv.FormatUint(soft, 10), "^"+t.Name()+"$")
	// Under -race the race runtime waits a second at exit by default.
	cmd.Env = append(os.Environ(), env+"="+strconv.FormatUint(soft, 10), "GORACE=atexit_sleep_ms=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("with a soft limit of %d: %v\n%s", soft, err, out)
	}
	return 0, false
}
