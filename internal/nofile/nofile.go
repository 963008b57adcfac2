// Package nofile remembers the open-file limit (RLIMIT_NOFILE) the process
// was started with, for internal/forkexec to give back to the workers it
// starts, as Go's own ForkExec does.
//
// Go's syscall package raises the soft limit to the hard one in its init,
// and keeps the soft limit it found to restore in every child it forks:
// old programs that use select(2) break on descriptors above 1023. That
// saved limit is unexported, and once syscall's init has run the process
// cannot tell it any more. Go initialises next the first package, in
// import-path order, whose imports are all initialised: this package
// imports nothing, and its path sorts before "syscall" (it must stay so,
// under any module path), so its init runs before syscall's. It reads the
// limit with a system call of its own, in assembly (docs/sockets.md, "The
// open-file limit"); TestAtStartIsTheLimitBeforeGoRaisedIt fails if the
// order ever changes.
package nofile

// Limit is RLIMIT_NOFILE: the soft limit, then the hard one.
type Limit struct{ Soft, Hard uint64 }

var (
	atStart Limit
	known   bool
)

// AtStart returns the limit the process was started with, and false if it
// could not be read or Go would not have raised it (the soft limit was
// already within one of the hard limit): then there is nothing to give back.
func AtStart() (Limit, bool) {
	if !known || atStart.Soft+1 >= atStart.Hard {
		return Limit{}, false
	}
	return atStart, true
}

func init() { known = getNofile(&atStart) == 0 }
