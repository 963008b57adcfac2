package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/slotrun/slotrun/internal/signame"
	"github.com/slotrun/slotrun/supervisor"
)

// runFlags holds the raw text of every `run` flag. Values are parsed after
// pflag is done, by the same parsers the config file uses, so that errors
// read `--workers: "abc" is not a number` rather than pflag's own wording.
type runFlags struct {
	fs         *pflag.FlagSet
	config     string
	name       string
	workers    string
	slots      string
	pidfile    string
	slotsFile  string
	restart    string
	minUptime  string
	backoffMin string
	backoffMax string
	maxRestart string
	window     string
	stopSignal string
	stopTime   string
	signals    []string
	prefix     bool
	env        []string
	logLevel   string
	logFormat  string
}

func newRunFlags() *runFlags {
	f := &runFlags{fs: pflag.NewFlagSet("slotrun", pflag.ContinueOnError)}
	fs := f.fs
	// Everything after the first non-flag argument belongs to the worker.
	fs.SetInterspersed(false)
	fs.SortFlags = false
	fs.SetOutput(io.Discard)
	// pflag prints the word in backquotes as the flag's value and keeps it in
	// the sentence, so each line reads as "--flag VALUE  what it does".
	fs.StringVarP(&f.workers, "workers", "n", "", "run `N` workers (default: one per usable CPU)")
	fs.StringVarP(&f.config, "config", "c", "", "read settings from the HCL config `FILE`")
	fs.StringVar(&f.name, "name", "", "call this instance `NAME`, in log lines and default file names (default slotrun)")
	fs.StringVar(&f.pidfile, "pidfile", "", "write the supervisor's PID file at `PATH` (default .pid/NAME.pid)")
	fs.StringVar(&f.slotsFile, "slots-file", "", "keep the slot table at `PATH`; share it to share ids (default .pid/NAME.slots)")
	fs.StringVar(&f.slots, "slots", "", "hand out ids 0 to `M`-1, M >= N; COMET_PROCESS_COUNT=M (default N)")
	fs.StringVar(&f.restart, "restart", "", "restart workers per `POLICY`: always, on-failure or never (default always)")
	fs.StringVar(&f.minUptime, "min-uptime", "", "restart at once a worker that ran `DURATION` or longer (default 1s)")
	fs.StringVar(&f.backoffMin, "backoff-min", "", "wait `DURATION` after a quick failure, doubling each time (default 100ms)")
	fs.StringVar(&f.backoffMax, "backoff-max", "", "wait at most `DURATION` before a restart (default 30s)")
	fs.StringVar(&f.maxRestart, "max-restarts", "", "give up after `K` restarts of a slot within the window; 0: never (default 0)")
	fs.StringVar(&f.window, "restart-window", "", "count max-restarts within `DURATION` (default 60s)")
	fs.StringVar(&f.stopSignal, "stop-signal", "", "stop each worker with `SIGNAL` (default TERM)")
	fs.StringVar(&f.stopTime, "stop-timeout", "", "SIGKILL what is left `DURATION` after the stop signal (default 10s)")
	fs.StringArrayVar(&f.signals, "signal", nil, "set `SIG=ACTION`, what slotrun does on SIG: forward, forward:SIG2, stop, restart, scale-up, scale-down or ignore; repeatable")
	fs.BoolVar(&f.prefix, "prefix", false, "prefix each line of worker output with [NAME:SLOT]")
	fs.StringArrayVar(&f.env, "env", nil, "set `KEY=VALUE` in every worker's environment; repeatable")
	fs.StringVar(&f.logLevel, "log-level", "", "log at `LEVEL` or above: trace, debug, info, warn or error (default info)")
	fs.StringVar(&f.logFormat, "log-format", "", "write logs in `FORMAT`: text or json (default text)")
	fs.BoolP("help", "h", false, "show this help")
	return f
}

