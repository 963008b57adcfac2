package config_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
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

// field returns the field of s named by a dotted path such as "Stop.Timeout".
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
			"Name":              "slotrun",
			"Workers":           runtime.GOMAXPROCS(0),
			"Slots":             runtime.GOMAXPROCS(0),
			"PIDFile":           ".pid/slotrun.pid",
			"SlotsFile":         ".pid/slotrun.slots",
			"Prefix":            false,
			"Env":               map[string]string{},
			"Restart.Policy":    supervisor.RestartAlways,
			"Restart.MinUptime": time.Second,
			"Stop.Signal":       syscall.SIGTERM,
			"Stop.Timeout":      10 * time.Second,
			"Signals":           map[syscall.Signal]supervisor.Action{},
			"Log.Level":         "info",
			"Command":           []string{"EXE"},
		},
	}, {
		name: "file only",
		file: fileAll,
		args: []string{"--", "EXE"},
		want: map[string]any{
			"Name":              "api",
			"Workers":           3,
			"Slots":             6,
			"PIDFile":           ".pid/api.pid",
			"SlotsFile":         ".pid/api.slots",
			"Prefix":            true,
			"Env":               map[string]string{"A": "file", "B": "file"},
			"Restart.Policy":    supervisor.RestartNever,
			"Restart.MinUptime": 2 * time.Second,
			"Restart.Window":    60 * time.Second, // not in the file: default
			"Stop.Signal":       syscall.SIGINT,
			"Stop.Timeout":      3 * time.Second,
			"Signals": map[syscall.Signal]supervisor.Action{
				syscall.SIGHUP:  {Kind: supervisor.ActRestart},
				syscall.SIGUSR1: {Kind: supervisor.ActIgnore},
			},
			"Log.Level":  "debug",
			"Log.Format": "text", // not in the file: default
		},
	}, {
		name: "flags only",
		args: []string{"--name", "web", "-n", "5", "--prefix", "--restart", "on-failure", "--stop-timeout", "4s",
			"--env", "A=flag", "--signal", "HUP=stop", "--log-format", "json", "--", "EXE"},
		want: map[string]any{
			"Name":           "web",
			"Workers":        5,
			"Slots":          5,
			"PIDFile":        ".pid/web.pid",
			"Prefix":         true,
			"Env":            map[string]string{"A": "flag"},
			"Restart.Policy": supervisor.RestartOnFailure,
			"Stop.Timeout":   4 * time.Second,
			"Signals":        map[syscall.Signal]supervisor.Action{syscall.SIGHUP: {Kind: supervisor.ActStop}},
			"Log.Format":     "json",
		},
	}, {
		name: "flags over file, key by key",
		file: fileAll,
		args: []string{"-n", "4", "--stop-timeout", "1s", "--pidfile", "run/x.pid", "--log-level", "warn", "--", "EXE"},
		want: map[string]any{
			"Name":              "api",       // file
			"Workers":           4,           // flag
			"Slots":             6,           // file
			"PIDFile":           "run/x.pid", // flag
			"SlotsFile":         ".pid/api.slots",
			"Restart.Policy":    supervisor.RestartNever, // file
			"Restart.MinUptime": 2 * time.Second,         // file
			"Stop.Signal":       syscall.SIGINT,          // file, same block as a flag
			"Stop.Timeout":      time.Second,             // flag
			"Log.Level":         "warn",                  // flag
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
		want: map[string]any{"Env": map[string]string{"A": "file", "B": "flag", "C": "flag"}},
	}, {
		name: "signals merge per signal, whatever the spelling",
		file: fileAll,
		args: []string{"--signal", "SIGUSR1=stop", "--signal", "usr2=forward:HUP", "--", "EXE"},
		want: map[string]any{"Signals": map[syscall.Signal]supervisor.Action{
			syscall.SIGHUP:  {Kind: supervisor.ActRestart},
			syscall.SIGUSR1: {Kind: supervisor.ActStop},
			syscall.SIGUSR2: {Kind: supervisor.ActForward, Signal: syscall.SIGHUP},
		}},
	}, {
		name: "command from the file",
		file: `command = ["EXE", "--port", "8080"]`,
		args: nil,
		want: map[string]any{"Command": []string{"EXE", "--port", "8080"}, "Path": "EXE"},
	}, {
		name: "command on the command line replaces the file's",
		file: `command = ["/no/such/program", "--port", "8080"]`,
		args: []string{"--", "EXE", "--other"},
		want: map[string]any{"Command": []string{"EXE", "--other"}, "Path": "EXE"},
	}, {
		name: "the worker's flags are not slotrun's, even without --",
		args: []string{"-n", "2", "EXE", "-n", "9", "--port", "80"},
		want: map[string]any{"Workers": 2, "Command": []string{"EXE", "-n", "9", "--port", "80"}},
	}, {
		name: "an empty file sets nothing",
		file: "\n# nothing here\n",
		args: []string{"--", "EXE"},
		want: map[string]any{"Name": "slotrun", "Workers": runtime.GOMAXPROCS(0), "Stop.Timeout": 10 * time.Second},
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

func replaceAll(list []string, old, new string) []string {
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

// TestPolicyAndActionAcceptAnyCase, as signal names and log levels do.
func TestPolicyAndActionAcceptAnyCase(t *testing.T) {
	inTempDir(t)
	exe := worker(t)
	s, err := config.Load([]string{"--restart", "ON-FAILURE", "--signal", "usr1=Forward:hup", "--", exe}, nil)
	if err != nil {
		t.Fatalf("flags: %v", err)
	}
	if s.Restart.Policy != supervisor.RestartOnFailure || s.Signals[syscall.SIGUSR1] != (supervisor.Action{Kind: supervisor.ActForward, Signal: syscall.SIGHUP}) {
		t.Errorf("flags: policy %v, USR1 %v; want on-failure, forward:HUP", s.Restart.Policy, s.Signals[syscall.SIGUSR1])
	}
	writeFile(t, "app.hcl", "restart {\n  policy = \"Never\"\n}\nsignals {\n  HUP = \"RESTART\"\n}\n")
	s, err = config.Load([]string{"-c", "app.hcl", "--", exe}, nil)
	if err != nil {
		t.Fatalf("file: %v", err)
	}
	if s.Restart.Policy != supervisor.RestartNever || s.Signals[syscall.SIGHUP] != (supervisor.Action{Kind: supervisor.ActRestart}) {
		t.Errorf("file: policy %v, HUP %v; want never, restart", s.Restart.Policy, s.Signals[syscall.SIGHUP])
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
	if want := []string{exe, "serve"}; !reflect.DeepEqual(s.Command, want) || s.Path != exe {
		t.Errorf("Command, Path = %q, %q; want %q, %q", s.Command, s.Path, want, exe)
	}
}

// TestFileErrors pins what a user sees for each kind of mistake in a config
// file: where it is, what was expected, and the line itself.
func TestFileErrors(t *testing.T) {
	tests := []struct {
		name, file, want string
	}{{
		name: "bad duration",
		file: "stop {\n  timeout = \"ten\"\n}\n",
		want: `app.hcl:2:13: Invalid duration; stop.timeout: "ten" is not a duration (write 500ms, 10s or 1m30s).
  on app.hcl line 2, in stop:
   2:   timeout = "ten"`,
	}, {
		name: "duration as a bare number",
		file: "workers = 2\n\nstop {\n  signal = \"TERM\"\n\n\n  timeout = 5\n}\n",
		want: `app.hcl:7:13: Invalid duration; stop.timeout = 5 has no unit: write "5s" or "5ms".
  on app.hcl line 7, in stop:
   7:   timeout = 5`,
	}, {
		name: "duration as a number without a unit in quotes",
		file: "restart {\n  window = \"60\"\n}\n",
		want: `app.hcl:2:12: Invalid duration; restart.window: "60" has no unit (write 60s or 60ms).
  on app.hcl line 2, in restart:
   2:   window = "60"`,
	}, {
		name: "unknown key, with a suggestion",
		file: "name = \"api\"\nworkrs = 4\n",
		want: `app.hcl:2:1: Unsupported argument; An argument named "workrs" is not expected here. Did you mean "workers"?
  on app.hcl line 2:
   2: workrs = 4`,
	}, {
		name: "unknown key in a block",
		file: "restart {\n  max_restart = 3\n}\n",
		want: `app.hcl:2:3: Unsupported argument; An argument named "max_restart" is not expected here. Did you mean "max_restarts"?
  on app.hcl line 2, in restart:
   2:   max_restart = 3`,
	}, {
		name: "unknown block",
		file: "restrat {\n  policy = \"never\"\n}\n",
		want: `app.hcl:1:1: Unsupported block type; Blocks of type "restrat" are not expected here. Did you mean "restart"?
  on app.hcl line 1, in restrat:
   1: restrat {`,
	}, {
		name: "block written twice",
		file: "stop {\n  signal = \"INT\"\n}\nstop {\n  timeout = \"1s\"\n}\n",
		want: `app.hcl:4:1: Duplicate stop block; stop is already defined on line 1; put all its settings in one block.
  on app.hcl line 4, in stop:
   4: stop {`,
	}, {
		name: "wrong type",
		file: "workers = \"eight\"\n",
		want: `app.hcl:1:11: Incorrect value type; workers must be a whole number, not the string "eight".
  on app.hcl line 1:
   1: workers = "eight"`,
	}, {
		name: "number in quotes",
		file: "workers = \"8\"\n",
		want: `app.hcl:1:11: Incorrect value type; workers must be a whole number, not the string "8" (drop the quotes).
  on app.hcl line 1:
   1: workers = "8"`,
	}, {
		name: "fraction",
		file: "slots = 2.5\n",
		want: `app.hcl:1:9: Invalid value; slots must be a whole number, not 2.5.
  on app.hcl line 1:
   1: slots = 2.5`,
	}, {
		name: "command as one string",
		file: "command = \"./api --port 8080\"\n",
		want: `app.hcl:1:11: Incorrect value type; command must be a list of strings, not the string "./api --port 8080"; write each argument as its own string, as in ["./worker", "--port", "8080"].
  on app.hcl line 1:
   1: command = "./api --port 8080"`,
	}, {
		name: "command argument not a string",
		file: "command = [\"./api\", 8080]\n",
		want: `app.hcl:1:21: Incorrect value type; command[1] must be a string, not the number 8080 (put it in quotes).
  on app.hcl line 1:
   1: command = ["./api", 8080]`,
	}, {
		name: "env value not a string",
		file: "env = {\n  PORT = 8080\n}\n",
		want: `app.hcl:2:10: Incorrect value type; env.PORT must be a string, not the number 8080 (put it in quotes).
  on app.hcl line 2:
   2:   PORT = 8080`,
	}, {
		name: "not HCL at all",
		file: "name: api\ncommand: [./api]\n",
		want: `app.hcl:1:1: Argument or block definition required; An argument or block definition is required here. To set an argument, use the equals sign "=" to introduce the argument value.
  on app.hcl line 1:
   1: name: api

app.hcl: 1 more error not shown`,
	}, {
		name: "binary junk is shown escaped",
		file: "\x1b[31m\x00",
		want: `app.hcl:1:1: Invalid character; This character is not used within the language.
  on app.hcl line 1:
   1: \x1b[31m\x00

app.hcl: 2 more errors not shown`,
	}, {
		name: "bad signal name in signals",
		file: "signals {\n  HUP  = \"restart\"\n  NOPE = \"stop\"\n}\n",
		want: `app.hcl:3:3: Invalid signal; signals.NOPE: "NOPE" is not a signal; use a name such as HUP, USR1 or SIGUSR2.
  on app.hcl line 3, in signals:
   3:   NOPE = "stop"`,
	}, {
		name: "signal that cannot be caught",
		file: "signals {\n  KILL = \"stop\"\n}\n",
		want: `app.hcl:2:3: Invalid signal; signals.KILL: KILL cannot be given an action: the kernel does not let a process catch it.
  on app.hcl line 2, in signals:
   2:   KILL = "stop"`,
	}, {
		name: "one signal under two names",
		file: "signals {\n  HUP    = \"restart\"\n  SIGHUP = \"stop\"\n}\n",
		want: `app.hcl:3:3: Duplicate signal; signals.SIGHUP: HUP is already set on line 2.
  on app.hcl line 3, in signals:
   3:   SIGHUP = "stop"`,
	}, {
		name: "bad action",
		file: "signals {\n  HUP = \"explode\"\n}\n",
		want: `app.hcl:2:9: Invalid value; signals.HUP: "explode" is not an action (use forward, forward:SIG, stop, restart, scale-up, scale-down or ignore).
  on app.hcl line 2, in signals:
   2:   HUP = "explode"`,
	}, {
		name: "bad policy",
		file: "restart {\n  policy = \"sometimes\"\n}\n",
		want: `app.hcl:2:12: Invalid value; restart.policy: "sometimes" is not a restart policy (use always, on-failure or never).
  on app.hcl line 2, in restart:
   2:   policy = "sometimes"`,
	}, {
		name: "several mistakes are reported together, in file order",
		file: "workers = 0\nlog {\n  level = \"loud\"\n}\nprefix = \"yes\"\n",
		want: `app.hcl:1:11: Invalid value; workers: must be at least 1, not 0.
  on app.hcl line 1:
   1: workers = 0

app.hcl:3:11: Invalid value; log.level: "loud" is not a log level (use trace, debug, info, warn or error).
  on app.hcl line 3, in log:
   3:   level = "loud"

app.hcl:5:10: Incorrect value type; prefix must be true or false, not the string "yes".
  on app.hcl line 5:
   5: prefix = "yes"`,
	}, {
		name: "variables are not allowed",
		file: "name = app_name\n",
		want: `app.hcl:1:8: Variables not allowed; Variables may not be used here.
  on app.hcl line 1:
   1: name = app_name`,
	}, {
		name: "nesting no config needs",
		file: "env = " + strings.Repeat("[", 100) + "\n",
		want: `app.hcl:1:71: Too complex; A slotrun config is simple data, but brackets, braces, parentheses and quotes nest more than 64 levels deep here.
  on app.hcl line 1:
   1: env = ` + strings.Repeat("[", 100),
	}, {
		name: "slots fewer than workers",
		file: "workers = 4\nslots   = 2\n",
		want: `slots = 2 (app.hcl:2:11) is fewer than workers = 4 (app.hcl:1:11): every worker needs its own id`,
	}, {
		name: "env sets the worker's id",
		file: "env = {\n  A = \"1\"\n  COMET_PROCESS_ID = \"7\"\n}\n",
		want: `app.hcl:3:3: Invalid value; env: COMET_PROCESS_ID is set by slotrun for each worker.
  on app.hcl line 3:
   3:   COMET_PROCESS_ID = "7"`,
	}, {
		name: "env sets the id count",
		file: "env = { COMET_PROCESS_COUNT = \"7\" }\n",
		want: `app.hcl:1:9: Invalid value; env: COMET_PROCESS_COUNT is set by slotrun for each worker.
  on app.hcl line 1:
   1: env = { COMET_PROCESS_COUNT = "7" }`,
	}, {
		name: "stop timeout of zero",
		file: "stop {\n  timeout = \"0s\"\n}\n",
		want: `app.hcl:2:13: Invalid duration; stop.timeout: must be more than 0 (for no grace period, use stop.signal = "KILL").
  on app.hcl line 2, in stop:
   2:   timeout = "0s"`,
	}, {
		name: "duration that is a float but not a decimal",
		file: "restart {\n  min_uptime = \"inf\"\n}\n",
		want: `app.hcl:2:16: Invalid duration; restart.min_uptime: "inf" is not a duration (write 500ms, 10s or 1m30s).
  on app.hcl line 2, in restart:
   2:   min_uptime = "inf"`,
	}}
	exe := worker(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inTempDir(t)
			writeFile(t, "app.hcl", tt.file)
			_, err := config.Load([]string{"-c", "app.hcl", "--", exe}, nil)
			if !errors.Is(err, config.ErrUsage) {
				t.Fatalf("Load: %v; want an error wrapping ErrUsage", err)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("message:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestMissingConfigFile(t *testing.T) {
	inTempDir(t)
	_, err := config.Load([]string{"-c", "app.hcl", "--", worker(t)}, nil)
	const want = "--config app.hcl: no such file"
	if !errors.Is(err, config.ErrUsage) || err.Error() != want {
		t.Errorf("Load = %v; want %q wrapping ErrUsage", err, want)
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
	if s.Name != def.Name || s.Workers != def.Workers || s.Stop != def.Stop || s.Restart != def.Restart {
		t.Errorf("an empty file changed settings: %+v", s)
	}

	// Without a command after --, an empty file leaves nothing to run.
	_, err = config.Load([]string{"-c", "app.hcl"}, nil)
	const want = "no command to run: put it after --, as in `slotrun -n 4 -- ./worker`, or set command in the config file"
	if !errors.Is(err, config.ErrUsage) || err.Error() != want {
		t.Errorf("Load without a command = %v; want %q", err, want)
	}
}

// TestCommandLineErrors pins the one-line messages of common mistakes on
// the command line. Each names the flag and value and says what to write.
func TestCommandLineErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--wrkers", "4", "--", "EXE"}, "unknown flag --wrkers (run slotrun --help; a worker's own flags go after --)"},
		{[]string{"-x", "--", "EXE"}, "unknown flag -x (run slotrun --help; a worker's own flags go after --)"},
		{[]string{"-n", "abc", "--", "EXE"}, `--workers: "abc" is not a number`},
		{[]string{"-n", "2.5", "--", "EXE"}, `--workers: "2.5" is not a whole number`},
		{[]string{"-n", "0", "--", "EXE"}, "--workers: must be at least 1, not 0"},
		// pflag takes the next argument as -n's value even when it starts with -.
		{[]string{"-n", "-3", "--", "EXE"}, "--workers: must be at least 1, not -3"},
		{[]string{"-n"}, "-n needs a value (run slotrun --help)"},
		{[]string{"--slots", "100000", "--", "EXE"}, "--slots: must be at most 65536, not 100000"},
		{[]string{"--max-restarts", "-1", "--", "EXE"}, "--max-restarts: must be 0 (no limit) or more, not -1"},
		{[]string{"--stop-timeout", "5", "--", "EXE"}, `--stop-timeout: "5" has no unit (write 5s or 5ms)`},
		{[]string{"--min-uptime", "-1s", "--", "EXE"}, `--min-uptime: "-1s" must not be negative`},
		{[]string{"--restart", "sometimes", "--", "EXE"}, `--restart: "sometimes" is not a restart policy (use always, on-failure or never)`},
		{[]string{"--signal", "HUP=explode", "--", "EXE"}, `--signal HUP=explode: "explode" is not an action (use forward, forward:SIG, stop, restart, scale-up, scale-down or ignore)`},
		{[]string{"--signal", "KILL=stop", "--", "EXE"}, "--signal KILL=stop: KILL cannot be given an action: the kernel does not let a process catch it"},
		{[]string{"--signal", "HUP", "--", "EXE"}, `--signal: "HUP" has no = (write SIG=ACTION, as in HUP=restart)`},
		{[]string{"--stop-signal", "NOPE", "--", "EXE"}, `--stop-signal: unknown signal "NOPE" (try TERM, HUP, USR1 or a number)`},
		{[]string{"--env", "NOEQUALS", "--", "EXE"}, `--env: "NOEQUALS" has no = (write KEY=VALUE)`},
		{[]string{"--prefix=maybe", "--", "EXE"}, `--prefix: "maybe" is not true or false`},
		{[]string{"--log-level", "loud", "--", "EXE"}, `--log-level: "loud" is not a log level (use trace, debug, info, warn or error)`},
		{[]string{"--name", "a/b", "--", "EXE"}, `--name: "a/b" cannot name files (use letters, digits, - and _)`},
		{[]string{"-c", "", "--", "EXE"}, "--config needs a file name"},
		{[]string{"--stop-timeout", "2.5", "--", "EXE"}, `--stop-timeout: "2.5" has no unit (write 2.5s or 2.5ms)`},
		{[]string{"--stop-timeout", "0", "--", "EXE"}, `--stop-timeout: "0" has no unit (write 0s or 0ms)`},
		// Numbers to strconv.ParseFloat, but no number of seconds.
		{[]string{"--stop-timeout", "inf", "--", "EXE"}, `--stop-timeout: "inf" is not a duration (write 500ms, 10s or 1m30s)`},
		{[]string{"--stop-timeout", "1e3", "--", "EXE"}, `--stop-timeout: "1e3" is not a duration (write 500ms, 10s or 1m30s)`},
		{[]string{"--stop-timeout", "0x10", "--", "EXE"}, `--stop-timeout: "0x10" is not a duration (write 500ms, 10s or 1m30s)`},
		{[]string{"--stop-timeout", "1.2.3", "--", "EXE"}, `--stop-timeout: "1.2.3" is not a duration (write 500ms, 10s or 1m30s)`},
		{[]string{"--stop-timeout", "0s", "--", "EXE"}, "--stop-timeout: must be more than 0 (for no grace period, use --stop-signal KILL)"},
		{[]string{"--stop-timeout", "0ms", "--", "EXE"}, "--stop-timeout: must be more than 0 (for no grace period, use --stop-signal KILL)"},
		{[]string{"--env", "COMET_PROCESS_ID=7", "--", "EXE"}, "--env: COMET_PROCESS_ID is set by slotrun for each worker"},
		{[]string{"--env", "COMET_PROCESS_COUNT=8", "--", "EXE"}, "--env: COMET_PROCESS_COUNT is set by slotrun for each worker"},
		{[]string{"--restart", "Sometimes", "--", "EXE"}, `--restart: "Sometimes" is not a restart policy (use always, on-failure or never)`},
		{[]string{"--signal", "HUP=Explode", "--", "EXE"}, `--signal HUP=Explode: "Explode" is not an action (use forward, forward:SIG, stop, restart, scale-up, scale-down or ignore)`},
		{[]string{"--backoff-min", "1m", "--", "EXE"}, "--backoff-min 1m must not exceed --backoff-max 30s (the default)"},
		{[]string{"--max-restarts", "3", "--restart-window", "0s", "--", "EXE"}, "--max-restarts 3 needs a window to count restarts in, not --restart-window 0s"},
		{[]string{"-n", "4", "--slots", "2", "--", "EXE"}, "--slots 2 is fewer than --workers 4: every worker needs its own id"},
		{[]string{"-n", "4"}, "no command to run: put it after --, as in `slotrun -n 4 -- ./worker`, or set command in the config file"},
		{[]string{"-n", "4", "--"}, "no command to run: put it after --, as in `slotrun -n 4 -- ./worker`, or set command in the config file"},
		{[]string{"--", ""}, "the command to run is an empty string"},
	}
	exe := worker(t)
	for _, tt := range tests {
		args := replaceAll(tt.args, "EXE", exe)
		_, err := config.Load(args, nil)
		if !errors.Is(err, config.ErrUsage) {
			t.Errorf("Load(%q) = %v; want an error wrapping ErrUsage", tt.args, err)
			continue
		}
		if got := err.Error(); got != tt.want {
			t.Errorf("Load(%q):\n got %s\nwant %s", tt.args, got, tt.want)
		}
	}
}

func TestCommandNotFound(t *testing.T) {
	inTempDir(t)
	t.Setenv("PATH", t.TempDir())
	// A shell runs ./worker only when typed with the ./; say so.
	writeFile(t, "worker", "#!/bin/sh\n")
	if err := os.Chmod("worker", 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ cmd, want string }{
		{"./no-such-worker", "./no-such-worker: command not found: no such file"},
		{"no-such-worker", "no-such-worker: command not found in PATH"},
		{"worker", "worker: command not found in PATH (to run ./worker in this directory, write ./worker)"},
	} {
		_, err := config.Load([]string{"--", tt.cmd}, nil)
		if !errors.Is(err, config.ErrCommandNotFound) || errors.Is(err, config.ErrUsage) {
			t.Errorf("Load(-- %s) = %v; want ErrCommandNotFound (exit 127)", tt.cmd, err)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("Load(-- %s):\n got %s\nwant %s", tt.cmd, err, tt.want)
		}
	}
}

func TestCommandNotExecutable(t *testing.T) {
	inTempDir(t)
	writeFile(t, "worker.sh", "#!/bin/sh\n") // 0644: not executable
	if err := os.Mkdir("dir", 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ cmd, want string }{
		{"./worker.sh", "./worker.sh: command not executable: permission denied (chmod +x ./worker.sh?)"},
		{"./dir", "./dir: command not executable: it is a directory"},
	} {
		_, err := config.Load([]string{"--", tt.cmd}, nil)
		if !errors.Is(err, config.ErrCommandNotExecutable) || errors.Is(err, config.ErrUsage) {
			t.Errorf("Load(-- %s) = %v; want ErrCommandNotExecutable (exit 126)", tt.cmd, err)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("Load(-- %s):\n got %s\nwant %s", tt.cmd, err, tt.want)
		}
	}
}

func TestCommandFromFileIsResolved(t *testing.T) {
	inTempDir(t)
	writeFile(t, "app.hcl", `command = ["./no-such-worker"]`)
	_, err := config.Load([]string{"-c", "app.hcl"}, nil)
	if !errors.Is(err, config.ErrCommandNotFound) {
		t.Errorf("Load = %v; want ErrCommandNotFound", err)
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
	const want = `Flags of run:
  -n, --workers N                 run N workers (default: one per usable CPU)
  -c, --config FILE               read settings from the HCL config FILE
      --name NAME                 call this instance NAME, in log lines and default file names (default slotrun)
      --pidfile PATH              write the supervisor's PID file at PATH (default .pid/NAME.pid)
      --slots-file PATH           keep the slot table at PATH; share it to share ids (default .pid/NAME.slots)
      --slots M                   hand out ids 0 to M-1, M >= N; COMET_PROCESS_COUNT=M (default N)
      --restart POLICY            restart workers per POLICY: always, on-failure or never (default always)
      --min-uptime DURATION       restart at once a worker that ran DURATION or longer (default 1s)
      --backoff-min DURATION      wait DURATION after a quick failure, doubling each time (default 100ms)
      --backoff-max DURATION      wait at most DURATION before a restart (default 30s)
      --max-restarts K            give up after K restarts of a slot within the window; 0: never (default 0)
      --restart-window DURATION   count max-restarts within DURATION (default 60s)
      --stop-signal SIGNAL        stop each worker with SIGNAL (default TERM)
      --stop-timeout DURATION     SIGKILL what is left DURATION after the stop signal (default 10s)
      --signal SIG=ACTION         set SIG=ACTION, what slotrun does on SIG: forward, forward:SIG2, stop, restart, scale-up, scale-down or ignore; repeatable
      --prefix                    prefix each line of worker output with [NAME:SLOT]
      --env KEY=VALUE             set KEY=VALUE in every worker's environment; repeatable
      --log-level LEVEL           log at LEVEL or above: trace, debug, info, warn or error (default info)
      --log-format FORMAT         write logs in FORMAT: text or json (default text)
  -h, --help                      show this help
`
	_, table, ok := strings.Cut(out.String(), "\n\nFlags of run:\n")
	if got := "Flags of run:\n" + table; !ok || got != want {
		t.Errorf("usage:\n%s\nwant:\n%s", out.String(), want)
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
