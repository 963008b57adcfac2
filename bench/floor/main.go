// Command floor is the least a launcher can do, and so the floor the bench
// holds slotrun against: fork/exec N workers, respawn each one the moment it
// exits (a wait4 loop on SIGCHLD), forward HUP, and on TERM or INT stop them
// all and exit. No slot table, no PID file, no logs, no backoff, no timers.
//
//	floor -n N COMMAND [ARG...]
//
// It is written in Go like slotrun, with the same os/signal plumbing, so the
// difference between the two is what slotrun does beyond this, not the
// language runtime.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

func main() {
	n := flag.Int("n", 1, "number of workers")
	flag.Parse()
	if flag.NArg() == 0 || *n < 1 {
		fmt.Fprintln(os.Stderr, "usage: floor -n N COMMAND [ARG...]")
		os.Exit(2)
	}
	path, err := exec.LookPath(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(127)
	}
	// SIGCHLD gets a channel of its own with room for one: a pending
	// notification means "reap everything", so extra ones can be dropped.
	// Sharing one channel with TERM would let a crash storm fill it with
	// SIGCHLDs, and os/signal drops what does not fit: the TERM with them.
	chld := make(chan os.Signal, 1)
	signal.Notify(chld, syscall.SIGCHLD)
	ctl := make(chan os.Signal, 8)
	signal.Notify(ctl, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)

	l := &launcher{path: path, argv: flag.Args(), slots: map[int]int{}}
	for slot := range *n {
		l.spawn(slot)
	}
	for !l.stopping || len(l.slots) > 0 {
		// A control signal goes before reaping, which a storm never ends.
		select {
		case sig := <-ctl:
			l.control(sig)
			continue
		default:
		}
		select {
		case sig := <-ctl:
			l.control(sig)
		case <-chld:
			l.reap()
		}
	}
}

type launcher struct {
	path     string
	argv     []string
	slots    map[int]int // running worker pid → its slot
	stopping bool
}

// spawn starts a worker in its own process group, like slotrun does, with
// the same COMET_PROCESS_ID variable so the bench can tell slots apart.
func (l *launcher) spawn(slot int) {
	attr := &syscall.ProcAttr{
		Env:   append(os.Environ(), "COMET_PROCESS_ID="+strconv.Itoa(slot)),
		Files: []uintptr{0, 1, 2},
		Sys:   &syscall.SysProcAttr{Setpgid: true},
	}
	pid, err := syscall.ForkExec(l.path, l.argv, attr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
	l.slots[pid] = slot
}

func (l *launcher) control(sig os.Signal) {
	if sig == syscall.SIGHUP {
		l.signalAll(syscall.SIGHUP)
		return
	}
	l.stopping = true
	l.signalAll(syscall.SIGTERM)
}

// reap collects every ended child, then, unless stopping, respawns their
// slots: collecting first lets the loop look at signals again between two
// batches, however fast the workers die.
func (l *launcher) reap() {
	var ended []int
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if pid <= 0 || err != nil {
			break
		}
		if slot, ok := l.slots[pid]; ok {
			delete(l.slots, pid)
			ended = append(ended, slot)
		}
	}
	if l.stopping {
		return
	}
	for _, slot := range ended {
		l.spawn(slot)
	}
}

func (l *launcher) signalAll(sig syscall.Signal) {
	for pid := range l.slots {
		unix.Kill(-pid, sig)
	}
}
