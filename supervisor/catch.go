package supervisor

import (
	"os"
	"os/signal"
	"reflect"
	"slices"
	"syscall"
)

// Catcher holds the supervisor's signals from the moment they are caught
// until the loop takes them (docs/performance.md, "Start-up").
//
// Catching a signal costs a round trip with the Go runtime's signal-mask
// thread, about 40 µs here, and the supervisor catches 13 besides CHLD: on
// the start's critical path that was 0.6 ms of a 6 ms start. So the command
// line begins catching them on a goroutine of its own (CatchSignals) while
// it reads the flags and the config file, and Run only waits for the rest.
// A signal that arrives meanwhile waits in its channel and is acted on once
// the workers exist, as one that arrives during the start always was.
type Catcher struct {
	done     chan struct{}    // closed once the first set is caught
	sigs     []os.Signal      // caught, each with its channel below
	chans    []chan os.Signal // one slot each
	child    chan os.Signal   // SIGCHLD: time to reap
	relaying chan struct{}    // closed when the relay ends; nil before it starts
}

// CatchSignals begins catching CHLD, PIPE and every signal with an action
// in actions, and returns at once.
func CatchSignals(actions map[syscall.Signal]Action) *Catcher {
	c := &Catcher{done: make(chan struct{}), child: make(chan os.Signal, 1)}
	go func() {
		defer close(c.done)
		// One pending SIGCHLD is enough: each reap collects every child
		// that has ended.
		signal.Notify(c.child, syscall.SIGCHLD)
		for _, sig := range caught(actions) {
			c.add(sig)
		}
	}()
	return c
}

// Each signal has its own one-slot channel: os/signal drops a signal whose
// channel is full, and with one shared channel a flood of HUPs could crowd
// out a TERM. A signal dropped from its own full channel is one already
// pending, as the kernel itself would merge it.
func (c *Catcher) add(sig os.Signal) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, sig)
	c.sigs = append(c.sigs, sig)
	c.chans = append(c.chans, ch)
}

// match waits for the first set, then catches exactly the signals with an
// action in actions (and CHLD and PIPE): the config may have given a
// signal an action the defaults did not. A signal caught early that has no
// action now goes back to its default disposition; one of them that
// arrived meanwhile is dropped, as it would have been had it come a moment
// before CatchSignals.
func (c *Catcher) match(actions map[syscall.Signal]Action) {
	<-c.done
	want := caught(actions)
	for i := 0; i < len(c.sigs); {
		if slices.Contains(want, c.sigs[i]) {
			i++
			continue
		}
		signal.Stop(c.chans[i])
		c.sigs = slices.Delete(c.sigs, i, i+1)
		c.chans = slices.Delete(c.chans, i, i+1)
	}
	for _, sig := range want {
		if !slices.Contains(c.sigs, sig) {
			c.add(sig)
		}
	}
}

// relay moves the caught signals into the inbox until done is closed.
func (c *Catcher) relay(in *signalInbox, done <-chan struct{}) {
	cases := []reflect.SelectCase{{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(done)}}
	for _, ch := range c.chans {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ch)})
	}
	c.relaying = make(chan struct{})
	go func() {
		defer close(c.relaying)
		for {
			chosen, v, _ := reflect.Select(cases)
			if chosen == 0 {
				return
			}
			in.add(v.Interface().(syscall.Signal))
		}
	}()
}

// release gives every signal back but PIPE, once the relay has ended: a
// write to a log reader that went away (`slotrun … 2>&1 | head`) must fail
// rather than kill slotrun up to its exit, the last log lines included,
// which are written after Run returns. Caught, not ignored: an ignored
// signal would stay ignored in the workers.
func (c *Catcher) release() {
	<-c.done
	if c.relaying != nil {
		<-c.relaying
	}
	for i, ch := range c.chans {
		if c.sigs[i] != syscall.SIGPIPE {
			signal.Stop(ch)
		}
	}
	signal.Stop(c.child)
}
