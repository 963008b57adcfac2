package config_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slotrun/slotrun/config"
	"github.com/slotrun/slotrun/supervisor"
)

// worker is an executable every test can name as the command: the test
// binary itself. Load only resolves it; nothing is run.
func worker(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

// inTempDir moves the test into a fresh directory, so config files can be
// named "app.hcl" and messages can be compared as users see them.
func inTempDir(t *testing.T) {
	t.Helper()
	t.Chdir(t.TempDir())
}

func writeFile(t *testing.T, name, text string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// field returns the field of s named by a dotted path such as "Log.Level".
func field(s *config.Settings, path string) any {
	v := reflect.ValueOf(s).Elem()
	for name := range strings.SplitSeq(path, ".") {
		v = v.FieldByName(name)
	}
	return v.Interface()
}

// TestPrecedence checks flag > file > default, key by key, with env and
// signals merged per entry and the command line's command replacing the
// file's.
func TestPrecedence(t *testing.T) {
	exe := worker(t)
	const fileAll = `
name    = "api"
workers = 3
slots   = 6
prefix  = true
env     = { A = "file", B = "file" }
restart {
  policy     = "never"
  min_uptime = "2s"
}
stop {
  signal  = "INT"
  timeout = "3s"
}
signals {
  HUP  = "restart"
  USR1 = "ignore"
}
log {
  level = "debug"
}
`
	tests := []struct {
		name string
		file string   // written to app.hcl and passed with -c when not empty
		args []string // flags; "EXE" stands for the worker
		want map[string]any
	}{{
		name: "defaults only",
		args: []string{"--", "EXE"},
		want: map[string]any{
			"Name":        "slotrun",
			"Workers":     runtime.GOMAXPROCS(0),
			"Slots":       runtime.GOMAXPROCS(0),
			"PIDFile":     ".pid/slotrun.pid",
			"SlotsFile":   ".pid/slotrun.slots",
			"Prefix":      false,
			"Env":         []string(nil),
			"Restart":     supervisor.RestartAlways,
			"MinUptime":   time.Second,
			"StopSignal":  syscall.SIGTERM,
			"StopTimeout": 10 * time.Second,
			"Signals":     signalsWith(nil),
			"Log.Level":   "info",
			"Args":        []string{"EXE"},
		},
	}, {
		name: "file only",
		file: fileAll,
		args: []string{"--", "EXE"},
		want: map[string]any{
			"Name":          "api",
			"Workers":       3,
			"Slots":         6,
			"PIDFile":       ".pid/api.pid",
			"SlotsFile":     ".pid/api.slots",
			"Prefix":        true,
			"Env":           []string{"A=file", "B=file"},
			"Restart":       supervisor.RestartNever,
			"MinUptime":     2 * time.Second,
			"RestartWindow": 60 * time.Second, // not in the file: default
			"StopSignal":    syscall.SIGINT,
			"StopTimeout":   3 * time.Second,
			"Signals": signalsWith(map[syscall.Signal]supervisor.Action{
				syscall.SIGHUP:  {Kind: supervisor.ActRestart},
				syscall.SIGUSR1: {Kind: supervisor.ActIgnore},
			}),
			"Log.Level":  "debug",
			"Log.Format": "text", // not in the file: default
		},
	}, {
		name: "flags only",
		args: []string{"--name", "web", "-n", "5", "--prefix", "--restart", "on-failure", "--stop-timeout", "4s",
			"--env", "A=flag", "--signal", "HUP=stop", "--log-format", "json", "--", "EXE"},
		want: map[string]any{
			"Name":        "web",
			"Workers":     5,
			"Slots":       5,
			"PIDFile":     ".pid/web.pid",
			"Prefix":      true,
			"Env":         []string{"A=flag"},
			"Restart":     supervisor.RestartOnFailure,
			"StopTimeout": 4 * time.Second,
			"Signals":     signalsWith(map[syscall.Signal]supervisor.Action{syscall.SIGHUP: {Kind: supervisor.ActStop}}),
			"Log.Format":  "json",
		},
	}, {
		name: "flags over file, key by key",
		file: fileAll,
		args: []string{"-n", "4", "--stop-timeout", "1s", "--pidfile", "run/x.pid", "--log-level", "warn", "--", "EXE"},
		want: map[string]any{
			"Name":        "api",       // file
			"Workers":     4,           // flag
			"Slots":       6,           // file
			"PIDFile":     "run/x.pid", // flag
			"SlotsFile":   ".pid/api.slots",
			"Restart":     supervisor.RestartNever, // file
			"MinUptime":   2 * time.Second,         // file
			"StopSignal":  syscall.SIGINT,          // file, same block as a flag
			"StopTimeout": time.Second,             // flag
			"Log.Level":   "warn",                  // flag
		},
	}, {
		name: "--name over the file's name renames the derived files",
		file: `name = "api"`,
		args: []string{"--name", "web", "--", "EXE"},
		want: map[string]any{"Name": "web", "PIDFile": ".pid/web.pid", "SlotsFile": ".pid/web.slots"},
	}, {
		name: "a typed --prefix=false overrides the file's prefix = true",
		file: `prefix = true`,
		args: []string{"--prefix=false", "--", "EXE"},
		want: map[string]any{"Prefix": false},
	}, {
		name: "slots follow the flag's workers when neither sets slots",
		file: `workers = 2`,
		args: []string{"-n", "7", "--", "EXE"},
		want: map[string]any{"Workers": 7, "Slots": 7},
	}, {
		name: "env merges per key",
		file: fileAll,
		args: []string{"--env", "B=flag", "--env", "C=flag", "--", "EXE"},
		want: map[string]any{"Env": []string{"A=file", "B=flag", "C=flag"}},
	}, {
		name: "signals merge per signal, whatever the spelling",
		file: fileAll,
		args: []string{"--signal", "SIGUSR1=stop", "--signal", "usr2=forward:HUP", "--", "EXE"},
		want: map[string]any{"Signals": signalsWith(map[syscall.Signal]supervisor.Action{
			syscall.SIGHUP:  {Kind: supervisor.ActRestart},
			syscall.SIGUSR1: {Kind: supervisor.ActStop},
			syscall.SIGUSR2: {Kind: supervisor.ActForward, Signal: syscall.SIGHUP},
		})},
	}, {
		name: "command from the file",
		file: `command = ["EXE", "--port", "8080"]`,
		args: nil,
		want: map[string]any{"Args": []string{"EXE", "--port", "8080"}, "Path": "EXE"},
	}, {
		name: "command on the command line replaces the file's",
		file: `command = ["/no/such/program", "--port", "8080"]`,
		args: []string{"--", "EXE", "--other"},
		want: map[string]any{"Args": []string{"EXE", "--other"}, "Path": "EXE"},
	}, {
		name: "the worker's flags are not slotrun's, even without --",
		args: []string{"-n", "2", "EXE", "-n", "9", "--port", "80"},
		want: map[string]any{"Workers": 2, "Args": []string{"EXE", "-n", "9", "--port", "80"}},
	}, {
		name: "an empty file sets nothing",
		file: "\n# nothing here\n",
		args: []string{"--", "EXE"},
		want: map[string]any{"Name": "slotrun", "Workers": runtime.GOMAXPROCS(0), "StopTimeout": 10 * time.Second},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inTempDir(t)
			var args []string
			if tt.file != "" {
				writeFile(t, "app.hcl", strings.ReplaceAll(tt.file, "EXE", exe))
				args = append(args, "-c", "app.hcl")
			}
			for _, a := range tt.args {
				args = append(args, strings.ReplaceAll(a, "EXE", exe))
			}
			s, err := config.Load(args, nil)
			if err != nil {
				t.Fatalf("Load(%q): %v", args, err)
			}
			for path, want := range tt.want {
				switch w := want.(type) {
				case string:
					want = strings.ReplaceAll(w, "EXE", exe)
				case []string:
					want = replaceAll(w, "EXE", exe)
				}
				if got := field(s, path); !reflect.DeepEqual(got, want) {
					t.Errorf("%s = %v, want %v", path, got, want)
				}
			}
		})
	}
}

// signalsWith is the supervisor's default signal table with overrides
// merged in, per signal: what Load makes of the user's signal entries.
func signalsWith(overrides map[syscall.Signal]supervisor.Action) map[syscall.Signal]supervisor.Action {
	table := supervisor.DefaultActions()
	for sig, act := range overrides {
		table[sig] = act
	}
	return table
}

func replaceAll(list []string, old, new string) []string {
	if list == nil {
		return nil
	}
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = strings.ReplaceAll(s, old, new)
	}
	return out
}

