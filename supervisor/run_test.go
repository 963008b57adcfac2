package supervisor

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/slotrun/slotrun/pidfile"
)

// These tests run the supervisor on the real operating system, in-process,
// with /bin/sh workers: the seam's real side, the loop and Run's start and
// finish. The e2e tests do the same and more through the built binary.

func realOptions(t *testing.T, n int, script string) Options {
	t.Helper()
	dir := t.TempDir()
	opts := testOptions(n)
	opts.Path = "/bin/sh"
	opts.Args = []string{"sh", "-c", script}
	opts.PIDFile = filepath.Join(dir, "test.pid")
	opts.SlotsFile = filepath.Join(dir, "test.slots")
	opts.StopTimeout = 5 * time.Second
	opts.Logger = hclog.New(&hclog.LoggerOptions{Output: &syncBuffer{}, Level: hclog.Trace})
	return opts
}

// runBounded runs the supervisor and fails the test if it does not return
// within the deadline.
func runBounded(t *testing.T, opts Options) (int, error) {
	t.Helper()
	type result struct {
		code int
		err  error
	}
	done := make(chan result, 1)
	go func() {
		code, err := Run(opts)
		done <- result{code, err}
	}()
	select {
	case r := <-done:
		return r.code, r.err
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return within 30s")
		return 0, nil
	}
}

func TestRunExitsWithTheFirstFailureAndRelaysPrefixedOutput(t *testing.T) {
	opts := realOptions(t, 2, `echo "hello from $COMET_PROCESS_ID"; exit $((3 + COMET_PROCESS_ID))`)
	opts.Restart = RestartNever
	opts.Prefix = true
	var stdout syncBuffer
	opts.Stdout = &stdout
	code, err := runBounded(t, opts)
	if err != nil {
		t.Fatal(err)
	}
	if code != 3 && code != 4 {
		t.Fatalf("exit code %d, want a worker's failure (3 or 4)", code)
	}
	for _, want := range []string{"[test:0] hello from 0\n", "[test:1] hello from 1\n"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout %q lacks %q", stdout.String(), want)
		}
	}
	if _, err := os.Stat(opts.PIDFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the PID file is left behind: %v", err)
	}
}

// A worker sends TERM to its supervisor (this test process, where Run
// catches it): the stop reaches every worker and Run returns 0.
func TestRunStopsGracefullyOnTERM(t *testing.T) {
	opts := realOptions(t, 2, `[ "$COMET_PROCESS_ID" = 1 ] && kill -TERM $PPID; exec sleep 30`)
	code, err := runBounded(t, opts)
	if err != nil || code != 0 {
		t.Fatalf("Run = %d, %v; want 0 after a graceful stop", code, err)
	}
}

func TestRunRefusesAnUnrunnableCommand(t *testing.T) {
	opts := realOptions(t, 1, "")
	opts.Path = filepath.Join(t.TempDir(), "not-a-program")
	if err := os.WriteFile(opts.Path, []byte("\x7fELF nonsense"), 0o755); err != nil {
		t.Fatal(err)
	}
	opts.Args = []string{opts.Path}
	code, err := runBounded(t, opts)
	var se *StartError
	if !errors.As(err, &se) || code != 126 {
		t.Fatalf("Run = %d, %v; want 126 and a StartError", code, err)
	}
	if _, err := os.Stat(opts.PIDFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the PID file is left behind: %v", err)
	}
}

func TestRunRefusesASecondInstance(t *testing.T) {
	opts := realOptions(t, 1, "exit 0")
	held, err := pidfile.Create(opts.PIDFile)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { held.Remove() })
	code, err := runBounded(t, opts)
	if !errors.Is(err, pidfile.ErrRunning) || code != 1 {
		t.Fatalf("Run = %d, %v; want 1 and ErrRunning", code, err)
	}
}

// A start failure that only the program can cause is answered as a shell
// would; a transient one is slotrun's own failure, to be tried again.
func TestStartFailuresSpeakLikeAShell(t *testing.T) {
	script := filepath.Join(t.TempDir(), "script")
	if err := os.WriteFile(script, []byte("#!/no/such/interpreter\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path      string
		err       error
		code      int
		permanent bool
		want      string
	}{
		{"/no/such/file", syscall.ENOENT, 127, true, "command not found"},
		{script, syscall.ENOENT, 127, true, "interpreter on its #! line"},
		{script, syscall.ENOEXEC, 126, true, "a script needs a #! line"},
		{script, syscall.EACCES, 126, true, "permission denied"},
		{script, syscall.EAGAIN, 1, false, "cannot start it now"},
		{script, syscall.ENOMEM, 1, false, "cannot start it now"},
	}
	for _, tt := range tests {
		f := classifyStartError(tt.path, tt.err)
		if f.status.Code() != tt.code || f.permanent != tt.permanent || !strings.Contains(f.why.Error(), tt.want) {
			t.Errorf("classifyStartError(%s, %v) = %d, permanent %v, %q; want %d, %v and %q",
				tt.path, tt.err, f.status.Code(), f.permanent, f.why, tt.code, tt.permanent, tt.want)
		}
	}
}

// A move outside the state machine is caught.
func TestMoveOutsideTheStateMachineIsABug(t *testing.T) {
	h := start(t, testOptions(1))
	h.s.move(h.s.slots[0], stateBackoff) // starting → backoff is no edge
	if h.s.badMoves != 1 {
		t.Fatalf("badMoves = %d, want 1", h.s.badMoves)
	}
	h.wantLog("bug: a slot made a move", "from=starting", "to=backoff")
	h.s.badMoves = 0
}
