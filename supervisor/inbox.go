package supervisor

import (
	"os"
	"os/signal"
	"reflect"
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

// relaySignals moves the signals os/signal delivers into the inbox until
// done is closed. Each signal has its own one-slot channel: os/signal drops
// a signal whose channel is full, and with one shared channel a flood of
// HUPs could crowd out a TERM. A signal dropped from its own full channel
// is one already pending, as the kernel itself would merge it.
func relaySignals(sigs []os.Signal, in *signalInbox, done <-chan struct{}) (stop func()) {
	cases := []reflect.SelectCase{{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(done)}}
	chans := make([]chan os.Signal, len(sigs))
	for i, sig := range sigs {
		chans[i] = make(chan os.Signal, 1)
		signal.Notify(chans[i], sig)
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(chans[i])})
	}
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for {
			chosen, v, _ := reflect.Select(cases)
			if chosen == 0 {
				return
			}
			in.add(v.Interface().(syscall.Signal))
		}
	}()
	return func() {
		for _, c := range chans {
			signal.Stop(c)
		}
		<-finished
	}
}
