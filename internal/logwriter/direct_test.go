package logwriter_test

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/slotrun/slotrun/internal/logwriter"
)

// inPipe is how many bytes wait in the pipe whose read end is r.
func inPipe(t *testing.T, r *os.File) int {
	t.Helper()
	n, err := unix.IoctlGetInt(int(r.Fd()), unix.TIOCINQ)
	if err != nil {
		t.Fatalf("FIONREAD: %v", err)
	}
	return n
}

// waitDrained waits until w has nothing queued or being written.
func waitDrained(t *testing.T, w *logwriter.Writer) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for !logwriter.Drained(w) {
		if time.Now().After(deadline) {
			t.Fatalf("the queue was not written out within %s", bound)
		}
		time.Sleep(time.Millisecond)
	}
}

func closeWithin(t *testing.T, w *logwriter.Writer) {
	t.Helper()
	if !w.Close(bound) {
		t.Fatalf("Close: the lines were not written within %s", bound)
	}
}

func TestALineGoesIntoAPipeWithRoomBeforeWriteReturns(t *testing.T) {
	r, pw := smallPipe(t)
	w := logwriter.New(pw, logwriter.DefaultLimit, report)
	defer closeWithin(t, w)
	if kind := logwriter.DirectKind(w); kind != "pipe" {
		t.Fatalf("direct path for a pipe: %q; want pipe", kind)
	}
	line := []byte("a line\n")
	w.Write(line)
	if n := inPipe(t, r); n != len(line) {
		t.Fatalf("%d bytes in the pipe once Write returned; want the whole line, %d", n, len(line))
	}
}

func TestAFullPipeQueuesTheLinesAndTheyGoOutInOrderWhenTheReaderReads(t *testing.T) {
	r, pw := smallPipe(t)
	w := logwriter.New(pw, logwriter.DefaultLimit, report)
	// Four times what the pipe holds: the first lines go in at once, the
	// others wait in the queue; nobody reads yet, and no Write waits.
	text := numbered("line", 4*4096/len(numbered("line", 1)[0]))
	writeAll(t, w, text)
	if n := inPipe(t, r); n == 0 || n > 4096 {
		t.Fatalf("%d bytes in the pipe; want it full, at most 4096", n)
	}
	got := lines(r)
	for i, want := range text {
		if line := next(t, got); line != want {
			t.Fatalf("line %d is %q; want %q", i, line, want)
		}
	}
	// Written out, the queue is empty: the next line goes in at once again.
	waitDrained(t, w)
	w.Write([]byte("again\n"))
	if line := next(t, got); line != "again" {
		t.Fatalf("after the queue, %q; want again", line)
	}
	closeWithin(t, w)
}

func TestTheInheritedPipeStaysBlocking(t *testing.T) {
	// Its description is shared with the parent shell and the workers:
	// O_NONBLOCK on it would make their writes fail with EAGAIN.
	_, pw := smallPipe(t)
	w := logwriter.New(pw, logwriter.DefaultLimit, report)
	writeAll(t, w, numbered("line", 200))
	flags, err := unix.FcntlInt(pw.Fd(), unix.F_GETFL, 0)
	if err != nil {
		t.Fatal(err)
	}
	if flags&unix.O_NONBLOCK != 0 {
		t.Error("stderr's own description was made non-blocking")
	}
	w.Close(0)
}

func TestAPipeWhoseReaderHasGoneLosesLinesWithoutWaiting(t *testing.T) {
	// `slotrun … 2>&1 | head`, once head has exited.
	r, pw := smallPipe(t)
	w := logwriter.New(pw, logwriter.DefaultLimit, report)
	r.Close()
	writeAll(t, w, numbered("line", 100))
	closeWithin(t, w)
}

func TestLinesLongerThanAPipeTakesWholeGoThroughTheQueue(t *testing.T) {
	// A non-blocking write of more than PIPE_BUF bytes may go in part.
	r, pw := smallPipe(t)
	if _, err := unix.FcntlInt(pw.Fd(), unix.F_SETPIPE_SZ, 64<<10); err != nil {
		t.Fatal(err)
	}
	got := lines(r)
	w := logwriter.New(pw, logwriter.DefaultLimit, report)
	long := string(bytes.Repeat([]byte("x"), 10000))
	text := append(numbered("short", 3), long, "last")
	writeAll(t, w, text)
	for i, want := range text {
		if line := next(t, got); line != want {
			t.Fatalf("line %d is %.40q (%d bytes); want %.40q (%d bytes)", i, line, len(line), want, len(want))
		}
	}
	closeWithin(t, w)
}

func TestManyWritersKeepTheirLinesWholeAndInTheirOrder(t *testing.T) {
	r, pw := smallPipe(t)
	got := lines(r)
	w := logwriter.New(pw, logwriter.DefaultLimit, report)
	const writers, each = 4, 300
	var wg sync.WaitGroup
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, s := range numbered(fmt.Sprint("writer", g), each) {
				w.Write([]byte(s + "\n"))
			}
		}()
	}
	seen := make([]int, writers)
	for range writers * each {
		var g, i int
		line := next(t, got)
		if _, err := fmt.Sscanf(line, "writer%d %d ", &g, &i); err != nil || g >= writers {
			t.Fatalf("line %q is none of those written", line)
		}
		if want := numbered(fmt.Sprint("writer", g), each)[seen[g]]; line != want {
			t.Fatalf("writer %d: %q; want %q", g, line, want)
		}
		seen[g]++
	}
	wg.Wait()
	closeWithin(t, w)
}

