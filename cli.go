package main

import (
	"errors"
	"fmt"
	"io"
	"runtime/debug"

	"github.com/hashicorp/go-hclog"
	"github.com/spf13/pflag"

	"github.com/slotrun/slotrun/config"
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
		switch args[0] {
		case "run":
			return c.runSupervisor(args[1:])
		case "signal":
			return c.signal(args[1:])
		case "status":
			return c.fail(exitUsage, errors.New("status is not available in this version (it comes with the control socket)"))
		case "version", "--version":
			fmt.Fprintln(c.stdout, "slotrun", buildVersion())
			return exitOK
		}
	}
	return c.runSupervisor(args)
}

func (c *cli) runSupervisor(args []string) int {
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
	logger := hclog.New(&hclog.LoggerOptions{
		Name:       settings.Name,
		Level:      hclog.LevelFromString(settings.Log.Level),
		JSONFormat: settings.Log.Format == "json",
		Output:     c.stderr,
	})
	settings.Logger = logger
	code, err := supervisor.Run(settings.Options)
	if err != nil {
		return c.fail(code, err)
	}
	return code
}

// signal implements `slotrun signal [--name N | --pidfile P] SIGNAL`.
func (c *cli) signal(args []string) int {
	fs := pflag.NewFlagSet("slotrun signal", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	name := fs.String("name", "slotrun", "instance `NAME`")
	path := fs.String("pidfile", "", "supervisor PID file `PATH` (default .pid/NAME.pid)")
	help := fs.BoolP("help", "h", false, "show this help")
	if err := fs.Parse(args); err != nil {
		return c.fail(exitUsage, fmt.Errorf("signal: %w (usage: slotrun signal [--name NAME | --pidfile PATH] SIGNAL)", err))
	}
	if *help {
		fmt.Fprintf(c.stdout, "Usage: slotrun signal [--name NAME | --pidfile PATH] SIGNAL\n\n%s", fs.FlagUsages())
		return exitOK
	}
	if fs.NArg() != 1 {
		return c.fail(exitUsage, errors.New("signal: name one signal, as in `slotrun signal HUP`"))
	}
	sig, err := signame.Parse(fs.Arg(0))
	if err != nil {
		return c.fail(exitUsage, fmt.Errorf("signal: %w", err))
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
