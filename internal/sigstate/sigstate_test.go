package sigstate

import (
	"os"
	"strconv"
	"strings"
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

// The name is restored only from the variable Clean set for this very
// process (exec keeps the PID): one a parent set, or one inherited from
// another slotrun, is left alone.
func TestRestoreNameTakesOnlyThisProcesssVariable(t *testing.T) {
	comm := func() string {
		b, err := os.ReadFile("/proc/self/comm")
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	before := comm()
	t.Cleanup(func() { // the test binary's own name back
		os.Setenv(nameEnv, strconv.Itoa(os.Getpid())+":"+before)
		restoreName()
	})

	t.Setenv(nameEnv, "1:bogus")
	restoreName()
	if got := comm(); got != before {
		t.Fatalf("a variable for pid 1 renamed this process %q", got)
	}
	if v, ok := os.LookupEnv(nameEnv); !ok || v != "1:bogus" {
		t.Fatalf("a variable that is not this process's was taken: %q, %v", v, ok)
	}

	t.Setenv(nameEnv, strconv.Itoa(os.Getpid())+":renamed")
	restoreName()
	if got := comm(); got != "renamed" {
		t.Fatalf("the name is %q after restoreName, want renamed", got)
	}
	if _, ok := os.LookupEnv(nameEnv); ok {
		t.Fatal("the variable is still in the environment")
	}
}
