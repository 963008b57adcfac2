package supervisor

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"
)

// maxLine is the longest piece of a line written with one prefix; a longer
// line is cut into prefixed pieces.
const maxLine = 64 << 10

// output relays workers' stdout and stderr line by line with a prefix
// (--prefix). Each line goes out in one Write under a lock, so lines of
// different workers never interleave inside a line. A relay blocks while
// slotrun's own stdout or stderr does not take its lines, and so, once the
// pipe between them is full, does the worker: output is slowed down, never
// thrown away. At exit, drain relays what the workers left in their pipes.
type output struct {
	name           string
	stdout, stderr *lockedWriter

	mu      sync.Mutex
	relays  map[*relay]struct{} // those still running
	settled chan struct{}       // one token: a relay caught up or ended
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (lw *lockedWriter) Write(p []byte) (int, error) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return lw.w.Write(p)
}

func newOutput(name string, stdout, stderr io.Writer) *output {
	return &output{
		name:    name,
		stdout:  &lockedWriter{w: stdout},
		stderr:  &lockedWriter{w: stderr},
		relays:  map[*relay]struct{}{},
		settled: make(chan struct{}, 1),
	}
}

// workerPipes are the two pipes of one worker being started.
type workerPipes struct {
	o                *output
	prefix           string
	stdoutR, stderrR *os.File
	stdoutW, stderrW *os.File
}

func (o *output) pipes(slot int) (*workerPipes, error) {
	p := &workerPipes{o: o, prefix: fmt.Sprintf("[%s:%d] ", o.name, slot)}
	var err error
	if p.stdoutR, p.stdoutW, err = os.Pipe(); err != nil {
		return nil, fmt.Errorf("stdout pipe: %w", err)
	}
	if p.stderrR, p.stderrW, err = os.Pipe(); err != nil {
		p.stdoutR.Close()
		p.stdoutW.Close()
		return nil, fmt.Errorf("stderr pipe: %w", err)
	}
	return p, nil
}

// afterFork closes our copies of the write ends (the worker has its own)
// and, if the worker started, relays what it writes until it closes them.
func (p *workerPipes) afterFork(started bool) {
	p.stdoutW.Close()
	p.stderrW.Close()
	if !started {
		p.stdoutR.Close()
		p.stderrR.Close()
		return
	}
	p.o.start(p.stdoutR, p.prefix, p.o.stdout)
	p.o.start(p.stderrR, p.prefix, p.o.stderr)
}

// relay copies one pipe of one worker, line by line, to dst.
//
// It keeps count of the bytes it took from the pipe (read) and of those it
// has passed on (written); together with what still waits in the pipe,
// that is what would be lost if slotrun exited now. Taking bytes and
// counting them happen under mu, inside one callback of the pipe's raw
// read, so that pending sees no byte twice and misses none.
type relay struct {
	o      *output
	r      *os.File
	raw    syscall.RawConn
	prefix string
	dst    *lockedWriter

	mu            sync.Mutex
	read, written int64
}

func (o *output) start(r *os.File, prefix string, dst *lockedWriter) {
	raw, err := r.SyscallConn()
	if err != nil {
		// os.Pipe always gives a file with one; without it, nothing
		// can be relayed.
		r.Close()
		return
	}
	rl := &relay{o: o, r: r, raw: raw, prefix: prefix, dst: dst}
	o.mu.Lock()
	o.relays[rl] = struct{}{}
	o.mu.Unlock()
	go rl.run()
}

func (rl *relay) run() {
	defer rl.end()
	// A line of maxLine bytes and its newline fit; anything longer is cut.
	buf := make([]byte, maxLine+1)
	line := make([]byte, 0, 4096)
	n := 0
	for {
		m, err := rl.fill(buf[n:])
		n += m
		start := 0
		for {
			i := bytes.IndexByte(buf[start:n], '\n')
			if i < 0 {
				break
			}
			line = rl.emit(line, buf[start:start+i+1])
			start += i + 1
		}
		if n-start > maxLine || (err != nil && n > start) {
			// A piece of an overlong line, or the last line without a
			// newline: cut here.
			end := min(n, start+maxLine)
			line = rl.emit(line, buf[start:end])
			start = end
		}
		n = copy(buf, buf[start:n])
		if err != nil && n == 0 {
			return
		}
	}
}

// fill reads what the pipe has into p, waiting until it has something.
// It returns io.EOF once every writer has closed the pipe.
func (rl *relay) fill(p []byte) (int, error) {
	var n int
	var rerr error
	err := rl.raw.Read(func(fd uintptr) bool {
		rl.mu.Lock()
		defer rl.mu.Unlock()
		n, rerr = unix.Read(int(fd), p)
		if n > 0 {
			rl.read += int64(n)
		}
		return !errors.Is(rerr, unix.EAGAIN)
	})
	switch {
	case err != nil:
		return 0, err
	case errors.Is(rerr, unix.EINTR):
		return 0, nil
	case rerr != nil:
		return 0, rerr
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// emit writes one line, or a piece of one, with the prefix and a newline,
// in one Write. It returns the buffer for the next line.
func (rl *relay) emit(line, content []byte) []byte {
	line = append(append(line[:0], rl.prefix...), content...)
	if content[len(content)-1] != '\n' {
		line = append(line, '\n') // a cut piece, or the last line without a newline
	}
	// A failed write (the reader is gone) loses the line; it is counted as
	// passed on all the same: there is nothing to wait for.
	rl.dst.Write(line)
	rl.mu.Lock()
	rl.written += int64(len(content))
	caughtUp := rl.written == rl.read
	rl.mu.Unlock()
	if caughtUp {
		rl.o.settle()
	}
	return line
}

func (rl *relay) end() {
	rl.r.Close()
	rl.o.mu.Lock()
	delete(rl.o.relays, rl)
	rl.o.mu.Unlock()
	rl.o.settle()
}

// pending is how many bytes the worker wrote that are not passed on yet:
// in the pipe, or taken from it and not written.
func (rl *relay) pending() int64 {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	inPipe := 0
	// TIOCINQ is FIONREAD: the bytes a pipe holds. After the relay closed
	// the pipe, Control fails: nothing waits there.
	rl.raw.Control(func(fd uintptr) {
		inPipe, _ = unix.IoctlGetInt(int(fd), unix.TIOCINQ)
	})
	return rl.read - rl.written + int64(inPipe)
}

// settle tells drain to look again.
func (o *output) settle() {
	select {
	case o.settled <- struct{}{}:
	default:
	}
}

// pending is what every running relay has not passed on yet.
func (o *output) pending() int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	var n int64
	for rl := range o.relays {
		n += rl.pending()
	}
	return n
}

// drain waits until the relays have passed on what the workers wrote, for
// at most timeout (the stop timeout: a reader of slotrun's output that
// never reads must not keep it from exiting), and logs what was lost. It
// does not wait for every pipe to close: a process that left its worker's
// group may hold one open for ever, and once what was written is relayed
// there is nothing to wait for.
func (o *output) drain(timeout time.Duration, log hclog.Logger) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for o.pending() > 0 {
		select {
		case <-o.settled:
		case <-deadline.C:
			if lost := o.pending(); lost > 0 {
				log.Warn(fmt.Sprintf("%d bytes of worker output not relayed: slotrun's output was not read within the stop timeout", lost),
					"bytes", lost, "stop_timeout", timeout.String())
			}
			return
		}
	}
}
