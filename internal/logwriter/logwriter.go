// Package logwriter puts a bounded buffer between a logger and the stream
// its lines go to, so that logging never waits for a reader.
//
// A supervisor logs from the goroutine that reaps and restarts its workers.
// Written straight to stderr, one line to a pipe nobody drains blocks that
// goroutine for good: no worker is reaped, restarted or stopped any more.
// A Writer's Write returns at once. While nothing is queued, it hands the
// line to the stream itself if the stream can take it without waiting (a
// pipe with room, a socket, a local file, /dev/null; see direct.go). Any
// other line is queued in memory, and so is every line after it until the
// queue is written out, by a goroutine of the Writer's own, whole and in
// order. When the buffer is full, the oldest lines waiting in it are
// dropped and counted: the newest say what the supervisor is doing now, and
// how a stop ended. Once the stream moves again the count goes out as one
// line of its own, where the lines are missing.
//
// Idle, a Writer does nothing: its goroutine sleeps until a line is queued.
//
// Between Hold and Release, lines that would be written at once are kept,
// and written together at Flush or Release: one write for as many whole
// lines as the stream takes in one piece (PIPE_BUF for a pipe). A
// supervisor holds its lines through a round of restarts, which logs two
// lines a worker, and flushes them before each fork: one write instead of
// two per restart (docs/performance.md).
package logwriter

import (
	"bytes"
	"io"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultLimit is a buffer size that rides out a burst of some thousand log
// lines while a reader is slow, and costs nothing while it is not.
const DefaultLimit = 256 << 10

// Writer is an io.Writer for a logger that writes each line with one Write
// (hclog does). Its zero value is not usable; make one with New.
type Writer struct {
	out    io.Writer
	limit  int
	report func(dropped int) []byte

	mu      sync.Mutex
	direct  *direct   // writes a line at once if the stream takes it; nil: queue all
	wake    sync.Cond // a line was queued, or Close was called
	queue   [][]byte  // lines not yet written, oldest first
	rest    bool      // queue[0] is what the stream left of a line: next out, never dropped
	queued  int       // their bytes, and those of the line being written
	writing bool      // run is writing a line or a report
	dropped int       // lines dropped before the first queued, not reported yet
	closed  bool
	done    chan struct{} // closed once the queue is written out after Close
	held    bool          // between Hold and Release
	batch   []byte        // lines kept while held, for the direct writer
}

// New starts a Writer that holds at most limit bytes of lines for out.
// report formats the line that says how many lines were dropped; it is
// called from the Writer's goroutine, one call at a time, and may return
// nil to say nothing (a logger whose level filters warnings out).
func New(out io.Writer, limit int, report func(dropped int) []byte) *Writer {
	w := &Writer{out: out, limit: limit, report: report, direct: newDirect(out), done: make(chan struct{})}
	w.wake.L = &w.mu
	go w.run()
	return w
}

// Write writes p whole, and never blocks on the stream: at once (with the
// lines kept, between Hold and Release), if nothing is queued and the
// stream takes p without waiting, or else through a copy in the queue.
// When the buffer has no room for p, the oldest queued lines make room,
// or p itself is dropped if it alone is larger than the buffer. It always
// reports success: a logger has nothing better to do with an error, and
// hclog would write one more line about it.
func (w *Writer) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		// After Close nothing is waited for: the line is lost, as it
		// would be if the process had already exited.
		return len(p), nil
	}
	if w.held && w.direct != nil && len(p) <= w.direct.batchMax() {
		if len(w.batch)+len(p) > w.direct.batchMax() {
			w.flush()
		}
		w.batch = append(w.batch, p...)
		return len(p), nil
	}
	w.flush()
	w.put(p)
	return len(p), nil
}

// Hold keeps the lines written from now on until Release, to write them
// together. Hold and Release are for one goroutine; lines from others are
// kept with them.
func (w *Writer) Hold() {
	w.mu.Lock()
	w.held = true
	w.mu.Unlock()
}

// Flush writes the lines kept so far, and goes on keeping those that
// follow until Release.
func (w *Writer) Flush() {
	w.mu.Lock()
	w.flush()
	w.mu.Unlock()
}

// Release writes the lines kept since Hold, and writes each line at once
// again.
func (w *Writer) Release() {
	w.mu.Lock()
	w.held = false
	w.flush()
	w.mu.Unlock()
}

