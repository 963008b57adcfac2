package pidfile_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/slotrun/slotrun/pidfile"
)

// The test binary doubles as the helper process (as in Go's os/exec tests):
// TestMain runs helperMain instead of the tests when helperEnv is set.
const (
	helperEnv     = "PIDFILE_TEST_HELPER" // "1": be the helper
	helperPathEnv = "PIDFILE_TEST_PATH"   // the PID file to create; empty: none
	helperGateEnv = "PIDFILE_TEST_GATE"   // "1": wait for a line on stdin before Create
	helperMaskEnv = "PIDFILE_TEST_UMASK"  // octal umask to set before Create

	// What the helper says, one line each.
	waitingLine   = "waiting"    // gated: waiting for a line on stdin
	readyLine     = "ready"      // set up, holding the file if asked to
	runningLine   = "running %d" // Create failed with ErrRunning; it exits exitRunning
	signalLine    = "signal %d"  // it received SIGUSR1 or SIGUSR2
	helperErrLine = "error "     // any other failure, then the message; it exits exitError

	exitRunning = 3
	exitError   = 1

	waitLimit = 10 * time.Second // the most any one wait on a helper takes

	// neverAPID is PID_MAX_LIMIT: pid_max cannot exceed it and PIDs stay
	// below pid_max, so no process ever has it. A stale file naming it is
	// stale beyond doubt, even if PIDs are reused during the test.
	neverAPID = 4194304
)

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		os.Exit(helperMain())
	}
	os.Exit(m.Run())
}

// helperMain is the helper process. It creates the PID file named by
// helperPathEnv (if any), says readyLine, then says signalLine for each
// SIGUSR1 and SIGUSR2 until its stdin closes. It never removes the file:
// tests kill it, and a stale file is what they want then.
func helperMain() int {
	// Before anything is said: a signal sent after readyLine is reported,
	// never given its default action (death, for SIGUSR1).
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, unix.SIGUSR1, unix.SIGUSR2)

	stdin := bufio.NewReader(os.Stdin)
	if os.Getenv(helperGateEnv) == "1" {
		fmt.Println(waitingLine)
		if _, err := stdin.ReadString('\n'); err != nil {
			return exitError
		}
	}
	if m := os.Getenv(helperMaskEnv); m != "" {
		mask, err := strconv.ParseUint(m, 8, 32)
		if err != nil {
			fmt.Println(helperErrLine + err.Error())
			return exitError
		}
		unix.Umask(int(mask))
	}
	if path := os.Getenv(helperPathEnv); path != "" {
		// The File is dropped on purpose: the lock must outlive it.
		_, err := pidfile.Create(path)
		var running *pidfile.RunningError
		switch {
		case errors.As(err, &running):
			fmt.Printf(runningLine+"\n", running.PID)
			return exitRunning
		case err != nil:
			fmt.Println(helperErrLine + err.Error())
			return exitError
		}
	}

	stdinClosed := make(chan struct{})
	go func() {
		_, _ = stdin.WriteTo(discard{})
		close(stdinClosed)
	}()
	fmt.Println(readyLine)
	for {
		select {
		case s := <-sigs:
			fmt.Printf(signalLine+"\n", s.(syscall.Signal))
		case <-stdinClosed:
			return 0
		}
	}
}

type discard struct{}

func (discard) Write(b []byte) (int, error) { return len(b), nil }

// helper is a running helper process, killed and reaped at the end of the
// test that started it.
type helper struct {
	cmd   *exec.Cmd
	stdin *os.File
	lines chan string // its stdout, line by line; closed when it exits
	said  []string    // every line taken from lines so far

	stopOnce sync.Once
}

type helperOpts struct {
	path  string // PID file to create; "" for none
	gate  bool   // wait for release() before Create
	umask string // octal, e.g. "077"; "" to inherit

	// unshare, when not nil, runs the helper through unshare(1) with these
	// options, e.g. as PID 1 of a new PID namespace (see pidNamespace).
	// pid() is then unshare's PID, not the helper's.
	unshare []string
}

func startHelper(t *testing.T, o helperOpts) *helper {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	if o.unshare != nil {
		cmd = exec.Command("unshare", append(o.unshare, os.Args[0])...)
	}
	cmd.Env = append(os.Environ(), helperEnv+"=1", helperPathEnv+"="+o.path, helperMaskEnv+"="+o.umask)
	if o.gate {
		cmd.Env = append(cmd.Env, helperGateEnv+"=1")
	}
	cmd.Stderr = os.Stderr
	// Our own pipes rather than StdoutPipe: the reader below runs until the
	// helper exits, and Wait must not close its end under it.
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin, cmd.Stdout = inR, outW
	err = cmd.Start()
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		t.Fatalf("start helper: %v", err)
	}
	h := &helper{cmd: cmd, stdin: inW, lines: make(chan string, 64)}
	go func() {
		defer outR.Close()
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			h.lines <- sc.Text()
		}
		close(h.lines)
	}()
	t.Cleanup(h.kill)
	return h
}

func (h *helper) pid() int { return h.cmd.Process.Pid }

// kill SIGKILLs and reaps the helper. Once it returns, the kernel has closed
// the helper's descriptors, so any lock it held is free.
func (h *helper) kill() {
	h.stopOnce.Do(func() {
		_ = h.cmd.Process.Kill() // fails only if it has exited already
		_ = h.stdin.Close()
		_ = h.cmd.Wait()
	})
}

// release lets a gated helper go on to Create.
func (h *helper) release(t *testing.T) {
	t.Helper()
	if _, err := h.stdin.WriteString("go\n"); err != nil {
		t.Fatalf("release helper %d: %v", h.pid(), err)
	}
}

// next returns the helper's next line, failing the test if it exits or
// stays silent for waitLimit.
func (h *helper) next(t *testing.T) string {
	t.Helper()
	timer := time.NewTimer(waitLimit)
	defer timer.Stop()
	select {
	case line, ok := <-h.lines:
		if !ok {
			t.Fatalf("helper %d exited; it said %q", h.pid(), h.said)
		}
		h.said = append(h.said, line)
		return line
	case <-timer.C:
		t.Fatalf("helper %d said nothing for %v; it said %q", h.pid(), waitLimit, h.said)
		return ""
	}
}

// waitFor takes the helper's lines until one equals want, and returns the
// lines before it.
func (h *helper) waitFor(t *testing.T, want string) []string {
	t.Helper()
	var before []string
	for {
		line := h.next(t)
		if line == want {
			return before
		}
		if strings.HasPrefix(line, helperErrLine) {
			t.Fatalf("helper %d failed while we waited for %q: %s", h.pid(), want, line)
		}
		before = append(before, line)
	}
}

// pidNamespace returns the unshare(1) options that make the helper PID 1 of
// a new PID namespace with its own /proc, as in a container, and that kill
// it when unshare is killed. It skips the test where that is not possible.
func pidNamespace(t *testing.T) []string {
	t.Helper()
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("unshare(1) is not installed")
	}
	opts := []string{"--pid", "--mount-proc", "--kill-child"}
	// Unprivileged, a user namespace brings the right to make the others.
	for _, o := range [][]string{opts, append([]string{"--map-root-user"}, opts...)} {
		if exec.Command("unshare", append(o, "true")...).Run() == nil {
			return o
		}
	}
	out, _ := exec.Command("unshare", append(opts, "true")...).CombinedOutput()
	t.Skipf("cannot make a PID namespace here: unshare: %s", strings.TrimSpace(string(out)))
	return nil
}
