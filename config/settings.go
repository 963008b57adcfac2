// Package config turns slotrun's command line and HCL config file into one
// validated set of Settings.
//
// Every setting is declared once, in the settings table (table.go), which
// flag registration, --help, the file's decoding, the defaults and the
// example check all read. Precedence is applied in one place (Load): a flag
// the user typed wins over the file, the file wins over the defaults, key by
// key. `env` and `signals` merge per entry. Every error wraps ErrUsage (exit
// 2) or one of the command errors (126, 127) and names the flag, key or
// value at fault. docs/config.md explains the design.
package config

import (
	"errors"
	"fmt"
	"strings"

	"github.com/slotrun/slotrun/control"
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

// Settings is everything `slotrun run` needs, resolved and validated: the
// supervisor's Options, and the log settings the CLI itself reads. Holding
// Options rather than a copy of its fields means a setting the supervisor
// uses is declared once, in Options, and Load fills it directly.
//
// Load sets Options.Path (Args[0] resolved) and every setting; Stdout,
// Stderr and Logger are left to the caller. Env holds only the user's
// KEY=VALUE entries, in the order first written; Signals is the whole
// signal table, the supervisor's defaults with the user's entries merged in.
type Settings struct {
	supervisor.Options
	Log LogSettings
}

// LogSettings is the `log {}` block.
type LogSettings struct {
	Level  string // trace, debug, info, warn, error
	Format string // text, json
}

// Defaults returns the settings used where neither a flag nor the file says
// otherwise: each setting's default from the table, then the derived ones.
// config.example.hcl shows the same values; a test keeps them equal.
func Defaults() Settings {
	var s Settings
	settings := table(&s)
	for _, e := range settings {
		if e.kind.reset != nil {
			e.kind.reset()
		}
		if e.def == "" {
			continue
		}
		if err := e.kind.parse(e.def); err != nil {
			// The table is code, not input; every test that loads settings
			// runs this line.
			panic(fmt.Sprintf("config: the default of %s, %q, does not parse: %v", e.key, e.def, err))
		}
	}
	for _, e := range settings {
		if e.derive != nil {
			e.derive(&s)
		}
	}
	return s
}

// sources records where each setting the user gave was written, keyed by
// its config file key, in the words an error names it with: "--slots 2" or
// "slots = 2 (app.hcl:2:9)". A later entry (a flag) replaces an earlier one
// (the file), as the value does. A key without an entry has its default.
type sources map[string]string

// describe names the setting key, whose current value is value, for an
// error about how it combines with others.
func (from sources) describe(key string, value any) string {
	if where, ok := from[key]; ok {
		return where
	}
	return spellFlag(key, fmt.Sprint(value)) + " (the default)"
}

// resolve derives again the defaults that follow from other values, now
// that those are final, for each setting the user left unset; then it checks
// the rules that span several keys. from says where each value came from, so
// an error names the flags and file lines to change.
func (s *Settings) resolve(from sources) error {
	for _, e := range table(s) {
		if _, set := from[e.key]; e.derive != nil && !set {
			e.derive(s)
		}
	}
	switch {
	case s.Slots < s.Workers:
		return usageErrorf("%s is fewer than %s: every worker needs its own id",
			from.describe("slots", s.Slots), from.describe("workers", s.Workers))
	case s.BackoffMin > s.BackoffMax:
		return usageErrorf("%s must not exceed %s",
			from.describe("restart.backoff_min", s.BackoffMin),
			from.describe("restart.backoff_max", s.BackoffMax))
	case s.MaxRestarts > 0 && s.RestartWindow <= 0:
		return usageErrorf("%s needs a window to count restarts in, not %s",
			from.describe("restart.max_restarts", s.MaxRestarts),
			from.describe("restart.window", s.RestartWindow))
	case s.MinReady > s.Slots:
		return usageErrorf("%s is more than %s: /readyz and status --check could never succeed",
			from.describe("min_ready", s.MinReady), from.describe("slots", s.Slots))
	case s.Control != "" && len(s.Control) > control.MaxPathLen:
		// Derived from --pidfile or --name; a --control given is checked as it is read.
		return usageErrorf("the control socket path %q, made from %s, is %d bytes, more than a unix socket's %d: use a shorter --name or --pidfile, or set --control (none turns it off)",
			s.Control, from.describe("pidfile", s.PIDFile), len(s.Control), control.MaxPathLen)
	case s.Watchdog > 0 && s.Ready != supervisor.ReadyNotify:
		return usageErrorf("%s needs %s: only a worker that notifies can send WATCHDOG=1",
			from.describe("ready.watchdog", s.Watchdog), spellFlag("ready.mode", "notify"))
	case len(s.Args) == 0:
		return usageErrorf("no command to run: put it after --, as in `slotrun -n 4 -- ./worker`, or set command in the config file")
	case s.Args[0] == "":
		return usageErrorf("the command to run is an empty string")
	}
	return s.resolveOrdinal(from)
}

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

// setEnv sets key to value in env, a list of KEY=VALUE: an earlier entry
// of key is replaced where it stands, so a flag overrides the file's value
// and the order stays the one first written.
func setEnv(env []string, key, value string) []string {
	for i, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == key {
			env[i] = key + "=" + value
			return env
		}
	}
	return append(env, key+"="+value)
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
