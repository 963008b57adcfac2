package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"github.com/slotrun/slotrun/config"
	"github.com/slotrun/slotrun/control"
	"github.com/slotrun/slotrun/internal/signame"
	"github.com/slotrun/slotrun/pidfile"
)

// The client subcommands that talk to a running supervisor's control
// socket: status, scale, restart, stop, and signal --slot
// (docs/control.md). Each exits 0 when done, 1 when the supervisor is not
// running or the request failed, 2 for bad usage.

// where names the supervisor a client subcommand talks to, the way `run`
// named it.
type where struct {
	name, pidfile, control string
	fs                     *pflag.FlagSet
}

// addWhere adds --name, --pidfile and --control to fs.
func addWhere(fs *pflag.FlagSet) *where {
	w := &where{fs: fs}
	fs.StringVar(&w.name, "name", "slotrun", "the instance called `NAME`")
	fs.StringVar(&w.pidfile, "pidfile", "", "the supervisor whose PID file is `PATH` (default .pid/NAME.pid)")
	fs.StringVar(&w.control, "control", "", "the control socket at `PATH` (default: the PID file's path with .sock for .pid)")
	return w
}

// clientError is a failure with its exit code.
type clientError struct {
	code int
	err  error
}

// connect returns a client of the supervisor's control socket and the path
// of its PID file.
func (w where) connect(cmd string) (*control.Client, string, *clientError) {
	pidPath, err := config.PIDFile(w.name, w.pidfile, w.fs.Changed("pidfile"))
	if err != nil {
		return nil, "", &clientError{exitUsage, fmt.Errorf("%s: %w", cmd, err)}
	}
	path := config.ControlPath(pidPath)
	if w.fs.Changed("control") {
		path = w.control
	}
	if path == "none" {
		return nil, "", &clientError{exitFailure, fmt.Errorf("%s needs the control socket, and --control none names none", cmd)}
	}
	if err := control.CheckPath(path); err != nil {
		if !w.fs.Changed("control") { // the path comes from the PID file's
			return nil, "", &clientError{exitUsage, fmt.Errorf("%s: --pidfile %s: the control socket beside it: %w", cmd, pidPath, err)}
		}
		return nil, "", &clientError{exitUsage, fmt.Errorf("%s: --control: %w", cmd, err)}
	}
	return control.NewClient(path), pidPath, nil
}

// remoteFailure turns a client's error into an exit code and one line: 2
// for a request the supervisor found wrong (a value out of range), 1 for
// the rest.
func remoteFailure(cmd, pidPath string, err error) *clientError {
	var e *control.Error
	var silent *control.NoAnswerError
	switch {
	case errors.Is(err, control.ErrNotRunning):
		if pid, rerr := pidfile.Read(pidPath); rerr == nil {
			return &clientError{exitFailure, fmt.Errorf("%s: the supervisor (pid %d) does not answer on its control socket: %w; was it started with --control none, or another --control?", cmd, pid, err)}
		}
		return &clientError{exitFailure, err}
	case errors.As(err, &silent):
		return &clientError{exitFailure, fmt.Errorf("%s: %s did not answer on its control socket %s within %s%s", cmd,
			supervisorAt(pidPath, silent.Path), silent.Path, silent.Waited, whyNoAnswer(pidPath, silent.Path))}
	case errors.Is(err, context.Canceled):
		return &clientError{exitFailure, fmt.Errorf("%s: interrupted; what was already asked goes on in the supervisor", cmd)}
	case errors.As(err, &e) && e.Status == control.StatusBadRequest:
		return &clientError{exitUsage, errors.New(e.Msg)}
	case errors.As(err, &e):
		return &clientError{exitFailure, errors.New(e.Msg)}
	}
	return &clientError{exitFailure, fmt.Errorf("%s: %w", cmd, err)}
}

// supervisorPID is the pid of the live supervisor whose control socket is
// at sock, when its PID file says so: the PID file whose path sock derives
// from, and only while its lock is held. 0 if unknown.
func supervisorPID(pidPath, sock string) int {
	if config.ControlPath(pidPath) != sock {
		return 0 // --control names another socket than the PID file's
	}
	pid, err := pidfile.Read(pidPath)
	if err != nil {
		return 0
	}
	return pid
}

