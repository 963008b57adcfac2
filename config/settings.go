// Package config turns slotrun's command line and HCL config file into one
// validated set of Settings.
//
// Precedence is applied in one place (Load): a flag the user typed wins over
// the file, the file wins over the defaults, key by key. `env` and `signals`
// merge per entry. Every error wraps ErrUsage (exit 2) or one of the command
// errors (126, 127) and names the flag, key or value at fault.
package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/slotrun/slotrun/supervisor"
)

var (
	// ErrUsage marks a bad flag, value or config file: nothing was started.
	ErrUsage = errors.New("usage error")
	// ErrHelp is returned when the user asked for --help; the usage was printed.
	ErrHelp = errors.New("help requested")
	// ErrCommandNotFound: the worker command does not exist (exit 127).
	ErrCommandNotFound = errors.New("command not found")
	// ErrCommandNotExecutable: the worker command exists but cannot be run (exit 126).
	ErrCommandNotExecutable = errors.New("command not executable")
)

// Settings is everything `slotrun run` needs, resolved and validated.
type Settings struct {
	Name      string
	Command   []string // the worker's argv as typed
	Path      string   // Command[0] resolved to an executable (set by Load)
	Workers   int
	Slots     int    // 0 until resolved: the number of workers
	PIDFile   string // "" until resolved: .pid/NAME.pid
	SlotsFile string // "" until resolved: .pid/NAME.slots
	Prefix    bool
	Env       map[string]string
	Restart   RestartSettings
	Stop      StopSettings
	Signals   map[syscall.Signal]supervisor.Action // user overrides only
	Log       LogSettings
}

// RestartSettings is the `restart {}` block.
type RestartSettings struct {
	Policy      supervisor.Policy
	MinUptime   time.Duration
	BackoffMin  time.Duration
	BackoffMax  time.Duration
	MaxRestarts int
	Window      time.Duration
}

// StopSettings is the `stop {}` block.
type StopSettings struct {
	Signal  syscall.Signal
	Timeout time.Duration
}

// LogSettings is the `log {}` block.
type LogSettings struct {
	Level  string // trace, debug, info, warn, error
	Format string // text, json
}

// Defaults returns the settings used where neither a flag nor the file says
// otherwise. config.example.hcl shows the same values; a test keeps them equal.
func Defaults() Settings {
	return Settings{
		Name:    "slotrun",
		Workers: runtime.GOMAXPROCS(0),
		Env:     map[string]string{},
		Restart: RestartSettings{
			Policy:     supervisor.RestartAlways,
			MinUptime:  time.Second,
			BackoffMin: 100 * time.Millisecond,
			BackoffMax: 30 * time.Second,
			Window:     60 * time.Second,
		},
		Stop:    StopSettings{Signal: syscall.SIGTERM, Timeout: 10 * time.Second},
		Signals: map[syscall.Signal]supervisor.Action{},
		Log:     LogSettings{Level: "info", Format: "text"},
	}
}

// sources records where each setting the user gave was written, keyed by
// its config file key, in the words an error names it with: "--slots 2" or
// "slots = 2 (app.hcl:2:9)". A later entry (a flag) replaces an earlier one
// (the file), as the value does. A key without an entry has its default.
type sources map[string]string

// describe names the setting key, whose flag is --flag and current value is
// value, for an error about how it combines with others.
func (from sources) describe(key, flag string, value any) string {
	if where, ok := from[key]; ok {
		return where
	}
	return fmt.Sprintf("--%s %v (the default)", flag, value)
}

// resolve fills the values that default to other values, then checks the
// rules that span several keys. from says where each value came from, so an
// error names the flags and file lines to change.
func (s *Settings) resolve(from sources) error {
	if s.Slots == 0 {
		s.Slots = s.Workers
	}
	if s.PIDFile == "" {
		s.PIDFile = defaultPIDFile(s.Name)
	}
	if s.SlotsFile == "" {
		s.SlotsFile = filepath.Join(".pid", s.Name+".slots")
	}
	r := &s.Restart
	switch {
	case s.Slots < s.Workers:
		return usageErrorf("%s is fewer than %s: every worker needs its own id",
			from.describe("slots", "slots", s.Slots), from.describe("workers", "workers", s.Workers))
	case r.BackoffMin > r.BackoffMax:
		return usageErrorf("%s must not exceed %s",
			from.describe("restart.backoff_min", "backoff-min", r.BackoffMin),
			from.describe("restart.backoff_max", "backoff-max", r.BackoffMax))
	case r.MaxRestarts > 0 && r.Window <= 0:
		return usageErrorf("%s needs a window to count restarts in, not %s",
			from.describe("restart.max_restarts", "max-restarts", r.MaxRestarts),
			from.describe("restart.window", "restart-window", r.Window))
	case len(s.Command) == 0:
		return usageErrorf("no command to run: put it after --, as in `slotrun -n 4 -- ./worker`, or set command in the config file")
	case s.Command[0] == "":
		return usageErrorf("the command to run is an empty string")
	}
	return nil
}

func defaultPIDFile(name string) string { return filepath.Join(".pid", name+".pid") }

// PIDFile returns the PID file that `slotrun signal` and `status` read: path
// if given, else the default of the instance called name, as `run` would
// have chosen it.
func PIDFile(name, path string, pathGiven bool) (string, error) {
	if pathGiven {
		if _, err := parsePath(path); err != nil {
			return "", usageErrorf("--pidfile: %w", err)
		}
		return path, nil
	}
	if _, err := checkName(name); err != nil {
		return "", usageErrorf("--name: %w", err)
	}
	return defaultPIDFile(name), nil
}

// Options converts the settings into what the supervisor runs with.
func (s *Settings) Options(logger hclog.Logger) supervisor.Options {
	env := make([]string, 0, len(s.Env))
	for k, v := range s.Env {
		env = append(env, k+"="+v)
	}
	slices.Sort(env)
	signals := supervisor.DefaultActions()
	for sig, act := range s.Signals {
		signals[sig] = act
	}
	return supervisor.Options{
		Name:          s.Name,
		Path:          s.Path,
		Args:          s.Command,
		Env:           env,
		Workers:       s.Workers,
		Slots:         s.Slots,
		PIDFile:       s.PIDFile,
		SlotsFile:     s.SlotsFile,
		Restart:       s.Restart.Policy,
		MinUptime:     s.Restart.MinUptime,
		BackoffMin:    s.Restart.BackoffMin,
		BackoffMax:    s.Restart.BackoffMax,
		MaxRestarts:   s.Restart.MaxRestarts,
		RestartWindow: s.Restart.Window,
		StopSignal:    s.Stop.Signal,
		StopTimeout:   s.Stop.Timeout,
		Signals:       signals,
		Prefix:        s.Prefix,
		Logger:        logger,
	}
}

// usageError is a mistake in what the user typed or wrote in the file. Its
// message is the whole line the user sees after "slotrun: ".
type usageError struct{ err error }

func (e *usageError) Error() string        { return e.err.Error() }
func (e *usageError) Unwrap() error        { return e.err }
func (e *usageError) Is(target error) bool { return target == ErrUsage }

func usageErrorf(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}