// flush writes the lines kept while held: in one piece if the stream
// takes it at once, or else line by line as Write would have, so that a
// pipe with room for some of them takes those. Under w.mu.
func (w *Writer) flush() {
	b := w.batch
	if len(b) == 0 {
		return
	}
	w.batch = w.batch[:0] // reused: a write keeps none of it, the queue a copy
	if w.writeNow(b) {
		return
	}
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line = b[:i+1]
		}
		w.put(line)
		b = b[len(line):]
	}
}

// put writes p at once if nothing is queued and the stream takes it
// without waiting, or else queues a copy of it. Under w.mu.
func (w *Writer) put(p []byte) {
	if !w.writeNow(p) {
		w.enqueue(p)
		w.wake.Signal()
	}
}

// writeNow writes p at once if nothing is queued and the stream takes it
// without waiting. It reports false, and leaves p to the caller, if the
// stream has no room or p cannot be written directly. Under w.mu.
func (w *Writer) writeNow(p []byte) bool {
	if w.direct != nil && len(w.queue) == 0 && !w.writing && w.dropped == 0 && len(p) <= w.direct.longest {
		// Under the lock: the next Write sees this line written or queued.
		n, err := w.direct.write(w.direct.fd, p)
		switch {
		case n == len(p):
			return true
		case n > 0:
			// The stream took the start of p (a socket short of room):
			// the rest goes out next, before any other line.
			w.queue = append(w.queue, bytes.Clone(p[n:]))
			w.queued += len(p) - n
			w.rest = true
			w.wake.Signal()
			return true
		case err != unix.EAGAIN:
			// A stream that fails (its reader gone, a full disk) would
			// fail the queued write too: the line is lost either way.
			return true
		}
	}
	return false
}

// enqueue queues a copy of p, dropping the oldest queued lines if there is
// no room, or p itself if it alone is larger than the buffer.
func (w *Writer) enqueue(p []byte) {
	first := 0 // the first line that may be dropped
	if w.rest {
		first = 1
	}
	for w.queued+len(p) > w.limit && len(w.queue) > first {
		w.dropped += lines(w.queue[first])
		w.queued -= len(w.queue[first])
		w.queue[first] = w.queue[0]
		w.queue[0] = nil
		w.queue = w.queue[1:]
	}
	if w.queued+len(p) > w.limit {
		w.dropped += lines(p) // larger than what the line being written leaves
		return
	}
	w.queue = append(w.queue, bytes.Clone(p))
	w.queued += len(p)
}

// lines counts the lines of one write: usually one, more for a value that
// spans lines.
func lines(p []byte) int { return max(1, bytes.Count(p, []byte{'\n'})) }

// Close stops taking lines and waits until those queued are written, for
// at most wait: a reader that never reads must not keep the process from
// exiting. It reports whether every queued line was written.
func (w *Writer) Close(wait time.Duration) bool {
	w.mu.Lock()
	w.flush()
	w.closed = true
	if w.direct != nil {
		w.direct.close()
		w.direct = nil
	}
	w.wake.Signal()
	w.mu.Unlock()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-w.done:
		return true
	case <-t.C:
		return false
	}
}

// run writes the queue out, one line per Write, so that another writer of
// the same stream (worker output relayed to stderr) cannot land inside a
// line: a pipe takes a write of up to 4 KiB in one piece. Lines dropped
// while one was being written are reported before the next: that is where
// they are missing, after the rest of a line the stream took in part.
//
// run writes through out, blocking as long as the stream makes it wait;
// Write does not write directly meanwhile, so lines stay in order.
func (w *Writer) run() {
	defer close(w.done)
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		for len(w.queue) == 0 && w.dropped == 0 && !w.closed {
			w.wake.Wait()
		}
		if w.dropped > 0 && !w.rest {
			n := w.dropped
			w.dropped = 0
			w.writing = true
			w.mu.Unlock()
			if msg := w.report(n); len(msg) > 0 {
				w.out.Write(msg)
			}
			w.mu.Lock()
			w.writing = false
			continue
		}
		if len(w.queue) == 0 {
			return // closed, and everything written
		}
		line := w.queue[0]
		w.queue[0] = nil
		w.queue = w.queue[1:]
		w.rest = false
		w.writing = true
		w.mu.Unlock()
		w.out.Write(line)
		w.mu.Lock()
		w.writing = false
		w.queued -= len(line)
	}
}
