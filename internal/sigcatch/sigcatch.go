// Package sigcatch catches signals on a goroutine of its own, so that the
// cost of catching them overlaps other work, and holds what arrives until
// its owner takes it.
//
// Catching a signal with os/signal costs a round trip with the Go runtime's
// signal-mask thread: about 40 µs here, and slotrun catches 13. Done in
// line, that was 0.8 ms of a 6.5 ms start (docs/performance.md, "Start-up
// of the supervisor").
//
// Each signal has a one-slot channel of its own: os/signal drops a signal
// whose channel is full, and with one shared channel a flood of HUPs could
// crowd out a TERM. A signal dropped from its own full channel is one
// already pending, as the kernel itself would merge it.
package sigcatch

import (
	"os"
	"os/signal"
	"reflect"
	"slices"
	"syscall"
)

// Set is the signals caught, each with its channel. Its methods are for
// one goroutine at a time, in order: Match, Take, Relay, Release.
type Set struct {
	done     chan struct{}    // closed once Start's signals are caught
	sigs     []os.Signal      // caught and relayed, each with its channel
	chans    []chan os.Signal // one slot each
	taken    []chan os.Signal // handed out by Take
	relaying chan struct{}    // closed when the relay ends; nil before it starts
}

// Start begins catching sigs and returns at once.
func Start(sigs []os.Signal) *Set {
	s := &Set{done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for _, sig := range sigs {
			s.add(sig)
		}
	}()
	return s
}

func (s *Set) add(sig os.Signal) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, sig)
	s.sigs = append(s.sigs, sig)
	s.chans = append(s.chans, ch)
}

// Match waits until Start's signals are caught, then catches exactly want:
// a signal Start did not catch is caught now; one it caught that want does
// not list goes back to its default disposition, and if it arrived
// meanwhile, it is dropped, as it would have been a moment before Start.
func (s *Set) Match(want []os.Signal) {
	<-s.done
	for i := 0; i < len(s.sigs); {
		if slices.Contains(want, s.sigs[i]) {
			i++
			continue
		}
		signal.Stop(s.chans[i])
		s.sigs = slices.Delete(s.sigs, i, i+1)
		s.chans = slices.Delete(s.chans, i, i+1)
	}
	for _, sig := range want {
		if !slices.Contains(s.sigs, sig) {
			s.add(sig)
		}
	}
}

// Caught lists the signals caught, after Match.
func (s *Set) Caught() []os.Signal { return slices.Clone(s.sigs) }

// Take hands out sig's channel, which Relay then leaves alone: the caller
// reads it itself. It returns nil if sig is not caught.
func (s *Set) Take(sig os.Signal) chan os.Signal {
	i := slices.Index(s.sigs, sig)
	if i < 0 {
		return nil
	}
	ch := s.chans[i]
	s.sigs = slices.Delete(s.sigs, i, i+1)
	s.chans = slices.Delete(s.chans, i, i+1)
	s.taken = append(s.taken, ch)
	return ch
}

// Relay hands every signal that arrives to deliver, on a goroutine of its
// own, until done is closed.
func (s *Set) Relay(deliver func(syscall.Signal), done <-chan struct{}) {
	cases := []reflect.SelectCase{{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(done)}}
	for _, ch := range s.chans {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ch)})
	}
	s.relaying = make(chan struct{})
	go func() {
		defer close(s.relaying)
		for {
			chosen, v, _ := reflect.Select(cases)
			if chosen == 0 {
				return
			}
			deliver(v.Interface().(syscall.Signal))
		}
	}()
}

// Release waits for the relay to end, then gives every signal back but
// those in keep, which stay caught for the life of the process.
func (s *Set) Release(keep ...os.Signal) {
	<-s.done
	if s.relaying != nil {
		<-s.relaying
	}
	for i, ch := range s.chans {
		if !slices.Contains(keep, s.sigs[i]) {
			signal.Stop(ch)
		}
	}
	for _, ch := range s.taken {
		signal.Stop(ch)
	}
}
