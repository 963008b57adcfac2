package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"syscall"

	"github.com/hashicorp/go-hclog"
	"github.com/spf13/pflag"

	"github.com/slotrun/slotrun/config"
	"github.com/slotrun/slotrun/internal/logwriter"
	"github.com/slotrun/slotrun/internal/prestart"
	"github.com/slotrun/slotrun/internal/signame"
	"github.com/slotrun/slotrun/pidfile"
	"github.com/slotrun/slotrun/supervisor"
)

// Exit codes of slotrun itself (README.md, "Exit codes"; docs/architecture.md, "Start and exit").
const (
	exitOK            = 0
	exitFailure       = 1
	exitUsage         = 2
	exitNotExecutable = 126
	exitNotFound      = 127
)

// version is set at build time with -ldflags "-X main.version=…"; otherwise
// the module version from the build info is used.
var version = ""

type cli struct {
	stdout, stderr io.Writer
}

func newCLI(stdout, stderr io.Writer) *cli { return &cli{stdout: stdout, stderr: stderr} }

// run dispatches a subcommand and returns the exit code.
func (c *cli) run(args []string) int {
	if len(args) > 0 {
		if command, ok := c.commands()[args[0]]; ok {
			return command(args[1:])
		}
		if args[0] == "run" {
			return c.runSupervisor(args[1:])
		}
	}
	return c.runSupervisor(args)
}

// commands are the subcommands that are not a supervisor: what
// prestart.ClientCommands names (a test keeps the two the same).
func (c *cli) commands() map[string]func(args []string) int {
	version := func([]string) int {
		fmt.Fprintln(c.stdout, "slotrun", buildVersion())
		return exitOK
	}
	return map[string]func([]string) int{
		"signal":  c.signal,
		"status":  c.status,
		"scale":   c.scale,
		"restart": c.restart,
		"stop":    c.stop,
		// Not a worker called help (that is `slotrun -- help`).
		"help": func([]string) int {
			config.Usage(c.stdout)
			return exitOK
		},
		"version":   version,
		"--version": version,
	}
}

func (c *cli) runSupervisor(args []string) int {
	// The default signals are being caught since the packages were
	// initialised, off the start's critical path; Run catches what the
	// settings add.
	caught := prestart.TakeSignals()
	settings, err := config.Load(args, c.stdout)
	switch {
	case errors.Is(err, config.ErrHelp):
		return exitOK
	case errors.Is(err, config.ErrCommandNotFound):
		return c.fail(exitNotFound, err)
	case errors.Is(err, config.ErrCommandNotExecutable):
		return c.fail(exitNotExecutable, err)
	case err != nil:
		return c.fail(exitUsage, err)
	}
	logger, logs := c.newLogger(settings)
	settings.Logger, settings.LogHold = logger, logs
	settings.Caught = caught
	settings.Version = buildVersion()
	code, err := supervisor.Run(settings.Options)
	if err != nil {
		// Behind the log lines it follows, and bounded like them.
		fmt.Fprintf(logs, "slotrun: %v\n", err)
	}
	// What is still buffered gets as long as the workers did to stop: a
	// reader that never reads must not keep slotrun from exiting.
	logs.Close(settings.StopTimeout)
	return code
}

// newLogger makes the supervisor's logger. Its lines reach stderr through
// a bounded buffer, so that a stderr nobody reads (a full pipe, a stopped
// terminal) never holds up the supervisor; when the buffer is full, lines
// are dropped and, once stderr moves again, counted in one line.
func (c *cli) newLogger(settings *config.Settings) (hclog.Logger, *logwriter.Writer) {
	// A write to a stderr whose reader is gone (`slotrun … 2>&1 | head`)
	// fails rather than kill slotrun: the supervisor keeps SIGPIPE caught
	// until the process exits (supervisor.Run).
	opts := hclog.LoggerOptions{
		Name:       settings.Name,
		Level:      hclog.LevelFromString(settings.Log.Level),
		JSONFormat: settings.Log.Format == "json",
	}
	logs := logwriter.New(c.stderr, logwriter.DefaultLimit, dropReport(opts))
	opts.Output = logs
	return hclog.New(&opts), logs
}

