package logwriter_test

import (
	"bytes"
	"strings"
	"sync"
	"testing"

	"github.com/slotrun/slotrun/internal/logwriter"
)

// recorder is a direct stream that keeps every write it takes, and says
// EAGAIN while full is set.
type recorder struct {
	mu     sync.Mutex
	writes [][]byte
	full   bool
}

func (r *recorder) write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.full {
		return 0, logwriter.EAGAIN
	}
	r.writes = append(r.writes, bytes.Clone(p))
	return len(p), nil
}

func (r *recorder) taken() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.writes
}

func TestHeldLinesGoOutInOneWriteOnRelease(t *testing.T) {
	r, pw := smallPipe(t)
	w := logwriter.New(pw, logwriter.DefaultLimit, report)
	defer closeWithin(t, w)
	w.Hold()
	w.Write([]byte("worker exited\n"))
	w.Write([]byte("worker started\n"))
	if n := inPipe(t, r); n != 0 {
		t.Fatalf("%d bytes in the pipe while held; want none", n)
	}
	w.Release()
	if n := inPipe(t, r); n != len("worker exited\nworker started\n") {
		t.Fatalf("%d bytes in the pipe once Release returned; want both lines", n)
	}
	w.Write([]byte("after\n"))
	if n := inPipe(t, r); n != len("worker exited\nworker started\nafter\n") {
		t.Fatalf("%d bytes in the pipe; want a line written after Release at once", n)
	}
}

// Held lines are written whenever the next would not fit in what a pipe
// takes in one piece: every write is whole lines, at most PIPE_BUF bytes.
func TestHeldLinesAreWrittenInWholeLinesOfAtMostAPipesAtomicWrite(t *testing.T) {
	rec := &recorder{}
	w := logwriter.New(nil, logwriter.DefaultLimit, report)
	logwriter.SetDirect(w, rec.write)
	text := numbered("line", 200)
	w.Hold()
	for _, s := range text {
		w.Write([]byte(s + "\n"))
	}
	w.Release()
	closeWithin(t, w)
	writes := rec.taken()
	var all []byte
	for _, p := range writes {
		if len(p) > 4096 || !bytes.HasSuffix(p, []byte("\n")) {
			t.Fatalf("a write of %d bytes ending %q; want whole lines of at most 4096 bytes", len(p), p[max(0, len(p)-10):])
		}
		all = append(all, p...)
	}
	if got, want := string(all), strings.Join(text, "\n")+"\n"; got != want {
		t.Fatalf("the lines came out otherwise than written")
	}
	if len(writes) > 1+len(all)/(4096-100) {
		t.Errorf("%d writes for %d bytes; want each write as full as whole lines make it", len(writes), len(all))
	}
}

// A line that cannot be held (longer than a pipe takes whole) goes after
// the lines held before it, and so do lines queued behind a full stream.
func TestLinesHeldAndNotHeldKeepTheirOrder(t *testing.T) {
	r, pw := smallPipe(t)
	got := lines(r)
	w := logwriter.New(pw, logwriter.DefaultLimit, report)
	long := strings.Repeat("x", 5000)
	text := []string{"first", long, "third"}
	w.Hold()
	for _, s := range text {
		w.Write([]byte(s + "\n"))
	}
	w.Release()
	for _, want := range text {
		if line := next(t, got); line != want {
			t.Fatalf("line %.20q; want %.20q", line, want)
		}
	}
	closeWithin(t, w)
}

func TestHeldLinesAreQueuedWhenTheStreamHasNoRoom(t *testing.T) {
	out := &syncBuffer{}
	rec := &recorder{full: true}
	w := logwriter.New(out, logwriter.DefaultLimit, report)
	logwriter.SetDirect(w, rec.write)
	w.Hold()
	w.Write([]byte("one\n"))
	w.Write([]byte("two\n"))
	w.Release()
	w.Write([]byte("three\n"))
	closeWithin(t, w)
	if got := out.buf.String(); got != "one\ntwo\nthree\n" {
		t.Fatalf("the queue wrote %q; want the held lines, then the next, in order", got)
	}
	if len(rec.taken()) != 0 {
		t.Fatal("the full stream took a write")
	}
}

func TestCloseWritesTheHeldLines(t *testing.T) {
	r, pw := smallPipe(t)
	got := lines(r)
	w := logwriter.New(pw, logwriter.DefaultLimit, report)
	w.Hold()
	w.Write([]byte("held at the end\n"))
	closeWithin(t, w)
	pw.Close()
	if line := next(t, got); line != "held at the end" {
		t.Fatalf("line %q; want the held one", line)
	}
}

// Held lines that do not fit in the pipe together go in one by one, as
// far as whole lines fit, as they would have unheld; the rest is queued.
func TestHeldLinesFillAPipeAsFarAsWholeLinesGo(t *testing.T) {
	r, pw := smallPipe(t)
	w := logwriter.New(pw, logwriter.DefaultLimit, report)
	if _, err := pw.Write(append(bytes.Repeat([]byte("x"), 2999), '\n')); err != nil {
		t.Fatal(err)
	}
	line := append(bytes.Repeat([]byte("y"), 399), '\n')
	w.Hold()
	for range 3 {
		w.Write(line)
	}
	w.Release()
	if n := inPipe(t, r); n != 3000+2*len(line) {
		t.Fatalf("%d bytes in the pipe; want the 3000 there before and the two held lines that fit, %d", n, 3000+2*len(line))
	}
	if logwriter.Drained(w) {
		t.Fatal("the third line was neither written nor queued")
	}
	got := lines(r)
	next(t, got) // the 3000 bytes, then the three lines, whole
	for range 3 {
		if l := next(t, got); l != string(line[:len(line)-1]) {
			t.Fatalf("line %.20q; want a held line whole", l)
		}
	}
	closeWithin(t, w)
}
