// Package sighold catches signals before os/signal does, at the cost of one
// system call each.
//
// os/signal catches a signal with a round trip to a thread the Go runtime
// keeps for the signal mask: about 40–100 µs each here, and a supervisor
// catches 13 before it may write its PID file (docs/performance.md,
// "Start-up of the supervisor"). Hold puts a handler of a few instructions
// in place of the runtime's instead: it only notes that the signal came.
// Once os/signal has caught the signal, off the start's critical path,
// GiveBack puts the runtime's handler back and says whether the signal
// came while it was held, for the caller to act on: nothing is lost.
//
// Like the kernel's own pending set, a signal that comes twice is noted
// once. Holds of one signal nest: the last GiveBack puts the runtime's
// handler back, and each reports a signal that came while it held.
package sighold

import (
	"sync"
	"syscall"
)

var mu sync.Mutex

// Hold puts the noting handler on sig. It reports false, and changes
// nothing, where that cannot be done: on a platform without the handler,
// or if sig's handler is not the Go runtime's (the runtime leaves a signal
// ignored at start alone), which os/signal must then catch itself.
func Hold(sig syscall.Signal) bool {
	mu.Lock()
	defer mu.Unlock()
	return hold(sig)
}

// GiveBack puts the handler Hold replaced back on sig, and reports whether
// sig came while held. For the signal not to be lost in between, os/signal
// must have caught it before: then the runtime's handler passes it on to
// os/signal from the moment it is back. Giving back a signal not held does
// nothing and reports false. While sig is held, nothing else may change
// its handler but os/signal's Notify.
func GiveBack(sig syscall.Signal) (came bool) {
	mu.Lock()
	defer mu.Unlock()
	return giveBack(sig)
}
