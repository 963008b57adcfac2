package supervisor

import (
	"os"
	"slices"
	"syscall"
	"testing"
	"time"
)

// The command line catches the default signals before it has read the
// settings; match then catches exactly those the settings give an action,
// with CHLD and PIPE, and relay hands them to the inbox.
func TestCatcherMatchesTheSettings(t *testing.T) {
	c := CatchSignals(map[syscall.Signal]Action{
		syscall.SIGTERM: {Kind: ActStop},
		syscall.SIGHUP:  {Kind: ActForward},
	})
	c.match(map[syscall.Signal]Action{
		syscall.SIGTERM: {Kind: ActStop},
		syscall.SIGALRM: {Kind: ActForward},
	})
	got := slices.Clone(c.sigs)
	slices.SortFunc(got, func(a, b os.Signal) int { return int(a.(syscall.Signal)) - int(b.(syscall.Signal)) })
	want := []os.Signal{syscall.SIGPIPE, syscall.SIGALRM, syscall.SIGTERM}
	if !slices.Equal(got, want) {
		t.Fatalf("caught %v, want %v", got, want)
	}
	if len(c.chans) != len(c.sigs) {
		t.Fatalf("%d channels for %d signals", len(c.chans), len(c.sigs))
	}

	in := newSignalInbox()
	done := make(chan struct{})
	c.relay(in, done)
	t.Cleanup(func() {
		close(done)
		c.release()
	})
	// ALRM was not among the signals caught first: uncaught, it would end
	// the test binary.
	if err := syscall.Kill(os.Getpid(), syscall.SIGALRM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-in.wake:
	case <-time.After(10 * time.Second):
		t.Fatal("ALRM never reached the inbox")
	}
	if p := in.take(); len(p) != 1 || p[0].sig != syscall.SIGALRM {
		t.Fatalf("inbox holds %v, want one ALRM", p)
	}
}
