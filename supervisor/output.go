package supervisor

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// maxLine is the longest piece of a line written with one prefix; a longer
// line is cut into prefixed pieces.
const maxLine = 64 << 10

// output relays workers' stdout and stderr line by line with a prefix
// (--prefix). Each line goes out in one Write under a lock, so lines of
// different workers never interleave inside a line.
type output struct {
	name           string
	stdout, stderr *lockedWriter
	relays         sync.WaitGroup
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
	return &output{name: name, stdout: &lockedWriter{w: stdout}, stderr: &lockedWriter{w: stderr}}
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
	p.o.relays.Add(2)
	go p.o.relay(p.stdoutR, p.prefix, p.o.stdout)
	go p.o.relay(p.stderrR, p.prefix, p.o.stderr)
}

func (o *output) relay(r *os.File, prefix string, dst *lockedWriter) {
	defer o.relays.Done()
	defer r.Close()
	br := bufio.NewReaderSize(r, maxLine)
	line := make([]byte, 0, 4096)
	for {
		chunk, err := br.ReadSlice('\n')
		if len(chunk) > 0 {
			line = append(append(line[:0], prefix...), chunk...)
			if chunk[len(chunk)-1] != '\n' {
				line = append(line, '\n') // a cut piece, or the last line without a newline
			}
			dst.Write(line)
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}

// wait gives the relays a moment to copy what the last workers wrote. A
// process that left its worker's group may hold a pipe open for ever, so the
// wait is bounded.
func (o *output) wait() {
	done := make(chan struct{})
	go func() { o.relays.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Second):
	}
}