// supervisorAt names the supervisor behind the socket sock for a message.
func supervisorAt(pidPath, sock string) string {
	if pid := supervisorPID(pidPath, sock); pid != 0 {
		return fmt.Sprintf("the supervisor (pid %d)", pid)
	}
	return "the supervisor"
}

// whyNoAnswer says what may keep a supervisor from answering: stopped by
// a signal (its state is T), or busy or stuck.
func whyNoAnswer(pidPath, sock string) string {
	pid := supervisorPID(pidPath, sock)
	if pid == 0 {
		return ""
	}
	if state, ok := processState(pid); ok && (state == 'T' || state == 't') {
		return fmt.Sprintf("; it is stopped (SIGSTOP, Ctrl-Z or a debugger): `kill -CONT %d` resumes it", pid)
	}
	return "; it may be overloaded or stuck (its log may say why)"
}

// processState is the state letter of pid in /proc (R, S, T, ...).
func processState(pid int) (byte, bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// The command name, in parentheses, may hold anything: the state is
	// the first field after its closing parenthesis.
	i := strings.LastIndexByte(string(data), ')')
	if i < 0 || i+2 >= len(data) {
		return 0, false
	}
	return data[i+2], true
}

func (c *cli) failWith(e *clientError) int { return c.fail(e.code, e.err) }

// parseClient parses the flags of a client subcommand; done is true when
// it has already answered (help, or a usage error) with code.
func (c *cli) parseClient(fs *pflag.FlagSet, usage string, args []string) (code int, done bool) {
	fs.SetOutput(io.Discard)
	help := fs.BoolP("help", "h", false, "show this help")
	if err := fs.Parse(args); err != nil {
		return c.fail(exitUsage, fmt.Errorf("%s: %w (usage: %s)", strings.TrimPrefix(fs.Name(), "slotrun "), clientFlagError(err), usage)), true
	}
	if *help {
		fmt.Fprintf(c.stdout, "Usage: %s\n\n%s", usage, fs.FlagUsages())
		return exitOK, true
	}
	return 0, false
}

// clientFlagError words pflag's complaint about a flag's value without the
// parser's own words ("strconv.ParseInt: parsing ...").
func clientFlagError(err error) error {
	var invalid *pflag.InvalidValueError
	if errors.As(err, &invalid) {
		want := "a whole number"
		switch invalid.GetFlag().Value.Type() {
		case "bool":
			want = "true or false"
		case "duration":
			want = "a duration such as 30s or 2m"
		}
		return fmt.Errorf("--%s: %q is not %s", invalid.GetFlag().Name, invalid.GetValue(), want)
	}
	return err
}

// interruptible is a context that Ctrl-C or TERM cancels, for the waits
// of scale, restart and stop.
func interruptible() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

