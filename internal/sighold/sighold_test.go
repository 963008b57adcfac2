//go:build linux && (amd64 || arm64)

package sighold

import (
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// waitCame polls until the handler has counted sig n times.
func waitCame(t *testing.T, sig syscall.Signal, n uint32) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for atomic.LoadUint32(&state[sig]) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%v sent, counted %d times, want %d", sig, atomic.LoadUint32(&state[sig]), n)
		}
		time.Sleep(time.Millisecond) // the poll's interval, under the deadline above
	}
}

// send sends sig to this process.
func send(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := syscall.Kill(os.Getpid(), sig); err != nil {
		t.Fatal(err)
	}
}

// reaches waits for sig on ch, which os/signal fills.
func reaches(t *testing.T, ch <-chan os.Signal, sig syscall.Signal, when string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("%v %s never reached os/signal", sig, when)
	}
}

// heldOnceThenCaught holds sig, sends it once, has os/signal ask for it
// and hands it over, as sigcatch does; GiveBack must count the one that
// came. It returns os/signal's channel.
func heldOnceThenCaught(t *testing.T, sig syscall.Signal) chan os.Signal {
	t.Helper()
	if !Hold(sig) {
		t.Fatalf("Hold(%v) = false", sig)
	}
	send(t, sig)
	waitCame(t, sig, 1)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, sig)
	if n := GiveBack(sig); n != 1 {
		t.Fatalf("GiveBack(%v) = %d; it came once while held", sig, n)
	}
	return ch
}

func current(t *testing.T, sig syscall.Signal) uintptr {
	t.Helper()
	var now sigaction
	if errno := rtSigaction(sig, nil, &now); errno != 0 {
		t.Fatal(errno)
	}
	return now.handler
}

// HUP, held, is noted instead of ending the test binary, which it would
// do uncaught; once os/signal catches it and it is given back, GiveBack
// says it came, and the next one reaches os/signal.
func TestAHeldSignalIsNotedAndGivenBackToOSSignal(t *testing.T) {
	goHandler := current(t, syscall.SIGHUP)
	ch := heldOnceThenCaught(t, syscall.SIGHUP)
	defer signal.Stop(ch)
	if got := current(t, syscall.SIGHUP); got != goHandler {
		t.Fatalf("handler after GiveBack %#x, want the runtime's %#x", got, goHandler)
	}
	select {
	case <-ch:
		t.Fatal("HUP reached os/signal while held")
	default:
	}
	if n := GiveBack(syscall.SIGHUP); n != 0 {
		t.Fatalf("a second GiveBack reports HUP %d times", n)
	}
	send(t, syscall.SIGHUP)
	reaches(t, ch, syscall.SIGHUP, "given back")
}

// A signal that did not come is reported so; one that came three times,
// three times; a signal is held by one holder at a time.
func TestGiveBackCountsWhatCame(t *testing.T) {
	if !Hold(syscall.SIGUSR2) {
		t.Fatal("Hold(USR2) = false")
	}
	if Hold(syscall.SIGUSR2) {
		t.Fatal("a second Hold(USR2) = true; one holder at a time")
	}
	if n := GiveBack(syscall.SIGUSR2); n != 0 {
		t.Fatalf("GiveBack(USR2) = %d; none was sent", n)
	}
	if n := GiveBack(syscall.SIGWINCH); n != 0 {
		t.Fatalf("GiveBack of a signal never held = %d", n)
	}
	if !Hold(syscall.SIGUSR2) {
		t.Fatal("Hold(USR2) after GiveBack = false")
	}
	for i := range uint32(3) {
		send(t, syscall.SIGUSR2)
		waitCame(t, syscall.SIGUSR2, i+1)
	}
	if n := GiveBack(syscall.SIGUSR2); n != 3 {
		t.Fatalf("GiveBack(USR2) = %d; want 3", n)
	}
	if Hold(syscall.SIGPIPE) || Hold(syscall.SIGSEGV) || Hold(syscall.SIGURG) {
		t.Fatal("Hold took PIPE, SEGV or URG, which the runtime must keep")
	}
}

