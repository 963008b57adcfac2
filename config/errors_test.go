package config_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/slotrun/slotrun/config"
)

// What a user sees for each mistake: the config file's diagnostics, and the
// one-line errors of the command line. Every message names where the
// mistake is and what to write instead; these tests pin them word for word.

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
		name: "signal the Go runtime keeps",
		file: "signals {\n  URG = \"forward\"\n}\n",
		want: `app.hcl:2:3: Invalid signal; signals.URG: URG cannot be given an action: the Go runtime sends it to its own threads to preempt them.
  on app.hcl line 2, in signals:
   2:   URG = "forward"`,
	}, {
		name: "stop signal the Go runtime keeps",
		file: "stop {\n  signal = \"SIGPROF\"\n}\n",
		want: `app.hcl:2:12: Invalid value; stop.signal: PROF is reserved: the Go runtime takes it for its profiler and never passes it on.
  on app.hcl line 2, in stop:
   2:   signal = "SIGPROF"`,
	}, {
		name: "name with a newline",
		file: "name = \"api\\n\"\n",
		want: `app.hcl:1:8: Invalid value; name: "api\n" contains a control character (use letters, digits, - and _).
  on app.hcl line 1:
   1: name = "api\n"`,
	}, {
		name: "name with a slash",
		file: "name = \"a/b\"\n",
		want: `app.hcl:1:8: Invalid value; name: "a/b" cannot name files (use letters, digits, - and _).
  on app.hcl line 1:
   1: name = "a/b"`,
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
		name: "shutdown delay beyond its maximum",
		file: "shutdown_delay = \"1h30m\"\n",
		want: `app.hcl:1:18: Invalid duration; shutdown_delay: must be at most 10m, not 1h30m (it only has to outlast a load balancer's readiness checks; an orchestrator's grace period must cover it and the stop timeout).
  on app.hcl line 1:
   1: shutdown_delay = "1h30m"`,
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
		// Signals the Go runtime or libc keep: URG arrives all the time, PROF
		// never, 32 and 33 are libc's. None can carry an action or reach a
		// worker as a stop signal or a forward target.
		{[]string{"--signal", "URG=forward", "--", "EXE"}, "--signal URG=forward: URG cannot be given an action: the Go runtime sends it to its own threads to preempt them"},
		{[]string{"--signal", "SIGPROF=forward", "--", "EXE"}, "--signal SIGPROF=forward: PROF cannot be given an action: the Go runtime takes it for its profiler and never passes it on"},
		{[]string{"--signal", "32=stop", "--", "EXE"}, "--signal 32=stop: 32 cannot be given an action: the C library keeps it for its threads (real-time signals for programs start at RTMIN, 34)"},
		{[]string{"--signal", "33=ignore", "--", "EXE"}, "--signal 33=ignore: 33 cannot be given an action: the C library keeps it for its threads (real-time signals for programs start at RTMIN, 34)"},
		{[]string{"--stop-signal", "URG", "--", "EXE"}, "--stop-signal: URG is reserved: the Go runtime sends it to its own threads to preempt them"},
		{[]string{"--stop-signal", "32", "--", "EXE"}, "--stop-signal: 32 is reserved: the C library keeps it for its threads (real-time signals for programs start at RTMIN, 34)"},
		{[]string{"--signal", "HUP=forward:PROF", "--", "EXE"}, `--signal HUP=forward:PROF: action "forward:PROF": PROF is reserved: the Go runtime takes it for its profiler and never passes it on`},
		{[]string{"--stop-signal", "NOPE", "--", "EXE"}, `--stop-signal: unknown signal "NOPE" (try TERM, HUP, USR1 or a number)`},
		{[]string{"--env", "NOEQUALS", "--", "EXE"}, `--env: "NOEQUALS" has no = (write KEY=VALUE)`},
		{[]string{"--prefix=maybe", "--", "EXE"}, `--prefix: "maybe" is not true or false`},
		{[]string{"--log-level", "loud", "--", "EXE"}, `--log-level: "loud" is not a log level (use trace, debug, info, warn or error)`},
		{[]string{"--name", "a/b", "--", "EXE"}, `--name: "a/b" cannot name files (use letters, digits, - and _)`},
		// A name goes into file names and every log line: a control
		// character would break both, and must show in the message.
		{[]string{"--name", "api\n", "--", "EXE"}, `--name: "api\n" contains a control character (use letters, digits, - and _)`},
		{[]string{"--name", "a\tb", "--", "EXE"}, `--name: "a\tb" contains a control character (use letters, digits, - and _)`},
		{[]string{"--name", "\x1b[31mred", "--", "EXE"}, `--name: "\x1b[31mred" contains a control character (use letters, digits, - and _)`},
		{[]string{"--name", "a\u0085b", "--", "EXE"}, `--name: "a\u0085b" contains a control character (use letters, digits, - and _)`},
		{[]string{"--name", "a\x7f", "--", "EXE"}, `--name: "a\x7f" contains a control character (use letters, digits, - and _)`},
		{[]string{"--name", "a\xffb", "--", "EXE"}, `--name: "a\xffb" is not UTF-8 text (use letters, digits, - and _)`},
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
		{[]string{"--shutdown-delay", "1000h", "--", "EXE"}, "--shutdown-delay: must be at most 10m, not 1000h (it only has to outlast a load balancer's readiness checks; an orchestrator's grace period must cover it and the stop timeout)"},
		{[]string{"--shutdown-delay", "10m1s", "--", "EXE"}, "--shutdown-delay: must be at most 10m, not 10m1s (it only has to outlast a load balancer's readiness checks; an orchestrator's grace period must cover it and the stop timeout)"},
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
