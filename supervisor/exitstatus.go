package supervisor

import (
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/slotrun/slotrun/internal/signame"
)

// exitStatus is how a worker's main process ended.
type exitStatus struct {
	code   int            // exit code, when signal is 0
	signal syscall.Signal // the signal that killed it, or 0
}

func exitStatusOf(ws unix.WaitStatus) exitStatus {
	if ws.Signaled() {
		return exitStatus{signal: ws.Signal()}
	}
	return exitStatus{code: ws.ExitStatus()}
}

// Code is the exit code a shell would report: the code, or 128+signal.
func (e exitStatus) Code() int {
	if e.signal != 0 {
		return 128 + int(e.signal)
	}
	return e.code
}

func (e exitStatus) success() bool { return e.signal == 0 && e.code == 0 }

// logArgs describe the exit as `code=N` or `signal=KILL`.
func (e exitStatus) logArgs() []any {
	if e.signal != 0 {
		return []any{"signal", signame.Name(e.signal)}
	}
	return []any{"code", e.code}
}