// A signal the kernel gave to the counting handler but that reaches it
// only once the signal is handed over (its thread was preempted in
// between) goes on to the runtime's handler, and so to os/signal. Here the
// handler is put back by hand after GiveBack to play that late arrival.
func TestALateArrivalGoesOnToTheRuntime(t *testing.T) {
	goHandler := current(t, syscall.SIGHUP)
	if !Hold(syscall.SIGHUP) {
		t.Fatal("Hold(HUP) = false")
	}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	defer signal.Stop(ch)
	GiveBack(syscall.SIGHUP)

	act := sigaction{handler: handlerPC(), flags: saSiginfo | saOnstack | saRestart | saRestorer, restorer: restorerPC(), mask: ^uint64(0)}
	var was sigaction
	if errno := rtSigaction(syscall.SIGHUP, &act, &was); errno != 0 {
		t.Fatal(errno)
	}
	defer rtSigaction(syscall.SIGHUP, &was, nil)
	if was.handler != goHandler {
		t.Fatalf("handler after GiveBack %#x, want the runtime's %#x", was.handler, goHandler)
	}
	// Uncaught, HUP would end the test binary; counted, it would never
	// reach ch.
	send(t, syscall.SIGHUP)
	reaches(t, ch, syscall.SIGHUP, "after the hand-over")
}

// An ignored signal is left ignored, as the runtime leaves one ignored at
// start: os/signal catches it when asked.
func TestAnIgnoredSignalIsNotHeld(t *testing.T) {
	signal.Ignore(syscall.SIGVTALRM)
	if Hold(syscall.SIGVTALRM) {
		GiveBack(syscall.SIGVTALRM)
		t.Fatal("Hold of an ignored signal = true")
	}
	if got := current(t, syscall.SIGVTALRM); got != sigIGN {
		t.Fatalf("VTALRM's handler %#x after Hold; want it still ignored", got)
	}
}

// Thousands of signals while the runtime collects and schedules: the
// handler runs on every thread, on the signal stack, and breaks nothing.
func TestAFloodOfHeldSignalsWhileTheRuntimeWorks(t *testing.T) {
	if !Hold(syscall.SIGALRM) {
		t.Fatal("Hold(ALRM) = false")
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var keep [][]byte
			for {
				select {
				case <-stop:
					return
				default:
				}
				keep = append(keep, make([]byte, 4096))
				if len(keep) > 256 {
					keep = nil
					runtime.GC()
				}
			}
		}()
	}
	for range 20000 {
		send(t, syscall.SIGALRM)
	}
	close(stop)
	wg.Wait()
	waitCame(t, syscall.SIGALRM, 1)
	if n := GiveBack(syscall.SIGALRM); n == 0 {
		t.Fatal("GiveBack(ALRM) = 0 after 20,000 of them")
	}
}

const childEnv = "SIGHOLD_TEST_CHILD"

// TSTP is at its default until os/signal is asked for it: uncaught, it
// stops the process. Held, it is noted; once os/signal catches it, the
// runtime's handler stays. Run in a child process, which a broken hold
// would leave stopped.
func TestASignalAtItsDefaultIsHeldToo(t *testing.T) {
	if os.Getenv(childEnv) == "" {
		runChild(t)
		return
	}
	if current(t, syscall.SIGTSTP) != sigDFL {
		t.Fatal("TSTP is not at its default in a Go program here; this test shows nothing")
	}
	ch := heldOnceThenCaught(t, syscall.SIGTSTP)
	if h := current(t, syscall.SIGTSTP); h == sigDFL || h == handlerPC() {
		t.Fatalf("TSTP's handler after GiveBack %#x; want the runtime's", h)
	}
	send(t, syscall.SIGTSTP)
	reaches(t, ch, syscall.SIGTSTP, "after the hold")
}

// runChild runs the calling test again in a child process and fails if it
// fails there, or stops.
func runChild(t *testing.T) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"=1", "GORACE=atexit_sleep_ms=0")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("in a child process: %v\n%s", err, out.String())
		}
	case <-time.After(30 * time.Second):
		stat, _ := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/stat")
		cmd.Process.Kill()
		<-done
		t.Fatalf("the child process never ended; /proc/PID/stat: %s\n%s", stat, out.String())
	}
}
