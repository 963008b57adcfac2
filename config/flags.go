package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/spf13/pflag"
)

// newFlagSet registers the flags of `slotrun run` from the settings table.
// Every flag but the switches takes text: values are parsed after pflag is
// done, by the same parsers the config file uses, so that errors read
// `--workers: "abc" is not a number` rather than pflag's own wording.
func newFlagSet() *pflag.FlagSet {
	fs := pflag.NewFlagSet("slotrun", pflag.ContinueOnError)
	// Everything after the first non-flag argument belongs to the worker.
	fs.SetInterspersed(false)
	fs.SortFlags = false
	fs.SetOutput(io.Discard)
	for _, e := range table(new(Settings)) {
		switch {
		case e.flag == "":
		case e.kind.flag == flagSwitch:
			fs.BoolP(e.flag, e.short, false, e.usage())
		case e.kind.flag == flagRepeated:
			fs.StringArrayP(e.flag, e.short, nil, e.usage())
		default:
			fs.StringP(e.flag, e.short, "", e.usage())
		}
	}
	return fs
}

// Usage writes the help of `slotrun run`.
func Usage(w io.Writer) {
	fmt.Fprint(w, `slotrun supervises N copies of a worker, each with its own COMET_PROCESS_ID.

Usage:
  slotrun [run] [FLAGS] -- COMMAND [ARG...]
  slotrun signal  [WHERE] [--slot K] SIGNAL
  slotrun status  [WHERE] [--json | --check]
  slotrun scale   [WHERE] [--no-wait] N | +K | -K
  slotrun restart [WHERE] [--slot K] [--no-wait]
  slotrun stop    [WHERE] [--no-wait]
  slotrun version

  WHERE is --name NAME, --pidfile PATH or --control PATH (default: name slotrun).

Flags of run:
`)
	fmt.Fprint(w, newFlagSet().FlagUsages())
}

// Load parses the arguments of `slotrun run` (without "run"), reads the
// config file if one is named, and returns validated settings with the
// command resolved. With --help it prints the usage to stdout and returns
// ErrHelp.
func Load(args []string, stdout io.Writer) (*Settings, error) {
	fs := newFlagSet()
	if err := fs.Parse(args); err != nil {
		return nil, flagError(err)
	}
	if help, _ := fs.GetBool("help"); help {
		Usage(stdout)
		return nil, ErrHelp
	}
	s := Defaults()
	from := sources{}
	if config := fs.Lookup("config"); config.Changed {
		path := config.Value.String()
		if path == "" {
			return nil, usageErrorf("--config needs a file name")
		}
		if err := loadFile(path, &s, from); err != nil {
			return nil, err
		}
	}
	if err := apply(fs, &s, from); err != nil {
		return nil, err
	}
	if cmd := fs.Args(); len(cmd) > 0 {
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
// one it set, under the setting's config key. A repeatable flag's entries
// are merged one by one.
func apply(fs *pflag.FlagSet, s *Settings, from sources) error {
	for _, e := range table(s) {
		if e.key == "" || e.flag == "" {
			continue
		}
		fl := fs.Lookup(e.flag)
		if !fl.Changed {
			continue
		}
		if e.kind.flag == flagRepeated {
			for _, entry := range fl.Value.(pflag.SliceValue).GetSlice() {
				if err := e.kind.parse(entry); err != nil {
					return flagValueError(e.flag, err)
				}
			}
			continue
		}
		v := fl.Value.String()
		if err := e.kind.parse(v); err != nil {
			return flagValueError(e.flag, err)
		}
		from[e.key] = "--" + e.flag + " " + v
	}
	return nil
}

// flagValueError names the flag whose value err refuses, and the entry
// too where the kind asks for it.
func flagValueError(flag string, err error) error {
	var entry *entryError
	if errors.As(err, &entry) {
		return usageErrorf("--%s %s: %w", flag, entry.entry, entry.err)
	}
	return usageErrorf("--%s: %w", flag, err)
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
