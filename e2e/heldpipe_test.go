package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// These tests give slotrun a reader of its stdout or stderr that does not
// read: a pipe nobody drains (a stopped `less`, a stuck log shipper), or a
// reader that pauses. slotrun must go on supervising, must not lose what
// its workers wrote when the reader only pauses, and must still exit when
// the reader never comes back.

// heldPipe is one of slotrun's output streams on a pipe whose reader holds
// off: nothing is read from it until release.
type heldPipe struct {
	r, w *os.File
	size int
}

// newHeldPipe makes a pipe of size bytes (0: the system's default, 64 KiB).
func newHeldPipe(t *testing.T, size int) *heldPipe {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	if size > 0 {
		if _, err := unix.FcntlInt(r.Fd(), unix.F_SETPIPE_SZ, size); err != nil {
			t.Fatalf("F_SETPIPE_SZ %d: %v", size, err)
		}
	}
	got, err := unix.FcntlInt(r.Fd(), unix.F_GETPIPE_SZ, 0)
	if err != nil {
		t.Fatalf("F_GETPIPE_SZ: %v", err)
	}
	return &heldPipe{r: r, w: w, size: got}
}

// buffered is how many bytes wait in the pipe.
func (h *heldPipe) buffered(t *testing.T) int {
	t.Helper()
	n, err := unix.IoctlGetInt(int(h.r.Fd()), unix.TIOCINQ)
	if err != nil {
		t.Fatalf("TIOCINQ: %v", err)
	}
	return n
}

// full reports whether the pipe has no room left for a log line.
func (h *heldPipe) full(t *testing.T) bool { return h.buffered(t) > h.size-512 }

// release starts reading the pipe.
func (h *heldPipe) release() *output { return newOutput(h.r) }

// startHeld runs slotrun in a fresh directory with its stdout or stderr
// (or both) on held pipes; a nil one is read as usual. The test sets
// p.stdout or p.stderr once it releases a held stream.
func startHeld(t *testing.T, stdout, stderr *heldPipe, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(slotrunBin, args...)
	cmd.Dir = t.TempDir()
	p := &proc{t: t, dir: cmd.Dir, cmd: cmd, exited: make(chan struct{})}
	var ours []*os.File // our ends of the streams read as usual
	stream := func(held *heldPipe) (*os.File, *output) {
		if held != nil {
			return held.w, nil
		}
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		ours = append(ours, r)
		return w, newOutput(r)
	}
	var outW, errW *os.File
	outW, p.stdout = stream(stdout)
	errW, p.stderr = stream(stderr)
	cmd.Stdout, cmd.Stderr = outW, errW
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", cmd.Args, err)
	}
	// slotrun has its copies; with ours closed, a stream ends when its
	// ends, and a held pipe fills when slotrun fills it.
	outW.Close()
	errW.Close()
	p.watchExit()
	t.Cleanup(func() {
		p.killIfRunning()
		if p.stdout != nil {
			for _, pid := range p.reportedPIDs(true) {
				if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); exe == workerBin {
					syscall.Kill(pid, syscall.SIGKILL)
				}
			}
		}
		for _, r := range ours {
			r.Close()
		}
		if t.Failed() {
			for name, o := range map[string]*output{"stdout": p.stdout, "stderr": p.stderr} {
				if o != nil {
					text := o.text()
					if len(text) > 4000 {
						text = "…" + text[len(text)-4000:]
					}
					t.Logf("slotrun's %s:\n%s", name, text)
				}
			}
		}
	})
	return p
}

// waitEnd waits until o has been read to its end.
func waitEnd(t *testing.T, o *output) {
	t.Helper()
	deadline := time.After(waitFor)
	for {
		_, changed, eof := o.snapshot()
		if eof {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("slotrun's output did not end within %s of its exit", waitFor)
		}
	}
}