// TestCrossKeyErrorsSayWhereEachValueCameFrom: a rule that spans several
// keys names each one as the user set it, flag or file line, so the user
// knows what to change.
func TestCrossKeyErrorsSayWhereEachValueCameFrom(t *testing.T) {
	tests := []struct {
		name, file string
		args       []string
		want       string
	}{{
		name: "flag against file",
		file: "workers = 2\n",
		args: []string{"--slots", "1"},
		want: "--slots 1 is fewer than workers = 2 (app.hcl:1:11): every worker needs its own id",
	}, {
		name: "file against flag",
		file: "slots = 3\n",
		args: []string{"-n", "4"},
		want: "slots = 3 (app.hcl:1:9) is fewer than --workers 4: every worker needs its own id",
	}, {
		name: "a flag replaces the file's value in the message too",
		file: "workers = 2\nslots = 8\n",
		args: []string{"--slots", "1"},
		want: "--slots 1 is fewer than workers = 2 (app.hcl:1:11): every worker needs its own id",
	}, {
		name: "file against default, as written",
		file: "restart {\n  backoff_min = \"1m\"\n}\n",
		want: `restart.backoff_min = "1m" (app.hcl:2:17) must not exceed --backoff-max 30s (the default)`,
	}, {
		name: "both in one block",
		file: "restart {\n  max_restarts = 3\n  window = \"0s\"\n}\n",
		want: `restart.max_restarts = 3 (app.hcl:2:18) needs a window to count restarts in, not restart.window = "0s" (app.hcl:3:12)`,
	}}
	exe := worker(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inTempDir(t)
			writeFile(t, "app.hcl", tt.file)
			args := append([]string{"-c", "app.hcl"}, tt.args...)
			_, err := config.Load(append(args, "--", exe), nil)
			if !errors.Is(err, config.ErrUsage) {
				t.Fatalf("Load: %v; want an error wrapping ErrUsage", err)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("message:\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

// TestSlotsFewerThanTheDefaultWorkers names the default it fell short of.
func TestSlotsFewerThanTheDefaultWorkers(t *testing.T) {
	n := runtime.GOMAXPROCS(0)
	if n < 2 {
		t.Skip("GOMAXPROCS is 1: no --slots is fewer than the default workers")
	}
	_, err := config.Load([]string{"--slots", "1", "--", worker(t)}, nil)
	want := fmt.Sprintf("--slots 1 is fewer than --workers %d (the default): every worker needs its own id", n)
	if err == nil || err.Error() != want {
		t.Errorf("Load = %v; want %q", err, want)
	}
}

// TestShutdownDelayUpToItsMaximum: 10m is the longest delay taken.
func TestShutdownDelayUpToItsMaximum(t *testing.T) {
	s, err := config.Load([]string{"--shutdown-delay", "10m", "--", worker(t)}, nil)
	if err != nil || s.ShutdownDelay != 10*time.Minute {
		t.Errorf("Load(--shutdown-delay 10m) = %v; want it taken", err)
	}
}

// TestPolicyAndActionAcceptAnyCase, as signal names and log levels do.
func TestPolicyAndActionAcceptAnyCase(t *testing.T) {
	inTempDir(t)
	exe := worker(t)
	s, err := config.Load([]string{"--restart", "ON-FAILURE", "--signal", "usr1=Forward:hup", "--", exe}, nil)
	if err != nil {
		t.Fatalf("flags: %v", err)
	}
	if s.Restart != supervisor.RestartOnFailure || s.Signals[syscall.SIGUSR1] != (supervisor.Action{Kind: supervisor.ActForward, Signal: syscall.SIGHUP}) {
		t.Errorf("flags: policy %v, USR1 %v; want on-failure, forward:HUP", s.Restart, s.Signals[syscall.SIGUSR1])
	}
	writeFile(t, "app.hcl", "restart {\n  policy = \"Never\"\n}\nsignals {\n  HUP = \"RESTART\"\n}\n")
	s, err = config.Load([]string{"-c", "app.hcl", "--", exe}, nil)
	if err != nil {
		t.Fatalf("file: %v", err)
	}
	if s.Restart != supervisor.RestartNever || s.Signals[syscall.SIGHUP] != (supervisor.Action{Kind: supervisor.ActRestart}) {
		t.Errorf("file: policy %v, HUP %v; want never, restart", s.Restart, s.Signals[syscall.SIGHUP])
	}
}

// TestConfigAloneCarriesTheCommand is `slotrun -c app.hcl` with nothing else.
func TestConfigAloneCarriesTheCommand(t *testing.T) {
	inTempDir(t)
	exe := worker(t)
	writeFile(t, "app.hcl", `command = ["`+exe+`", "serve"]`+"\n")
	s, err := config.Load([]string{"-c", "app.hcl"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{exe, "serve"}; !reflect.DeepEqual(s.Args, want) || s.Path != exe {
		t.Errorf("Args, Path = %q, %q; want %q, %q", s.Args, s.Path, want, exe)
	}
}

func TestEmptyConfigFileIsValid(t *testing.T) {
	inTempDir(t)
	writeFile(t, "app.hcl", "")
	s, err := config.Load([]string{"-c", "app.hcl", "--", worker(t)}, nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	def := config.Defaults()
	if s.Name != def.Name || s.Workers != def.Workers || s.StopSignal != def.StopSignal || s.StopTimeout != def.StopTimeout ||
		s.Restart != def.Restart || s.MinUptime != def.MinUptime || s.BackoffMin != def.BackoffMin ||
		s.BackoffMax != def.BackoffMax || s.MaxRestarts != def.MaxRestarts || s.RestartWindow != def.RestartWindow {
		t.Errorf("an empty file changed settings: %+v", s)
	}

	// Without a command after --, an empty file leaves nothing to run.
	_, err = config.Load([]string{"-c", "app.hcl"}, nil)
	const want = "no command to run: put it after --, as in `slotrun -n 4 -- ./worker`, or set command in the config file"
	if !errors.Is(err, config.ErrUsage) || err.Error() != want {
		t.Errorf("Load without a command = %v; want %q", err, want)
	}
}

// TestHelp pins the flag table of `slotrun --help`: each line reads as
// "--flag VALUE  what it does with VALUE".
func TestHelp(t *testing.T) {
	var out strings.Builder
	_, err := config.Load([]string{"--help"}, &out)
	if !errors.Is(err, config.ErrHelp) {
		t.Fatalf("Load(--help) = %v; want ErrHelp", err)
	}
	_, flags, ok := strings.Cut(out.String(), "\n\nFlags of run:\n")
	if !ok {
		t.Fatalf("usage has no flags section:\n%s", out.String())
	}
	// Lines the table's kinds shape: a derived default, a plain default, a
	// switch (no default), a shorthand, a repeatable flag. Every setting's
	// line comes from the table, so a new setting needs no change here.
	for _, want := range []string{
		"  -n, --workers N                 run N workers (default: one per usable CPU)\n",
		"      --name NAME                 call this instance NAME, in log lines and default file names (default slotrun)\n",
		"      --slots M                   hand out ids 0 to M-1, M >= N; COMET_PROCESS_COUNT=M (default N)\n",
		"      --stop-timeout DURATION     SIGKILL what is left DURATION after the stop signal (default 10s)\n",
		"      --prefix                    prefix each line of worker output with [NAME:SLOT]\n",
		"      --env KEY=VALUE             set KEY=VALUE in every worker's environment; repeatable\n",
	} {
		if !strings.Contains(flags, want) {
			t.Errorf("usage lacks the line\n%s\nin:\n%s", want, flags)
		}
	}
	line := regexp.MustCompile(`^  (-[a-z], |    )--[a-z-]+( [A-Z=]+)? +\S.*$`)
	lines := strings.Split(strings.TrimSuffix(flags, "\n"), "\n")
	for _, l := range lines {
		if !line.MatchString(l) {
			t.Errorf("usage line %q is not \"  --flag VALUE  what it does\"", l)
		}
	}
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "  -h, --help ") {
		t.Errorf("usage ends with %q, want --help last", last)
	}
}

// TestPathsInFileAreRelativeToWorkingDirectory: a config file in another
// directory does not move the PID file.
func TestPathsInFileAreRelativeToWorkingDirectory(t *testing.T) {
	inTempDir(t)
	if err := os.Mkdir("etc", 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join("etc", "app.hcl"), `pidfile = "run/app.pid"`)
	s, err := config.Load([]string{"-c", "etc/app.hcl", "--", worker(t)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.PIDFile != "run/app.pid" {
		t.Errorf("PIDFile = %q; want run/app.pid, as written", s.PIDFile)
	}
}
