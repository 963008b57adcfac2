package supervisor

import (
	"errors"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/slotrun/slotrun/internal/signame"
)

// Strays are processes that workers started and that left their worker's
// process group (setsid, a daemon's double fork): stopping a worker's group
// does not reach them. As a subreaper, slotrun becomes their parent once
// their own parent is gone, so before it exits it stops whatever is still
// its child, as it stops a worker: the stop signal and CONT, then SIGKILL
// after the stop timeout (docs/states.md, "Exit"). A stray whose parent
// still lives elsewhere is out of reach, and while slotrun runs a stray of
// a crashed worker goes on beside its replacement.
type strays struct {
	signalled map[int]bool // pids (and their groups) sent the stop signal
	cancel    func() bool  // the kill deadline
}

// strayDeadline is the stop timeout of the strays falling due.
type strayDeadline struct{}

func (strayDeadline) isEvent() {}

// straysGone reports whether nothing is left of the workers once every
// slot is idle. The first time strays are found it starts stopping them;
// each later look signals those that became our children meanwhile (a
// stray's own children, once the stray is gone).
func (s *supervisor) straysGone() bool {
	kids := s.sys.children()
	if len(kids) == 0 {
		if s.strays != nil && s.strays.cancel != nil {
			s.strays.cancel()
			s.strays.cancel = nil
		}
		return true
	}
	if s.strays == nil {
		s.strays = &strays{signalled: map[int]bool{}}
		s.log.Warn("stopping processes the workers left behind outside their process groups",
			"pids", kids, "signal", signame.Name(s.opts.StopSignal), "timeout", s.opts.StopTimeout.String())
		s.strays.cancel = s.sys.afterFunc(s.opts.StopTimeout, func() { s.post(strayDeadline{}) })
	}
	for _, pid := range kids {
		if !s.strays.signalled[pid] {
			s.strays.signalled[pid] = true
			s.signalStray(pid, s.opts.StopSignal)
			if s.opts.StopSignal != syscall.SIGKILL {
				s.signalStray(pid, syscall.SIGCONT)
			}
		}
	}
	return false
}

// killStrays SIGKILLs the strays left at the deadline.
func (s *supervisor) killStrays() {
	s.strays.cancel = nil
	kids := s.sys.children()
	if len(kids) == 0 {
		return
	}
	s.log.Warn("killing processes the workers left behind: they outlived the stop timeout", "pids", kids)
	for _, pid := range kids {
		s.signalStray(pid, syscall.SIGKILL)
	}
	if s.stopping && s.exitCode == 0 {
		s.exitCode = 1
	}
}

// signalStray signals pid's process group if it leads one (a setsid stray
// does), else pid alone.
func (s *supervisor) signalStray(pid int, sig syscall.Signal) {
	err := s.sys.kill(-pid, sig)
	if errors.Is(err, unix.ESRCH) {
		err = s.sys.kill(pid, sig)
	}
	if err != nil && !errors.Is(err, unix.ESRCH) {
		s.log.Warn("cannot signal a process left behind", "pid", pid, "signal", signame.Name(sig), "error", err)
	}
}
