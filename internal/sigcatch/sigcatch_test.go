package sigcatch

import (
	"os"
	"slices"
	"syscall"
	"testing"
	"time"
)

func sorted(sigs []os.Signal) []os.Signal {
	sigs = slices.Clone(sigs)
	slices.SortFunc(sigs, func(a, b os.Signal) int { return int(a.(syscall.Signal)) - int(b.(syscall.Signal)) })
	return sigs
}

// Match catches exactly what it is given, whatever Start began with; Take
// hands one channel out of the relay; Relay delivers the rest; Release
// gives back all but what it keeps.
func TestSetMatchesTakesRelaysAndReleases(t *testing.T) {
	s := Start([]os.Signal{syscall.SIGCHLD, syscall.SIGUSR1, syscall.SIGHUP})
	s.Match([]os.Signal{syscall.SIGCHLD, syscall.SIGUSR1, syscall.SIGALRM, syscall.SIGUSR2})
	if got, want := sorted(s.Caught()), []os.Signal{syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGALRM, syscall.SIGCHLD}; !slices.Equal(got, want) {
		t.Fatalf("caught %v, want %v", got, want)
	}
	child := s.Take(syscall.SIGCHLD)
	if child == nil || s.Take(syscall.SIGHUP) != nil {
		t.Fatal("Take: want CHLD's channel, and nil for HUP, which is not caught")
	}

	got := make(chan syscall.Signal, 8)
	done := make(chan struct{})
	s.Relay(func(sig syscall.Signal) { got <- sig }, done, 0)
	// ALRM was not among the signals Start caught: uncaught, it would end
	// the test binary.
	for _, sig := range []syscall.Signal{syscall.SIGALRM, syscall.SIGUSR2} {
		if err := syscall.Kill(os.Getpid(), sig); err != nil {
			t.Fatal(err)
		}
		select {
		case g := <-got:
			if g != sig {
				t.Fatalf("relayed %v, want %v", g, sig)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%v was never relayed", sig)
		}
	}
	// A child's exit reaches the taken channel, not the relay.
	if err := syscall.Kill(os.Getpid(), syscall.SIGCHLD); err != nil {
		t.Fatal(err)
	}
	select {
	case <-child:
	case <-time.After(10 * time.Second):
		t.Fatal("CHLD never reached its channel")
	}

	// Release keeps USR1 caught, in its own channel: given back, it would
	// end the test binary.
	close(done)
	s.Release(syscall.SIGUSR1)
	awaitKept(t, s, syscall.SIGUSR1)
	select {
	case sig := <-got:
		t.Fatalf("%v relayed after Release", sig)
	default:
	}
}

// A signal Start caught that Match does not list is dropped, and goes back
// to its default disposition.
func TestMatchGivesBackWhatItDoesNotList(t *testing.T) {
	s := Start([]os.Signal{syscall.SIGUSR1, syscall.SIGWINCH})
	s.Match([]os.Signal{syscall.SIGUSR1})
	defer s.Release()
	if got, want := s.Caught(), []os.Signal{syscall.SIGUSR1}; !slices.Equal(got, want) {
		t.Fatalf("caught %v, want %v", got, want)
	}
}

// A signal that comes between Start and the end of Relay's hold is not
// lost: it is relayed once os/signal catches it, and a taken channel gets
// its own.
func TestASignalThatComesBeforeTheRelayIsRelayed(t *testing.T) {
	s := Start([]os.Signal{syscall.SIGHUP, syscall.SIGCHLD})
	s.Match([]os.Signal{syscall.SIGHUP, syscall.SIGCHLD, syscall.SIGTERM})
	child := s.Take(syscall.SIGCHLD)
	// Uncaught, either would end the test binary.
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGTERM, syscall.SIGCHLD} {
		if err := syscall.Kill(os.Getpid(), sig); err != nil {
			t.Fatal(err)
		}
	}
	got := make(chan syscall.Signal, 8)
	done := make(chan struct{})
	s.Relay(func(sig syscall.Signal) { got <- sig }, done, 50*time.Millisecond)
	defer func() {
		close(done)
		s.Release()
	}()
	want := map[syscall.Signal]bool{syscall.SIGHUP: true, syscall.SIGTERM: true}
	for len(want) > 0 {
		select {
		case sig := <-got:
			if !want[sig] {
				t.Fatalf("relayed %v; want one of %v", sig, want)
			}
			delete(want, sig)
		case <-time.After(10 * time.Second):
			t.Fatalf("never relayed: %v", want)
		}
	}
	select {
	case <-child:
	case <-time.After(10 * time.Second):
		t.Fatal("CHLD never reached its taken channel")
	}
}

// A Set released without a relay gives its signals back, and keeps what
// it is told to, caught by os/signal.
func TestReleaseWithoutARelay(t *testing.T) {
	s := Start([]os.Signal{syscall.SIGUSR1, syscall.SIGPIPE})
	s.Release(syscall.SIGPIPE)
	awaitKept(t, s, syscall.SIGPIPE)
}

// awaitKept sends sig to the test process and waits for it on the channel
// Release kept for it: a signal given back instead would end the test
// binary.
func awaitKept(t *testing.T, s *Set, sig syscall.Signal) {
	t.Helper()
	if err := syscall.Kill(os.Getpid(), sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.chans[slices.Index(s.sigs, os.Signal(sig))]:
	case <-time.After(10 * time.Second):
		t.Fatalf("%v not caught after Release kept it", sig)
	}
}
