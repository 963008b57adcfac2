package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"github.com/slotrun/slotrun/control"
)

// `slotrun stop`: ask the supervisor to stop, then wait for its process to
// exit, for as long as its own settings let a stop take and a margin
// (docs/control.md, "Who owns what").

// stopAnswerGrace is how long stop waits for the supervisor's exit when the
// request got no answer.
const stopAnswerGrace = 2 * time.Second

// stopMargin is what stop adds to the supervisor's own bound on its exit
// (control.StopAnswer) before it calls the supervisor stuck: the time to
// exit once the last phase is over, on a loaded machine.
const stopMargin = 5 * time.Second

// unknownExitBound stands in for a bound the supervisor did not send (an
// older slotrun): the bound of the default settings.
const unknownExitBound = 4 * 10 * time.Second

func (c *cli) stop(args []string) int {
	const usage = "slotrun stop [--name NAME | --pidfile PATH | --control PATH] [--no-wait] [--timeout DURATION]"
	fs := pflag.NewFlagSet("slotrun stop", pflag.ContinueOnError)
	w := addWhere(fs)
	noWait := fs.Bool("no-wait", false, "return once the stop has begun")
	timeout := fs.Duration("timeout", 0, "give up after `DURATION` (default: as long as the supervisor's --shutdown-delay and --stop-timeout allow, plus 5s)")
	if code, done := c.parseClient(fs, usage, args); done {
		return code
	}
	if fs.NArg() > 0 {
		return c.fail(exitUsage, fmt.Errorf("stop: unexpected argument %q (usage: %s)", fs.Arg(0), usage))
	}
	if err := checkTimeout("stop", fs, *timeout); err != nil {
		return c.fail(exitUsage, err)
	}
	client, pidPath, cerr := w.connect("stop")
	if cerr != nil {
		return c.failWith(cerr)
	}
	ctx, cancel := interruptible()
	defer cancel()
	if fs.Changed("timeout") {
		ctx, cancel = context.WithTimeout(ctx, *timeout)
		defer cancel()
	}
	// Each request is bounded on its own, as status is: a supervisor that
	// accepts connections and never answers (SIGSTOP, a stuck loop) fails
	// the stop in clientTimeout, not never.
	asking := func() (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, clientTimeout) }

	// The supervisor's pid, to wait for its exit: a pidfd taken while it
	// still answers names that process, and no later holder of its pid.
	askCtx, done := asking()
	st, err := client.Status(askCtx)
	done()
	if err != nil {
		return c.failWith(remoteFailure("stop", pidPath, err))
	}
	// The PID file's supervisor and the one answering on the socket
	// derived from it must be the same: if another process serves that
	// path (a --control given to another supervisor), this stop would end
	// the wrong one.
	if want := supervisorPID(pidPath, client.Path()); want != 0 && want != st.PID {
		return c.fail(exitFailure, fmt.Errorf("stop: the control socket %s answers for pid %d, but the PID file %s names pid %d; stopping nothing (does another supervisor use this --control?)",
			client.Path(), st.PID, pidPath, want))
	}
	exited, err := watchExit(st.PID)
	if err != nil {
		return c.fail(exitFailure, fmt.Errorf("stop: %w", err))
	}
	defer exited.Close()
	var ans control.StopAnswer
	askCtx, done = asking()
	err = client.Do(askCtx, "POST", "/v1/stop", nil, &ans)
	done()
	if err != nil {
		// A quick stop can end the supervisor, and close its socket,
		// before the answer is written: its exit is the answer then.
		quick, cancelQuick := context.WithTimeout(ctx, stopAnswerGrace)
		gone := exited.Wait(quick) == nil
		cancelQuick()
		if !gone {
			return c.failWith(remoteFailure("stop", pidPath, err))
		}
		return exitOK
	}
	if *noWait {
		return exitOK
	}
	bound := *timeout
	if !fs.Changed("timeout") {
		bound = time.Duration(ans.ExitWithinSeconds * float64(time.Second))
		if bound <= 0 {
			bound = unknownExitBound
		}
		bound += stopMargin
		var cancelWait context.CancelFunc
		ctx, cancelWait = context.WithTimeout(ctx, bound)
		defer cancelWait()
	}
	switch err := exited.Wait(ctx); {
	case errors.Is(err, context.DeadlineExceeded):
		return c.fail(exitFailure, fmt.Errorf("stop: the supervisor (pid %d) has not exited within %s of the stop request%s; the stop goes on",
			st.PID, bound.Round(100*time.Millisecond), whyNotExited(st.PID)))
	case err != nil:
		return c.fail(exitFailure, fmt.Errorf("stop: the stop goes on, but this command stopped waiting for it: %w", err))
	}
	return exitOK
}

// whyNotExited says what may keep a supervisor from exiting after a stop.
func whyNotExited(pid int) string {
	if state, ok := processState(pid); ok && (state == 'T' || state == 't') {
		return fmt.Sprintf("; it is stopped (SIGSTOP, Ctrl-Z or a debugger): `kill -CONT %d` resumes it", pid)
	}
	return "; it may be stuck (its log may say why)"
}

// exitWatch tells when a process has exited.
type exitWatch struct {
	pid, pidfd int
}

// watchExit starts watching pid, with a pidfd where the kernel has them
// (5.3 and later), so the wait is one poll and no loop.
func watchExit(pid int) (*exitWatch, error) {
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return &exitWatch{pid: pid, pidfd: -1}, nil // gone already
	}
	if err != nil {
		return &exitWatch{pid: pid, pidfd: -1}, nil
	}
	return &exitWatch{pid: pid, pidfd: fd}, nil
}

func (e *exitWatch) Close() {
	if e.pidfd >= 0 {
		unix.Close(e.pidfd)
	}
}

// Wait returns once the process has exited, or ctx is done.
func (e *exitWatch) Wait(ctx context.Context) error {
	for {
		if e.pidfd < 0 {
			if errors.Is(unix.Kill(e.pid, 0), unix.ESRCH) {
				return nil
			}
		} else {
			fds := []unix.PollFd{{Fd: int32(e.pidfd), Events: unix.POLLIN}}
			n, err := unix.Poll(fds, 100)
			if err == nil && n > 0 {
				return nil
			}
			if err != nil && !errors.Is(err, unix.EINTR) {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if e.pidfd < 0 {
			time.Sleep(10 * time.Millisecond)
		}
	}
}