func TestTheRestOfALineTheStreamTookInPartGoesOutNextAndWhole(t *testing.T) {
	r, pw := smallPipe(t)
	w := logwriter.New(pw, 2048, report)
	// The stream takes 10 bytes of the first line, then has no room:
	// what follows is queued, and nobody reads, so lines are dropped.
	first := true
	logwriter.SetDirect(w, func(p []byte) (int, error) {
		if !first {
			return 0, logwriter.EAGAIN
		}
		first = false
		return pw.Write(p[:10])
	})
	text := numbered("line", 1000)
	writeAll(t, w, text)
	got := lines(r)
	if account(t, got, text) == 0 {
		t.Fatal("every line went out; want some dropped, with a pipe of 4 KiB and a buffer of 2 KiB")
	}
	closeWithin(t, w)
}

func TestALineGoesIntoASocketAtOnceOrIsQueued(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	// The least the kernel allows: a few lines fill it.
	if err := unix.SetsockoptInt(fds[0], unix.SOL_SOCKET, unix.SO_SNDBUF, 1); err != nil {
		t.Fatal(err)
	}
	sw, sr := os.NewFile(uintptr(fds[0]), "journal"), os.NewFile(uintptr(fds[1]), "reader")
	t.Cleanup(func() { sw.Close(); sr.Close() })
	w := logwriter.New(sw, logwriter.DefaultLimit, report)
	if kind := logwriter.DirectKind(w); kind != "socket" {
		t.Fatalf("direct path for a socket: %q; want socket", kind)
	}
	w.Write([]byte("first\n"))
	if n, err := unix.IoctlGetInt(fds[1], unix.TIOCINQ); err != nil || n != len("first\n") {
		t.Fatalf("%d bytes to read once Write returned (%v); want the whole line", n, err)
	}
	text := append([]string{"first"}, numbered("line", 500)...)
	writeAll(t, w, text[1:])
	got := lines(sr)
	for i, want := range text {
		if line := next(t, got); line != want {
			t.Fatalf("line %d is %q; want %q", i, line, want)
		}
	}
	closeWithin(t, w)
}

func TestPartialSendsToATCPStreamKeepLinesWhole(t *testing.T) {
	// A TCP socket may take part of a line: its rest must follow at once.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	out, err := client.(*net.TCPConn).File() // a blocking duplicate, as stderr would be
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	// Nobody reads until the socket's buffers are full (a few MiB here):
	// long lines, each about what one send takes, so that the one which
	// finds the buffers full is likely to go in part. The Writer's buffer
	// is larger than them all: none is dropped.
	w := logwriter.New(out, 16<<20, report)
	text := numbered(string(bytes.Repeat([]byte("long "), 800)), 1500)
	writeAll(t, w, text)
	rf, err := server.(*net.TCPConn).File()
	if err != nil {
		t.Fatal(err)
	}
	defer rf.Close()
	got := lines(rf)
	for i, want := range text {
		if line := next(t, got); line != want {
			t.Fatalf("line %d is %q; want %q", i, line, want)
		}
	}
	closeWithin(t, w)
}

func TestALineGoesIntoAFileBeforeWriteReturns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := logwriter.New(f, logwriter.DefaultLimit, report)
	defer closeWithin(t, w)
	if kind := logwriter.DirectKind(w); kind != "file" {
		var fs unix.Statfs_t
		unix.Fstatfs(int(f.Fd()), &fs)
		t.Fatalf("direct path for a file in %s (file system %#x): %q; want file", filepath.Dir(path), fs.Type, kind)
	}
	text := numbered("line", 100)
	for _, s := range text {
		w.Write([]byte(s + "\n"))
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	for _, s := range text {
		want.WriteString(s + "\n")
	}
	if !bytes.Equal(data, want.Bytes()) {
		t.Fatalf("the file once Write returned holds %d bytes; want the %d bytes of every line", len(data), want.Len())
	}
}

func TestDevNullIsWrittenDirectly(t *testing.T) {
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := logwriter.New(f, logwriter.DefaultLimit, report)
	if kind := logwriter.DirectKind(w); kind != "null" {
		t.Fatalf("direct path for /dev/null: %q; want null", kind)
	}
	writeAll(t, w, numbered("line", 10))
	closeWithin(t, w)
}

func TestATerminalKeepsTheQueue(t *testing.T) {
	// A terminal can be stopped (^S) and its writes then wait.
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err := os.OpenFile(fmt.Sprint("/dev/pts/", n), os.O_WRONLY|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	w := logwriter.New(tty, logwriter.DefaultLimit, report)
	if kind := logwriter.DirectKind(w); kind != "" {
		t.Errorf("direct path for a terminal: %q; want none", kind)
	}
	w.Close(0)
}

func TestAStreamNotOpenForWritingIsNotReopenedForWriting(t *testing.T) {
	// A pipe's read end: a write to it fails, and must go on failing.
	r, pw := smallPipe(t)
	w := logwriter.New(r, logwriter.DefaultLimit, report)
	if kind := logwriter.DirectKind(w); kind != "" {
		t.Errorf("direct path for a pipe's read end: %q; want none", kind)
	}
	w.Write([]byte("line\n"))
	closeWithin(t, w)
	pw.Close()
	if n := inPipe(t, r); n != 0 {
		t.Errorf("%d bytes went into the pipe through its read end", n)
	}
}

func TestAWriterWithoutAFileQueues(t *testing.T) {
	var buf syncBuffer
	w := logwriter.New(&buf, logwriter.DefaultLimit, report)
	if kind := logwriter.DirectKind(w); kind != "" {
		t.Errorf("direct path for a bytes.Buffer: %q; want none", kind)
	}
	w.Write([]byte("line\n"))
	closeWithin(t, w)
	if buf.String() != "line\n" {
		t.Errorf("got %q; want the line", buf.String())
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
