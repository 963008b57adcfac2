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
      --control PATH              serve the control socket at PATH; none turns it off (default: the PID file's path with .sock for .pid)
      --http ADDR                 serve /metrics, /livez and /readyz on ADDR, as :9090 or 127.0.0.1:0; off by default
      --min-ready K               /readyz and status --check want K workers ready (default 1)
      --shutdown-delay DURATION   on a stop, fail /readyz at once and stop the workers DURATION later (default 0s)
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