func (c *cli) status(args []string) int {
	const usage = "slotrun status [--name NAME | --pidfile PATH | --control PATH] [--json | --check] [--timeout DURATION]"
	fs := pflag.NewFlagSet("slotrun status", pflag.ContinueOnError)
	w := addWhere(fs)
	asJSON := fs.Bool("json", false, "print the status object as JSON")
	check := fs.Bool("check", false, "print one line; exit 0 if enough workers are ready and no stop is under way, else 1 (a HEALTHCHECK)")
	timeout := fs.Duration("timeout", clientTimeout, "give up when the supervisor has not answered within `DURATION`")
	if code, done := c.parseClient(fs, usage, args); done {
		return code
	}
	if err := checkTimeout("status", fs, *timeout); err != nil {
		return c.fail(exitUsage, err)
	}
	if fs.NArg() > 0 {
		return c.fail(exitUsage, fmt.Errorf("status: unexpected argument %q (usage: %s)", fs.Arg(0), usage))
	}
	if *asJSON && *check {
		return c.fail(exitUsage, errors.New("status: --json and --check do not go together"))
	}
	client, pidPath, cerr := w.connect("status")
	if cerr != nil {
		return c.statusFailed(*check, cerr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	st, err := client.Status(ctx)
	if err != nil {
		return c.statusFailed(*check, remoteFailure("status", pidPath, err))
	}
	switch {
	case *asJSON:
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		enc.Encode(st)
	case *check:
		return c.checkLine(st)
	default:
		writeStatus(c.stdout, st, terminalWidth(c.stdout))
	}
	return exitOK
}

// clientTimeout bounds a request that needs no waiting (status, signal).
const clientTimeout = 10 * time.Second

// checkLine is `status --check`: one line, and 0 when healthy.
// statusFailed reports that no status could be had. With --check that is
// one line on stdout, as every other answer of --check, and exit 1.
func (c *cli) statusFailed(check bool, e *clientError) int {
	if check {
		fmt.Fprintf(c.stdout, "unhealthy: %v\n", e.err)
		return exitFailure
	}
	return c.failWith(e)
}

func (c *cli) checkLine(st *control.Status) int {
	line := fmt.Sprintf("%d/%d ready", st.Ready, st.Desired)
	switch {
	case st.Stopping:
		fmt.Fprintf(c.stdout, "unhealthy: stopping; %s\n", line)
	case st.Ready < st.MinReady:
		fmt.Fprintf(c.stdout, "unhealthy: %s, fewer than --min-ready %d\n", line, st.MinReady)
	default:
		fmt.Fprintf(c.stdout, "healthy: %s\n", line)
		return exitOK
	}
	return exitFailure
}

// isScaleCount reports whether a is N, +K or -K. A plain function, not a
// regexp: a package-level regexp is compiled at the start of every slotrun
// command, client or supervisor.
func isScaleCount(a string) bool {
	if a != "" && (a[0] == '+' || a[0] == '-') {
		a = a[1:]
	}
	return a != "" && strings.Trim(a, "0123456789") == ""
}

func (c *cli) scale(args []string) int {
	const usage = "slotrun scale [--name NAME | --pidfile PATH | --control PATH] [--no-wait] [--timeout DURATION] N | +K | -K"
	// -2 would read as a flag: take the count out first.
	var count string
	rest := make([]string, 0, len(args))
	for _, a := range args {
		if count == "" && isScaleCount(a) {
			count = a
			continue
		}
		rest = append(rest, a)
	}
	fs := pflag.NewFlagSet("slotrun scale", pflag.ContinueOnError)
	w := addWhere(fs)
	noWait := fs.Bool("no-wait", false, "return once the change has begun")
	timeout := addTakeTimeout(fs)
	if code, done := c.parseClient(fs, usage, rest); done {
		return code
	}
	if err := checkTimeout("scale", fs, *timeout); err != nil {
		return c.fail(exitUsage, err)
	}
	switch {
	case fs.NArg() > 0 && count != "" && isScaleCount(fs.Arg(0)):
		return c.fail(exitUsage, fmt.Errorf("scale: one count only, not %s and %s (usage: %s)", count, fs.Arg(0), usage))
	case fs.NArg() > 0:
		return c.fail(exitUsage, fmt.Errorf("scale: %q is not a number of workers (write N, +K or -K)", fs.Arg(0)))
	}
	if count == "" {
		return c.fail(exitUsage, fmt.Errorf("scale: how many workers? (usage: %s)", usage))
	}
	n, err := strconv.Atoi(count)
	if err != nil {
		return c.fail(exitUsage, fmt.Errorf("scale: %q is too large", count))
	}
	req := control.ScaleRequest{NoWait: *noWait}
	switch {
	case count[0] == '+' || count[0] == '-':
		req.Change = &n
	case n < 1:
		return c.fail(exitUsage, fmt.Errorf("scale: %d workers: one is the minimum (slotrun stop stops them all)", n))
	default:
		req.Workers = &n
	}
	client, pidPath, cerr := w.connect("scale")
	if cerr != nil {
		return c.failWith(cerr)
	}
	if err := awaitOutcome(client, *timeout, "/v1/scale", req, req.NoWait); err != nil {
		return c.failWith(remoteFailure("scale", pidPath, err))
	}
	return exitOK
}

func (c *cli) restart(args []string) int {
	const usage = "slotrun restart [--name NAME | --pidfile PATH | --control PATH] [--slot K] [--no-wait] [--timeout DURATION]"
	fs := pflag.NewFlagSet("slotrun restart", pflag.ContinueOnError)
	w := addWhere(fs)
	slot := fs.Int("slot", 0, "restart slot `K` only")
	if n := flagCount(args, "slot"); n > 1 {
		return c.fail(exitUsage, fmt.Errorf("restart: --slot is given %d times; name one slot, or none to restart every slot", n))
	}
	noWait := fs.Bool("no-wait", false, "return once the rolling restart has begun")
	timeout := addTakeTimeout(fs)
	if code, done := c.parseClient(fs, usage, args); done {
		return code
	}
	if err := checkTimeout("restart", fs, *timeout); err != nil {
		return c.fail(exitUsage, err)
	}
	if fs.NArg() > 0 {
		return c.fail(exitUsage, fmt.Errorf("restart: unexpected argument %q (usage: %s)", fs.Arg(0), usage))
	}
	req := control.RestartRequest{NoWait: *noWait}
	if fs.Changed("slot") {
		if *slot < 0 {
			return c.fail(exitUsage, fmt.Errorf("restart: --slot %d: slots count from 0", *slot))
		}
		req.Slot = slot
	}
	client, pidPath, cerr := w.connect("restart")
	if cerr != nil {
		return c.failWith(cerr)
	}
	if err := awaitOutcome(client, *timeout, "/v1/restart", req, req.NoWait); err != nil {
		return c.failWith(remoteFailure("restart", pidPath, err))
	}
	return exitOK
}

// addTakeTimeout adds --timeout to scale or restart: the bound on an
// unresponsive supervisor (docs/control.md, "Clients that get no answer").
func addTakeTimeout(fs *pflag.FlagSet) *time.Duration {
	return fs.Duration("timeout", clientTimeout, "give up when the supervisor has not taken the request within `DURATION` (with --no-wait: has not answered); the wait for the outcome itself is not bounded (Ctrl-C ends it)")
}

// awaitOutcome posts a request that may wait for its outcome. Connecting,
// and the supervisor's taking of the request, are bounded by timeout, as
// status is; with noWait that is the whole exchange. The wait for the
// outcome is long by design (a rolling restart of slow workers): Ctrl-C
// or TERM ends it, and what was asked goes on.
func awaitOutcome(client *control.Client, timeout time.Duration, path string, req any, noWait bool) error {
	ctx, cancel := interruptible()
	defer cancel()
	if noWait {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		return client.Do(ctx, "POST", path, req, nil)
	}
	return client.Await(ctx, timeout, "POST", path, req, nil)
}

// flagCount counts how often --name is given in args (before a "--").
func flagCount(args []string, name string) int {
	n := 0
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "--"+name || strings.HasPrefix(a, "--"+name+"=") {
			n++
		}
	}
	return n
}

// checkTimeout refuses a --timeout that leaves no time to wait.
func checkTimeout(cmd string, fs *pflag.FlagSet, d time.Duration) error {
	if fs.Changed("timeout") && d <= 0 {
		return fmt.Errorf("%s: --timeout %s: must be more than 0", cmd, d)
	}
	return nil
}

// signalSlot is `slotrun signal --slot K SIG`, through the control socket.
func (c *cli) signalSlot(w where, args []string, slot int, slotGiven bool) int {
	if len(args) != 1 {
		return c.fail(exitUsage, errors.New("signal: name one signal, as in `slotrun signal --slot 2 HUP`"))
	}
	sig, err := signame.Parse(args[0])
	if err != nil {
		return c.fail(exitUsage, fmt.Errorf("signal: %w", err))
	}
	if slotGiven && slot < 0 {
		return c.fail(exitUsage, fmt.Errorf("signal: --slot %d: slots count from 0", slot))
	}
	client, pidPath, cerr := w.connect("signal")
	if cerr != nil {
		return c.failWith(cerr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	if !slotGiven {
		// The supervisor named by its socket gets the signal and acts on
		// it, as through the PID file: TERM stops, TTIN scales up, HUP is
		// forwarded. Its pid comes from the live socket, so it is its own.
		st, err := client.Status(ctx)
		if err != nil {
			return c.failWith(remoteFailure("signal", pidPath, err))
		}
		if err := unix.Kill(st.PID, sig); err != nil {
			return c.fail(exitFailure, fmt.Errorf("signal: the supervisor (pid %d): %w", st.PID, err))
		}
		return exitOK
	}
	req := control.SignalRequest{Signal: signame.Name(sig), Slot: &slot}
	if err := client.Do(ctx, "POST", "/v1/signal", req, nil); err != nil {
		return c.failWith(remoteFailure("signal", pidPath, err))
	}
	return exitOK
}
