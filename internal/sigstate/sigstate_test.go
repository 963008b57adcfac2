package sigstate

import (
	"testing"

	"golang.org/x/sys/unix"
)

func disposition(t *testing.T, sig unix.Signal) uintptr {
	t.Helper()
	var act sigaction
	if err := rtSigaction(sig, nil, &act); err != nil {
		t.Fatal(err)
	}
	return act.handler
}

func TestIgnoredSignalsAreSetBackToTheirDefault(t *testing.T) {
	// TSTP and signal 34: Go's runtime leaves both as it finds them, so
	// an ignored one would reach a worker ignored.
	for _, sig := range []unix.Signal{unix.SIGTSTP, 34} {
		if err := rtSigaction(sig, &sigaction{handler: sigIGN}, nil); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { rtSigaction(sig, &sigaction{handler: sigDFL}, nil) })
	}
	if err := resetIgnored(); err != nil {
		t.Fatal(err)
	}
	for _, sig := range []unix.Signal{unix.SIGTSTP, 34} {
		if h := disposition(t, sig); h != sigDFL {
			t.Errorf("signal %d: handler %#x after resetIgnored; want SIG_DFL", sig, h)
		}
	}
}

func TestHandledSignalsAreLeftAlone(t *testing.T) {
	// Go handles USR1 (and every signal not in leftAlone): its handler
	// must stay, or the runtime would miss the signals it is told about.
	before := disposition(t, unix.SIGUSR1)
	if err := resetIgnored(); err != nil {
		t.Fatal(err)
	}
	if after := disposition(t, unix.SIGUSR1); after != before || after == sigDFL {
		t.Errorf("USR1: handler %#x, was %#x; want Go's handler untouched", after, before)
	}
}

// BenchmarkCleanWithNothingToDo is what every start of slotrun pays when
// its parent blocked and ignored nothing.
func BenchmarkCleanWithNothingToDo(b *testing.B) {
	var blocked, none unix.Sigset_t
	unix.PthreadSigmask(unix.SIG_BLOCK, nil, &blocked)
	if blocked != none {
		b.Skip("this process has signals blocked: Clean would exec it again")
	}
	for b.Loop() {
		if err := Clean(); err != nil {
			b.Fatal(err)
		}
	}
}