// Usage writes the help of `slotrun run`.
func Usage(w io.Writer) {
	fmt.Fprint(w, `slotrun supervises N copies of a worker, each with its own COMET_PROCESS_ID.

Usage:
  slotrun [run] [FLAGS] -- COMMAND [ARG...]
  slotrun signal [--name NAME | --pidfile PATH] SIGNAL
  slotrun version

Flags of run:
`)
	fmt.Fprint(w, newRunFlags().fs.FlagUsages())
}

// Load parses the arguments of `slotrun run` (without "run"), reads the
// config file if one is named, and returns validated settings with the
// command resolved. With --help it prints the usage to stdout and returns
// ErrHelp.
func Load(args []string, stdout io.Writer) (*Settings, error) {
	f := newRunFlags()
	if err := f.fs.Parse(args); err != nil {
		return nil, flagError(err)
	}
	if help, _ := f.fs.GetBool("help"); help {
		Usage(stdout)
		return nil, ErrHelp
	}
	s := Defaults()
	from := sources{}
	if f.fs.Lookup("config").Changed && f.config == "" {
		return nil, usageErrorf("--config needs a file name")
	}
	if f.config != "" {
		if err := loadFile(f.config, &s, from); err != nil {
			return nil, err
		}
	}
	if err := f.apply(&s, from); err != nil {
		return nil, err
	}
	if cmd := f.fs.Args(); len(cmd) > 0 {
		s.Args = cmd
	}
	if err := s.resolve(from); err != nil {
		return nil, err
	}
	path, err := resolveCommand(s.Args[0])
	if err != nil {
		return nil, err
	}
	s.Path = path
	return &s, nil
}

// apply overlays the flags the user typed onto s, and records in from each
// one it set, under the file's key for the same setting.
func (f *runFlags) apply(s *Settings, from sources) error {
	count := func(dst *int) func(string) error {
		return func(v string) (err error) { *dst, err = parseCount(v); return err }
	}
	duration := func(dst *time.Duration) func(string) error {
		return func(v string) (err error) { *dst, err = parseDuration(v); return err }
	}
	steps := []struct {
		name, key string // the flag, and the config file's key
		parse     func(string) error
	}{
		{"name", "name", func(v string) (err error) { s.Name, err = checkName(v); return err }},
		{"workers", "workers", count(&s.Workers)},
		{"slots", "slots", count(&s.Slots)},
		{"pidfile", "pidfile", func(v string) (err error) { s.PIDFile, err = parsePath(v); return err }},
		{"slots-file", "slots_file", func(v string) (err error) { s.SlotsFile, err = parsePath(v); return err }},
		{"restart", "restart.policy", func(v string) (err error) { s.Restart, err = supervisor.ParsePolicy(v); return err }},
		{"min-uptime", "restart.min_uptime", duration(&s.MinUptime)},
		{"backoff-min", "restart.backoff_min", duration(&s.BackoffMin)},
		{"backoff-max", "restart.backoff_max", duration(&s.BackoffMax)},
		{"max-restarts", "restart.max_restarts", func(v string) (err error) { s.MaxRestarts, err = parseLimit(v); return err }},
		{"restart-window", "restart.window", duration(&s.RestartWindow)},
		{"stop-signal", "stop.signal", func(v string) (err error) { s.StopSignal, err = signame.Parse(v); return err }},
		{"stop-timeout", "stop.timeout", func(v string) (err error) {
			if s.StopTimeout, err = parseDuration(v); err != nil {
				return err
			}
			return checkStopTimeout(s.StopTimeout, "--stop-signal KILL")
		}},
		{"log-level", "log.level", func(v string) (err error) { s.Log.Level, err = parseLogLevel(v); return err }},
		{"log-format", "log.format", func(v string) (err error) { s.Log.Format, err = parseLogFormat(v); return err }},
	}
	for _, st := range steps {
		fl := f.fs.Lookup(st.name)
		if !fl.Changed {
			continue
		}
		v := fl.Value.String()
		if err := st.parse(v); err != nil {
			return usageErrorf("--%s: %w", st.name, err)
		}
		from[st.key] = "--" + st.name + " " + v
	}
	if f.fs.Lookup("prefix").Changed {
		s.Prefix = f.prefix
	}
	for _, kv := range f.env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return usageErrorf("--env: %q has no = (write KEY=VALUE)", kv)
		}
		if err := checkEnvKey(k); err != nil {
			return usageErrorf("--env: %w", err)
		}
		s.Env = setEnv(s.Env, k, v)
	}
	for _, entry := range f.signals {
		name, action, ok := strings.Cut(entry, "=")
		if !ok {
			return usageErrorf("--signal: %q has no = (write SIG=ACTION, as in HUP=restart)", entry)
		}
		sig, act, err := parseSignalAction(name, action)
		if err != nil {
			return usageErrorf("--signal %s: %w", entry, err)
		}
		s.Signals[sig] = act
	}
	return nil
}

