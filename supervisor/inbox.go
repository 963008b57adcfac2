package supervisor

import (
	"sync"
	"syscall"
)

// signalInbox holds the signals that arrived and were not handled yet: a
// count per signal, so a flood of them costs no memory and none is ever
// dropped (docs/architecture.md, "Signals"). The loop takes them all at
// once and decides their order.
type signalInbox struct {
	mu      sync.Mutex
	pending []pendingSignal // in order of first arrival
	wake    chan struct{}   // one pending nudge for the loop
}

type pendingSignal struct {
	sig   syscall.Signal
	count int
}

func newSignalInbox() *signalInbox { return &signalInbox{wake: make(chan struct{}, 1)} }

func (in *signalInbox) add(sig syscall.Signal) {
	in.mu.Lock()
	found := false
	for i := range in.pending {
		if in.pending[i].sig == sig {
			in.pending[i].count++
			found = true
			break
		}
	}
	if !found {
		in.pending = append(in.pending, pendingSignal{sig, 1})
	}
	in.mu.Unlock()
	select {
	case in.wake <- struct{}{}:
	default: // a nudge is already pending
	}
}

// holds reports whether a signal that match accepts is pending. The loop
// asks between the starts of a round of restarts (docs/performance.md).
func (in *signalInbox) holds(match func(syscall.Signal) bool) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, p := range in.pending {
		if match(p.sig) {
			return true
		}
	}
	return false
}

// take empties the inbox.
func (in *signalInbox) take() []pendingSignal {
	in.mu.Lock()
	defer in.mu.Unlock()
	p := in.pending
	in.pending = nil
	return p
}