// dropReport formats the `N log lines dropped` line as the supervisor's
// logger would (format, name, level filter), with a logger of its own: the
// log buffer asks for it while the supervisor's logger may be writing.
func dropReport(opts hclog.LoggerOptions) func(int) []byte {
	var buf bytes.Buffer
	opts.Output = &buf
	logger := hclog.New(&opts)
	return func(n int) []byte {
		buf.Reset()
		logger.Warn(fmt.Sprintf("%d log lines dropped", n))
		return bytes.Clone(buf.Bytes())
	}
}

// signal implements `slotrun signal [WHERE] [--slot K] SIGNAL`: through
// the PID file to the supervisor, which acts on it, or with --slot through
// the control socket to one slot's worker.
func (c *cli) signal(args []string) int {
	const usage = "slotrun signal [--name NAME | --pidfile PATH | --control PATH] [--slot K] SIGNAL"
	fs := pflag.NewFlagSet("slotrun signal", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	name := fs.String("name", "slotrun", "instance `NAME`")
	path := fs.String("pidfile", "", "supervisor PID file `PATH` (default .pid/NAME.pid)")
	ctl := fs.String("control", "", "control socket `PATH`, with --slot (default: the PID file's, with .sock)")
	slot := fs.Int("slot", 0, "send the signal to slot `K`'s worker only, through the control socket")
	help := fs.BoolP("help", "h", false, "show this help")
	if err := fs.Parse(args); err != nil {
		return c.fail(exitUsage, fmt.Errorf("signal: %w (usage: %s)", clientFlagError(err), usage))
	}
	if *help {
		fmt.Fprintf(c.stdout, "Usage: %s\n\nWithout --slot the signal goes to slotrun, which acts on it as its signal table says\n(HUP, QUIT, USR1, USR2, WINCH: forwarded to every worker; TERM: stop; ...).\n\n%s", usage, fs.FlagUsages())
		return exitOK
	}
	if fs.Changed("slot") || fs.Changed("control") {
		w := where{name: *name, pidfile: *path, control: *ctl, fs: fs}
		return c.signalSlot(w, fs.Args(), *slot, fs.Changed("slot"))
	}
	if fs.NArg() != 1 {
		return c.fail(exitUsage, errors.New("signal: name one signal, as in `slotrun signal HUP`"))
	}
	sig, err := signame.Parse(fs.Arg(0))
	if err != nil {
		return c.fail(exitUsage, fmt.Errorf("signal: %w", err))
	}
	if sig == syscall.SIGKILL || sig == syscall.SIGSTOP {
		// Without --slot the signal goes to slotrun itself, which cannot
		// catch these two: KILL would take every worker with it and leave
		// its files behind, STOP would freeze it.
		return c.fail(exitUsage, fmt.Errorf("signal: %s would reach slotrun itself, which cannot act on it; to send it to one worker, use `slotrun signal --slot K %s`; to stop everything, `slotrun stop`",
			signame.Name(sig), signame.Name(sig)))
	}
	pidPath, err := config.PIDFile(*name, *path, fs.Changed("pidfile"))
	if err != nil {
		return c.fail(exitUsage, fmt.Errorf("signal: %w", err))
	}
	if err := pidfile.Signal(pidPath, sig); err != nil {
		if errors.Is(err, pidfile.ErrNotRunning) {
			return c.fail(exitFailure, fmt.Errorf("not running (no live supervisor holds %s)", pidPath))
		}
		return c.fail(exitFailure, err)
	}
	return exitOK
}

func (c *cli) fail(code int, err error) int {
	fmt.Fprintf(c.stderr, "slotrun: %v\n", err)
	return code
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		return info.Main.Version
	}
	return "(devel)"
}
