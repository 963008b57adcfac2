package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// event is one line a worker wrote: "start PID SLOT NS", "ready PID SLOT
// NS" or "hup PID SLOT NS".
type event struct {
	kind string // "start", "ready" or "hup"
	pid  int
	slot string // which of the supervisor's places the worker fills
	at   int64  // the worker's CLOCK_MONOTONIC reading, in ns
}

func parseEvent(line string) (event, error) {
	f := strings.Fields(line)
	if len(f) != 4 || (f[0] != "start" && f[0] != "hup" && f[0] != "ready") {
		return event{}, fmt.Errorf("bad worker line %q", line)
	}
	pid, err1 := strconv.Atoi(f[1])
	at, err2 := strconv.ParseInt(f[3], 10, 64)
	if err1 != nil || err2 != nil {
		return event{}, fmt.Errorf("bad worker line %q", line)
	}
	return event{kind: f[0], pid: pid, slot: f[2], at: at}, nil
}

// reports reads the FIFO every worker of one instance writes to.
type reports struct {
	path   string
	f      *os.File
	events chan event
	errs   chan error
}

var errTimeout = errors.New("timed out")

// openReports makes the FIFO and starts reading it. The bench opens it
// read-write, so it never sees end-of-file between workers, and a worker's
// open for writing never blocks.
func openReports(path string) (*reports, error) {
	if err := unix.Mkfifo(path, 0o600); err != nil {
		return nil, fmt.Errorf("mkfifo %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	r := &reports{path: path, f: f, events: make(chan event, 1<<16), errs: make(chan error, 1)}
	go r.read()
	return r, nil
}

// read runs until the FIFO is closed. It never blocks on the channel for
// long: a crash storm writes thousands of lines a second, and a full FIFO
// would stall the workers and so the measurement.
func (r *reports) read() {
	sc := bufio.NewScanner(r.f)
	for sc.Scan() {
		ev, err := parseEvent(sc.Text())
		if err != nil {
			select {
			case r.errs <- err:
			default:
			}
			continue
		}
		r.events <- ev
	}
	close(r.events)
}

// next returns the next event, or errTimeout once deadline passes.
func (r *reports) next(deadline time.Time) (event, error) {
	select {
	case err := <-r.errs:
		return event{}, err
	default:
	}
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case ev, ok := <-r.events:
		if !ok {
			return event{}, errors.New("report FIFO closed")
		}
		return ev, nil
	case err := <-r.errs:
		return event{}, err
	case <-t.C:
		return event{}, errTimeout
	}
}

// drain discards the events already read.
func (r *reports) drain() []event {
	var out []event
	for {
		select {
		case ev := <-r.events:
			out = append(out, ev)
		default:
			return out
		}
	}
}

func (r *reports) close() {
	r.f.Close()
	for range r.events {
	}
}
