package nofile_test

import (
	"syscall"
	"testing"

	"github.com/slotrun/slotrun/internal/nofile"
	"github.com/slotrun/slotrun/internal/nofile/nofiletest"
)

// In a process started with a lowered soft limit, AtStart gives that
// limit, although Go's syscall package has raised it by the time the test
// runs.
func TestAtStartIsTheLimitBeforeGoRaisedIt(t *testing.T) {
	soft, inside := nofiletest.Lowered(t)
	if !inside {
		return
	}
	var now syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &now); err != nil {
		t.Fatal(err)
	}
	if lim, ok := nofile.AtStart(); !ok || lim.Soft != soft || lim.Hard != now.Max {
		t.Fatalf("AtStart() = %+v, %v; want soft %d, hard %d (the limit now: %+v)", lim, ok, soft, now.Max, now)
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
