// Package sighold catches signals before os/signal does, at the cost of
// two system calls each.
//
// os/signal catches a signal with a round trip to a thread the Go runtime
// keeps for the signal mask: about 40–100 µs each here, and a supervisor
// catches 13 before it may write its PID file (docs/performance.md,
// "Start-up of the supervisor"). Hold puts a handler of a few instructions
// in place of the runtime's instead: it only counts the signal. Once
// os/signal has been asked for the signal, off the start's critical path,
// GiveBack hands the signal over to the runtime's handler and says how
// many came while it was held, for the caller to act on: nothing is lost.
//
// Only asynchronous signals sent to the process can be held (Holdable): a
// fault must reach the runtime's handler, PIPE is looked at by the runtime
// itself on a failed write to stdout or stderr, and the runtime uses URG
// and a real-time signal of its own.
package sighold

import (
	"slices"
	"sync"
	"syscall"
)

var mu sync.Mutex

// holdable are the signals Hold takes.
var holdable = []syscall.Signal{
	syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGUSR1,
	syscall.SIGUSR2, syscall.SIGALRM, syscall.SIGTERM, syscall.SIGCHLD,
	syscall.SIGCONT, syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU,
	syscall.SIGVTALRM, syscall.SIGWINCH, syscall.SIGXCPU, syscall.SIGXFSZ,
}

// Holdable reports whether Hold may take sig (on a platform with the
// handler).
func Holdable(sig syscall.Signal) bool { return slices.Contains(holdable, sig) }

// Hold puts the counting handler on sig. It reports false, and changes
// nothing, where that cannot be done: on a platform without the handler
// (only linux/amd64 and linux/arm64 have one), for a signal not Holdable,
// one held already, or one ignored (the runtime leaves a signal ignored at
// start alone, and so does Hold): os/signal must then catch it itself.
func Hold(sig syscall.Signal) bool {
	mu.Lock()
	defer mu.Unlock()
	return Holdable(sig) && hold(sig)
}

// GiveBack hands sig over to the Go runtime's handler, and reports how many
// times it came while held. For the signal not to be lost in between,
// os/signal must have been asked for it before: the runtime then passes
// it on to os/signal from the moment it is handed over, a signal the
// kernel had already given to the holding handler included. Giving back a
// signal not held does nothing and reports 0. While sig is held, nothing
// but os/signal's Notify may change its handler.
func GiveBack(sig syscall.Signal) (came int) {
	mu.Lock()
	defer mu.Unlock()
	return giveBack(sig)
}
