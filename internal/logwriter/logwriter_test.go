package logwriter_test

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/slotrun/slotrun/internal/logwriter"
)

// bound is how long any step of these tests may take on a loaded machine.
const bound = 10 * time.Second

func report(n int) []byte { return fmt.Appendf(nil, "%d log lines dropped\n", n) }

// smallPipe is a real pipe holding one page, the least Linux allows, so
// that a reader who does not read stops the writer after a few lines.
func smallPipe(t *testing.T) (r, w *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	if _, err := unix.FcntlInt(w.Fd(), unix.F_SETPIPE_SZ, 4096); err != nil {
		t.Fatalf("F_SETPIPE_SZ: %v", err)
	}
	return r, w
}

// lines reads r line by line into a channel, until EOF.
func lines(r *os.File) <-chan string {
	ch := make(chan string, 1024)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			ch <- sc.Text()
		}
	}()
	return ch
}

func next(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case line, ok := <-ch:
		if !ok {
			t.Fatal("the stream ended early")
		}
		return line
	case <-time.After(bound):
		t.Fatalf("no line within %s", bound)
	}
	return ""
}

// writeAll writes the lines from another goroutine and fails the test if
// they take longer than bound: a Write must never wait for the stream.
func writeAll(t *testing.T, w *logwriter.Writer, text []string) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, s := range text {
			w.Write([]byte(s + "\n"))
		}
	}()
	select {
	case <-done:
	case <-time.After(bound):
		t.Fatalf("%d writes did not return within %s: Write waited for the stream", len(text), bound)
	}
}

func numbered(prefix string, n int) []string {
	text := make([]string, n)
	for i := range text {
		text[i] = fmt.Sprintf("%s %d %s", prefix, i, "some words a log line carries, to make it log-line sized")
	}
	return text
}

func TestLinesGoOutWholeAndInOrder(t *testing.T) {
	r, pw := smallPipe(t)
	got := lines(r)
	w := logwriter.New(pw, logwriter.DefaultLimit, report)
	// Fewer bytes than the buffer holds: none may be dropped, however
	// slowly the reader goes.
	text := numbered("line", 2000)
	writeAll(t, w, text)
	for i, want := range text {
		if line := next(t, got); line != want {
			t.Fatalf("line %d is %q; want %q", i, line, want)
		}
	}
	if !w.Close(bound) {
		t.Fatalf("Close: the lines were not written within %s", bound)
	}
	pw.Close()
	if line, ok := <-got; ok {
		t.Errorf("an extra line: %q", line)
	}
}

var dropReport = regexp.MustCompile(`^(\d+) log lines dropped$`)

// account reads lines until every one of want is accounted for, in order:
// written, or counted by a report that stands where lines are missing. It
// returns how many reports it read.
func account(t *testing.T, got <-chan string, want []string) int {
	t.Helper()
	i, reports := 0, 0
	for i < len(want) {
		line := next(t, got)
		if m := dropReport.FindStringSubmatch(line); m != nil {
			n, _ := strconv.Atoi(m[1])
			if n == 0 || i+n >= len(want) {
				t.Fatalf("after %d lines, a report of %d dropped; want 1 to %d (the newest line is never dropped)", i, n, len(want)-i-1)
			}
			i += n
			reports++
			continue
		}
		if line != want[i] {
			t.Fatalf("line %q where %q, or the count of the lines dropped from there on, was due", line, want[i])
		}
		i++
	}
	return reports
}

func TestAFullBufferDropsTheOldestLinesAndSaysHowManyWhereTheyAreMissing(t *testing.T) {
	r, pw := smallPipe(t)
	w := logwriter.New(pw, 2048, report)
	// Nobody reads yet: the pipe fills, then the buffer; lines are dropped.
	before := numbered("before", 1000)
	writeAll(t, w, before)

	got := lines(r)
	if account(t, got, before) == 0 {
		t.Fatal("every line went out; want some dropped, with a pipe of 4 KiB and a buffer of 2 KiB")
	}
	// Reported, the drop is over: what comes next goes out.
	after := numbered("after", 10)
	writeAll(t, w, after)
	for i, want := range after {
		if line := next(t, got); line != want {
			t.Fatalf("after the report, line %d is %q; want %q", i, line, want)
		}
	}
	if !w.Close(bound) {
		t.Error("Close with a live reader: lines left unwritten")
	}
}

func TestDropsGoUnreportedWhenTheReportSaysNothing(t *testing.T) {
	r, pw := smallPipe(t)
	w := logwriter.New(pw, 1024, func(int) []byte { return nil })
	text := numbered("line", 1000)
	writeAll(t, w, text)
	got := lines(r)
	// Lines in order with a gap, and no report in it; the newest is there.
	i := 0
	for i < len(text)-1 {
		line := next(t, got)
		for i < len(text) && text[i] != line {
			i++
		}
		if i == len(text) {
			t.Fatalf("line %q is none of those written, or out of order", line)
		}
	}
	if !w.Close(bound) {
		t.Error("Close with a live reader: lines left unwritten")
	}
}

func TestCloseGivesUpOnAReaderThatNeverReads(t *testing.T) {
	_, pw := smallPipe(t)
	w := logwriter.New(pw, logwriter.DefaultLimit, report)
	writeAll(t, w, numbered("line", 1000))
	start := time.Now()
	if w.Close(200 * time.Millisecond) {
		t.Fatal("Close reported every line written; nobody read them")
	}
	if took := time.Since(start); took > bound {
		t.Errorf("Close took %s; want about 200ms", took)
	}
}

func TestWritesAfterCloseAreDropped(t *testing.T) {
	r, pw := smallPipe(t)
	got := lines(r)
	w := logwriter.New(pw, logwriter.DefaultLimit, report)
	writeAll(t, w, []string{"first"})
	w.Close(bound)
	writeAll(t, w, []string{"late"})
	pw.Close()
	var all []string
	for line := range got {
		all = append(all, line)
	}
	if len(all) != 1 || all[0] != "first" {
		t.Errorf("got %s; want only the line written before Close", strconv.Quote(fmt.Sprint(all)))
	}
}
