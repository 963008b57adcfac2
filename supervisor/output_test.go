package supervisor

import (
	"bytes"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"
)

// These tests play the worker themselves: they write to the pipes that
// output.pipes makes, as a worker's stdout would.

const bound = 10 * time.Second

// reader collects what is written to a real pipe, as slotrun's stdout
// reader would.
func reader(t *testing.T) (w *os.File, text func() string, closed <-chan struct{}) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	var buf bytes.Buffer
	done := make(chan struct{})
	go func() {
		io.Copy(&buf, r)
		close(done)
	}()
	return w, func() string { <-done; return buf.String() }, done
}

func logTo(buf *bytes.Buffer) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Name: "test", Output: buf})
}

// startRelays makes the pipes of slot 0 and starts relaying them; the
// returned file is the worker's stdout.
func startRelays(t *testing.T, o *output) *os.File {
	t.Helper()
	p, err := o.pipes(0)
	if err != nil {
		t.Fatal(err)
	}
	// Our own copy of the worker's end, which afterFork does not close.
	fd, err := unix.Dup(int(p.stdoutW.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	p.afterFork(true)
	w := os.NewFile(uintptr(fd), "worker stdout")
	t.Cleanup(func() { w.Close() })
	return w
}

func TestRelayEndsTheLastLineAndCutsLongOnes(t *testing.T) {
	dst, text, _ := reader(t)
	o := newOutput("app", dst, io.Discard)
	w := startRelays(t, o)
	long := strings.Repeat("x", maxLine+10)
	io.WriteString(w, "one\n"+long+"\nlast")
	w.Close()
	var log bytes.Buffer
	o.drain(bound, logTo(&log))
	dst.Close()
	want := "[app:0] one\n[app:0] " + long[:maxLine] + "\n[app:0] " + long[maxLine:] + "\n[app:0] last\n"
	if got := text(); got != want {
		t.Errorf("relayed %d bytes:\n%.200q…\nwant %d bytes:\n%.200q…", len(got), got, len(want), want)
	}
	if log.Len() > 0 {
		t.Errorf("drain logged %q; want nothing", log.String())
	}
}

func TestDrainEndsOnceWhatWasWrittenIsRelayedThoughThePipeStaysOpen(t *testing.T) {
	// A process that left its worker's group may hold the pipe open for
	// ever; what it wrote is relayed, and then there is nothing to wait for.
	dst, text, _ := reader(t)
	o := newOutput("app", dst, io.Discard)
	w := startRelays(t, o) // kept open until the test ends
	const lines = 2000
	for i := range lines {
		io.WriteString(w, "line "+strconv.Itoa(i)+"\n")
	}
	start := time.Now()
	var log bytes.Buffer
	o.drain(bound, logTo(&log))
	if took := time.Since(start); took > bound/2 {
		t.Errorf("drain took %s with everything relayed; want it to return then", took)
	}
	if log.Len() > 0 {
		t.Errorf("drain logged %q; want nothing", log.String())
	}
	dst.Close()
	if n := strings.Count(text(), "\n"); n != lines {
		t.Errorf("%d lines relayed before drain returned; want %d", n, lines)
	}
}

func TestDrainGivesUpOnAStuckReaderAndSaysHowMuchWasLost(t *testing.T) {
	r, dst, err := os.Pipe() // never read
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); dst.Close() })
	o := newOutput("app", dst, io.Discard)
	w := startRelays(t, o)
	line := strings.Repeat("y", 99) + "\n"
	// 100 KB: more than the reader's pipe takes (64 KiB), less than it and
	// the relay together, so the worker gets to write all of it.
	const lines = 1000
	for range lines {
		io.WriteString(w, line)
	}
	w.Close()
	start := time.Now()
	var log bytes.Buffer
	o.drain(300*time.Millisecond, logTo(&log))
	if took := time.Since(start); took > bound {
		t.Errorf("drain took %s; want about 300ms", took)
	}
	m := regexp.MustCompile(`\[WARN\]  test: (\d+) bytes of worker output not relayed: .* bytes=(\d+) stop_timeout=300ms\n$`).FindStringSubmatch(log.String())
	if m == nil {
		t.Fatalf("drain logged %q; want a warning with the bytes not relayed", log.String())
	}
	lost, _ := strconv.Atoi(m[2])
	// The reader's pipe took at most 64 KiB, prefixes included.
	if total := lines * len(line); lost <= 0 || lost > total || lost < total-(64<<10) {
		t.Errorf("%d bytes reported lost; want between %d and %d", lost, total-(64<<10), total)
	}
}
