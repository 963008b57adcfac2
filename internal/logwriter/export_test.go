package logwriter

import "golang.org/x/sys/unix"

// DirectKind says how w writes a line while nothing is queued: "pipe",
// "socket", "file", "null", or "" when every line goes through the queue.
func DirectKind(w *Writer) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.direct == nil {
		return ""
	}
	return w.direct.kind
}

// Drained reports whether nothing is queued or being written.
func Drained(w *Writer) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.queue) == 0 && !w.writing && w.dropped == 0
}

// SetDirect replaces the stream's own direct write with write, which
// returns how much of p it took, or unix.EAGAIN.
func SetDirect(w *Writer, write func(p []byte) (int, error)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.direct != nil {
		w.direct.close()
	}
	w.direct = &direct{fd: -1, kind: "test", write: func(_ int, p []byte) (int, error) { return write(p) }, longest: pipeBuf}
}

// EAGAIN is what a stream with no room says.
var EAGAIN error = unix.EAGAIN
