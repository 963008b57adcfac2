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

// childChange is what wait4 reports of a child: it ended, or (job control)
// it was stopped or continued and still lives.
type childChange struct {
	exit      exitStatus     // how it ended, when it did
	stopped   syscall.Signal // it was stopped by this signal
	continued bool           // it was continued after a stop
}

func (c childChange) ended() bool { return c.stopped == 0 && !c.continued }

func childChangeOf(ws unix.WaitStatus) childChange {
	switch {
	case ws.Stopped():
		return childChange{stopped: ws.StopSignal()}
	case ws.Continued():
		return childChange{continued: true}
	case ws.Signaled():
		return childChange{exit: exitStatus{signal: ws.Signal()}}
	}
	return childChange{exit: exitStatus{code: ws.ExitStatus()}}
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
