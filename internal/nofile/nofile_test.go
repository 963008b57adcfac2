package nofile_test

import (
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"

	"github.com/slotrun/slotrun/internal/nofile"
)

// The test binary runs itself again from a shell that lowered the soft
// limit: there AtStart must give the lowered limit, although Go's syscall
// package has raised it by the time the test runs.
func TestAtStartIsTheLimitBeforeGoRaisedIt(t *testing.T) {
	if want := os.Getenv("NOFILE_TEST_SOFT"); want != "" {
		var now syscall.Rlimit
		if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &now); err != nil {
			t.Fatal(err)
		}
		lim, ok := nofile.AtStart()
		if !ok || strconv.FormatUint(lim.Soft, 10) != want || lim.Hard != now.Max {
			t.Fatalf("AtStart() = %+v, %v; want soft %s, hard %d (the limit now: %+v)", lim, ok, want, now.Max, now)
		}
		if now.Cur == lim.Soft {
			t.Fatalf("the soft limit is still %d: Go did not raise it, and this test shows nothing", now.Cur)
		}
		return
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Max < 64 {
		t.Skipf("hard limit %d: too low to lower the soft one and still run a test", lim.Max)
	}
	soft := strconv.FormatUint(lim.Max/2, 10)
	cmd := exec.Command("/bin/sh", "-c", `ulimit -Sn "$1" && exec "$0" -test.run='^TestAtStartIsTheLimitBeforeGoRaisedIt$' -test.v`, os.Args[0], soft)
	cmd.Env = append(os.Environ(), "NOFILE_TEST_SOFT="+soft)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}

func TestNothingToGiveBackWhenGoLeftTheLimitAlone(t *testing.T) {
	t.Cleanup(nofile.SetAtStart(nofile.Limit{Soft: 99, Hard: 100}, true))
	if _, ok := nofile.AtStart(); ok {
		t.Error("AtStart() reported a limit Go does not raise (soft = hard - 1)")
	}
	nofile.SetAtStart(nofile.Limit{Soft: 10, Hard: 100}, false)
	if _, ok := nofile.AtStart(); ok {
		t.Error("AtStart() reported a limit it could not read")
	}
}
