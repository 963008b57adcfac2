// Package sigcatch catches a supervisor's signals from the moment it
// starts, and hands them on, one channel each, once it is ready for them.
//
// Catching a signal with os/signal costs a round trip with the Go runtime's
// signal-mask thread: 40–100 µs here, and slotrun catches 13 before its PID
// file may exist. So Start holds them instead (internal/sighold), two
// system calls each, and Relay has os/signal catch them once the workers are
// started and have had a moment to start up themselves, then hands on
// first what came while they were held (docs/performance.md, "Start-up of
// the supervisor").
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
	"time"

	"github.com/slotrun/slotrun/internal/sighold"
)

// Set is the signals caught, each with its channel. Its methods are for
// one goroutine at a time, in order: Match, Take, Relay, Release.
type Set struct {
	sigs     []os.Signal      // caught and relayed, each with its channel
	chans    []chan os.Signal // one slot each
	held     []held           // held by sighold: not caught by os/signal yet
	taken    []chan os.Signal // handed out by Take
	relaying chan struct{}    // closed when the relay ends; nil before it starts
}

// held is a signal sighold holds, and the channel it goes to.
type held struct {
	sig syscall.Signal
	ch  chan os.Signal
}

// Start begins catching sigs. It costs two system calls a signal:
// each is held (internal/sighold) until Relay has os/signal catch it.
// Where a signal cannot be held, os/signal catches it now.
func Start(sigs []os.Signal) *Set {
	s := &Set{}
	for _, sig := range sigs {
		s.add(sig)
	}
	return s
}

func (s *Set) add(sig os.Signal) {
	ch := make(chan os.Signal, 1)
	sys, _ := sig.(syscall.Signal)
	if sighold.Hold(sys) {
		s.held = append(s.held, held{sys, ch})
	} else {
		// PIPE among them: on a failed write to stdout or stderr, Go's
		// runtime ends the process unless os/signal catches PIPE (it
		// asks os/signal, not the handler in place), so it is caught at
		// once, the one round trip of the start. Ignored instead, the
		// runtime would drop for good a PIPE sent to an idle thread once
		// it is caught.
		signal.Notify(ch, sig)
	}
	s.sigs = append(s.sigs, sig)
	s.chans = append(s.chans, ch)
}

// catchHeld has os/signal catch every held signal, then has sighold hand
// it over: a signal that came while held goes to deliver as many times as
// it came, or, for a taken channel or without deliver, to its channel.
func (s *Set) catchHeld(deliver func(syscall.Signal)) {
	for _, h := range s.held {
		signal.Notify(h.ch, h.sig)
		came := sighold.GiveBack(h.sig)
		if came == 0 {
			continue
		}
		if deliver == nil || slices.Contains(s.taken, h.ch) {
			select {
			case h.ch <- h.sig:
			default: // one is pending already
			}
			continue
		}
		for range came {
			deliver(h.sig)
		}
	}
	s.held = nil
}

// drop gives sig back to its default disposition: it is caught no more.
func (s *Set) drop(i int) {
	if h := slices.IndexFunc(s.held, func(h held) bool { return h.ch == s.chans[i] }); h >= 0 {
		sighold.GiveBack(s.held[h].sig)
		s.held = slices.Delete(s.held, h, h+1)
	} else {
		signal.Stop(s.chans[i])
	}
	s.sigs = slices.Delete(s.sigs, i, i+1)
	s.chans = slices.Delete(s.chans, i, i+1)
}

// Match catches exactly want: a signal Start did not catch is caught now;
// one it caught that want does not list goes back to its default
// disposition, and if it arrived meanwhile, it is dropped, as it would
// have been a moment before Start.
func (s *Set) Match(want []os.Signal) {
	for i := 0; i < len(s.sigs); {
		if slices.Contains(want, s.sigs[i]) {
			i++
			continue
		}
		s.drop(i)
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
// own, until done is closed. That goroutine first waits out holdFor (or
// done), then has os/signal catch the signals held: what came meanwhile
// is handed on first, as many times as it came (in no set order between
// signals, as from the channels), and the taken channels get theirs.
func (s *Set) Relay(deliver func(syscall.Signal), done <-chan struct{}, holdFor time.Duration) {
	cases := []reflect.SelectCase{{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(done)}}
	for _, ch := range s.chans {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ch)})
	}
	s.relaying = make(chan struct{})
	go func() {
		defer close(s.relaying)
		if holdFor > 0 {
			wait := time.NewTimer(holdFor)
			select {
			case <-wait.C:
			case <-done:
				wait.Stop()
				return
			}
		}
		s.catchHeld(deliver)
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
// those in keep, which os/signal catches for the life of the process.
func (s *Set) Release(keep ...os.Signal) {
	if s.relaying != nil {
		<-s.relaying
	}
	s.catchHeld(nil)
	for i, ch := range s.chans {
		if !slices.Contains(keep, s.sigs[i]) {
			signal.Stop(ch)
		}
	}
	for _, ch := range s.taken {
		signal.Stop(ch)
	}
}