// flagError rewrites pflag's errors into one line that names the flag as
// the user typed it.
func flagError(err error) error {
	var notExist *pflag.NotExistError
	var needsValue *pflag.ValueRequiredError
	var invalid *pflag.InvalidValueError
	switch {
	case errors.As(err, &notExist):
		name := "--" + notExist.GetSpecifiedName()
		if group := notExist.GetSpecifiedShortnames(); group != "" {
			name = "-" + notExist.GetSpecifiedName()
			if len(group) > 1 {
				name += " (in -" + group + ")"
			}
		}
		return usageErrorf("unknown flag %s (run slotrun --help; a worker's own flags go after --)", name)
	case errors.As(err, &needsValue):
		name := "--" + needsValue.GetFlag().Name
		if needsValue.GetSpecifiedShortnames() != "" {
			name = "-" + needsValue.GetFlag().Shorthand
		}
		return usageErrorf("%s needs a value (run slotrun --help)", name)
	case errors.As(err, &invalid):
		// Only the bool flags are parsed by pflag itself.
		return usageErrorf("--%s: %q is not true or false", invalid.GetFlag().Name, invalid.GetValue())
	}
	return usageErrorf("%w (run slotrun --help)", err)
}

// resolveCommand finds the worker's executable the way a shell would, so a
// missing or unrunnable command is reported before anything starts (127 and
// 126, as a shell and tini report them) instead of as a restart loop.
func resolveCommand(name string) (string, error) {
	path, err := exec.LookPath(name)
	if err == nil {
		return path, nil
	}
	if errors.Is(err, exec.ErrDot) {
		return "", fmt.Errorf("%s: %w in PATH, only in the current directory (write ./%s)", name, ErrCommandNotFound, name)
	}
	if !strings.Contains(name, "/") {
		// Only a path with a slash runs a file from this directory; say so
		// when that is what the user most likely meant.
		if fi, err := os.Stat(name); err == nil && !fi.IsDir() {
			return "", fmt.Errorf("%s: %w in PATH (to run ./%s in this directory, write ./%s)", name, ErrCommandNotFound, name, name)
		}
		return "", fmt.Errorf("%s: %w in PATH", name, ErrCommandNotFound)
	}
	fi, statErr := os.Stat(name)
	switch {
	case errors.Is(statErr, os.ErrNotExist):
		return "", fmt.Errorf("%s: %w: no such file", name, ErrCommandNotFound)
	case statErr != nil:
		return "", fmt.Errorf("%s: %w: %s", name, ErrCommandNotExecutable, fileProblem(statErr))
	case fi.IsDir():
		return "", fmt.Errorf("%s: %w: it is a directory", name, ErrCommandNotExecutable)
	}
	return "", fmt.Errorf("%s: %w: permission denied (chmod +x %s?)", name, ErrCommandNotExecutable, name)
}
