package supervisor

import (
	"os"
	"os/exec"
	"syscall"
	"testing"

	"github.com/hashicorp/go-hclog"
)

// A worker that says READY=1 before the loop has recorded it (a fast
// worker on a busy machine) is still placed: its group is led by a child
// of ours, and the loop decides. Anything else is dropped.
func TestNotifyReaderPlacesAWorkerNotYetRecorded(t *testing.T) {
	s := newSupervisor(Options{Slots: 1, Logger: hclog.NewNullLogger()}, newRealSystem())
	child := exec.Command("sleep", "30")
	child.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		child.Process.Kill()
		child.Wait()
	}()
	if got := s.groupOf(child.Process.Pid); got != child.Process.Pid {
		t.Errorf("groupOf(an unrecorded child leading its group) = %d; want %d", got, child.Process.Pid)
	}
	if got := s.groupOf(os.Getppid()); got != 0 {
		t.Errorf("groupOf(our parent) = %d; want 0", got)
	}
	s.srv.groups.add(child.Process.Pid)
	if got := s.groupOf(child.Process.Pid); got != child.Process.Pid {
		t.Errorf("groupOf(a recorded worker) = %d", got)
	}
}
