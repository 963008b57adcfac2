package main

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/slotrun/slotrun/internal/prestart"
)

// A test binary is no supervisor: give back what prestart's init began to
// catch, or go test could neither interrupt it nor dump it on a timeout.
// The supervisors these tests start in-process catch their own.
func TestMain(m *testing.M) {
	if s := prestart.TakeSignals(); s != nil {
		s.Release()
	}
	os.Exit(m.Run())
}

// prestart must know the client commands before the CLI has parsed
// anything: it catches signals for every other first argument.
func TestClientCommandsAreTheCLIs(t *testing.T) {
	var names []string
	for name := range newCLI(nil, nil).commands() {
		names = append(names, name)
	}
	slices.Sort(names)
	want := slices.Sorted(slices.Values(prestart.ClientCommands))
	if !slices.Equal(names, want) {
		t.Fatalf("the CLI's commands are %q; prestart.ClientCommands %q", names, want)
	}
}

// The CLI runs in-process here; the e2e tests run the built binary.
func TestCLIExitCodesAndMessages(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv("PATH", t.TempDir())
	// A program in the working directory, typed without ./.
	if err := os.WriteFile("worker", []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args       []string
		code       int
		stdout     string // substring
		stderrLine string // the one line expected, exactly
	}{
		{[]string{"version"}, 0, "slotrun ", ""},
		{[]string{"--help"}, 0, "Usage:", ""},
		{[]string{"signal", "--help"}, 0, "Usage: slotrun signal", ""},
		{[]string{"help"}, 0, "Flags of run:", ""},
		{[]string{"scale", "1", "2"}, 2, "", "slotrun: scale: one count only, not 1 and 2 (usage: slotrun scale [--name NAME | --pidfile PATH | --control PATH] [--no-wait] [--timeout DURATION] N | +K | -K)"},
		{[]string{"signal", "--slot", "abc", "HUP"}, 2, "", `slotrun: signal: --slot: "abc" is not a whole number (usage: slotrun signal [--name NAME | --pidfile PATH | --control PATH] [--slot K] SIGNAL)`},
		{[]string{"status", "--json=maybe"}, 2, "", `slotrun: status: --json: "maybe" is not true or false (usage: slotrun status [--name NAME | --pidfile PATH | --control PATH] [--json | --check] [--timeout DURATION])`},
		{[]string{"signal"}, 2, "", "slotrun: signal: name one signal, as in `slotrun signal HUP`"},
		{[]string{"signal", "HUP", "TERM"}, 2, "", "slotrun: signal: name one signal, as in `slotrun signal HUP`"},
		{[]string{"signal", "EXPLODE"}, 2, "", `slotrun: signal: unknown signal "EXPLODE" (try TERM, HUP, USR1 or a number)`},
		{[]string{"signal", "--pidfile=", "HUP"}, 2, "", "slotrun: signal: --pidfile: must not be empty"},
		{[]string{"signal", "--name", "../x", "HUP"}, 2, "", `slotrun: signal: --name: "../x" cannot name files (use letters, digits, - and _)`},
		{[]string{"signal", "--name", "api\n", "HUP"}, 2, "", `slotrun: signal: --name: "api\n" contains a control character (use letters, digits, - and _)`},
		{[]string{"signal", "--bogus", "HUP"}, 2, "", "slotrun: signal: unknown flag: --bogus (usage: slotrun signal [--name NAME | --pidfile PATH | --control PATH] [--slot K] SIGNAL)"},
		{[]string{"signal", "--pidfile", "/nonexistent/x.pid", "HUP"}, 1, "", "slotrun: not running (no live supervisor holds /nonexistent/x.pid)"},
		{[]string{"signal", "KILL"}, 2, "", "slotrun: signal: KILL would reach slotrun itself, which cannot act on it; to send it to one worker, use `slotrun signal --slot K KILL`; to stop everything, `slotrun stop`"},
		{[]string{"signal", "sigstop"}, 2, "", "slotrun: signal: STOP would reach slotrun itself, which cannot act on it; to send it to one worker, use `slotrun signal --slot K STOP`; to stop everything, `slotrun stop`"},
		// The client subcommands of the control socket.
		{[]string{"status"}, 1, "", "slotrun: not running (nothing answers on .pid/slotrun.sock)"},
		{[]string{"status", "--name", "api"}, 1, "", "slotrun: not running (nothing answers on .pid/api.sock)"},
		{[]string{"status", "--pidfile", "run/x.pid"}, 1, "", "slotrun: not running (nothing answers on run/x.sock)"},
		{[]string{"status", "--check"}, 1, "unhealthy: not running (nothing answers on .pid/slotrun.sock)\n", ""}, // one line, as every answer of --check
		{[]string{"status", "--json", "--check"}, 2, "", "slotrun: status: --json and --check do not go together"},
		{[]string{"status", "extra"}, 2, "", `slotrun: status: unexpected argument "extra" (usage: slotrun status [--name NAME | --pidfile PATH | --control PATH] [--json | --check] [--timeout DURATION])`},
		{[]string{"status", "--control", "none"}, 1, "", "slotrun: status needs the control socket, and --control none names none"},
		{[]string{"status", "--control", "/" + strings.Repeat("x", 108)}, 2, "", `slotrun: status: --control: the control socket path "/` + strings.Repeat("x", 108) + `" is 109 bytes long, more than a unix socket's limit of 107 (choose a shorter --control, or run from a shorter directory)`},
		{[]string{"scale"}, 2, "", "slotrun: scale: how many workers? (usage: slotrun scale [--name NAME | --pidfile PATH | --control PATH] [--no-wait] [--timeout DURATION] N | +K | -K)"},
		{[]string{"scale", "0"}, 2, "", "slotrun: scale: 0 workers: one is the minimum (slotrun stop stops them all)"},
		{[]string{"scale", "many"}, 2, "", `slotrun: scale: "many" is not a number of workers (write N, +K or -K)`},
		{[]string{"scale", "-2"}, 1, "", "slotrun: not running (nothing answers on .pid/slotrun.sock)"},
		{[]string{"restart", "--slot", "-1"}, 2, "", "slotrun: restart: --slot -1: slots count from 0"},
		{[]string{"restart", "--slot", "x"}, 2, "", `slotrun: restart: --slot: "x" is not a whole number (usage: slotrun restart [--name NAME | --pidfile PATH | --control PATH] [--slot K] [--no-wait] [--timeout DURATION])`},
		{[]string{"restart"}, 1, "", "slotrun: not running (nothing answers on .pid/slotrun.sock)"},
		{[]string{"stop"}, 1, "", "slotrun: not running (nothing answers on .pid/slotrun.sock)"},
		{[]string{"stop", "now"}, 2, "", `slotrun: stop: unexpected argument "now" (usage: slotrun stop [--name NAME | --pidfile PATH | --control PATH] [--no-wait] [--timeout DURATION])`},
		{[]string{"stop", "--timeout", "0s"}, 2, "", "slotrun: stop: --timeout 0s: must be more than 0"},
		{[]string{"status", "--timeout", "-1s"}, 2, "", "slotrun: status: --timeout -1s: must be more than 0"},
		{[]string{"status", "--timeout", "soon"}, 2, "", `slotrun: status: --timeout: "soon" is not a duration such as 30s or 2m (usage: slotrun status [--name NAME | --pidfile PATH | --control PATH] [--json | --check] [--timeout DURATION])`},
		{[]string{"signal", "--slot", "1", "HUP"}, 1, "", "slotrun: not running (nothing answers on .pid/slotrun.sock)"},
		{[]string{"signal", "--slot", "1", "NOPE"}, 2, "", `slotrun: signal: unknown signal "NOPE" (try TERM, HUP, USR1 or a number)`},
		{[]string{"--restart", "never", "--control", "/" + strings.Repeat("x", 108), "--", "./worker"}, 2, "", `slotrun: --control: "/` + strings.Repeat("x", 108) + `" is 109 bytes long, more than a unix socket's limit of 107 (choose a shorter --control, or run from a shorter directory)`},
		{[]string{"--restart", "never", "--http", "9090", "--", "./worker"}, 2, "", `slotrun: --http: "9090" is not an address (write :9090, 127.0.0.1:9090 or [::1]:9090)`},
		{[]string{"--restart", "never", "--http", ":http", "--", "./worker"}, 2, "", `slotrun: --http: ":http": the port must be a number from 0 to 65535`},
		{[]string{"-n", "abc", "--", "true"}, 2, "", `slotrun: --workers: "abc" is not a number`},
		// Settings refused before anything starts. With --restart never, a
		// setting wrongly accepted makes the worker (which exits at once)
		// run once and the case fail, rather than restart for ever.
		{[]string{"--restart", "never", "--env", "COMET_PROCESS_ID=7", "--", "./worker"}, 2, "", "slotrun: --env: COMET_PROCESS_ID is set by slotrun for each worker"},
		{[]string{"--restart", "never", "--stop-timeout", "0s", "--", "./worker"}, 2, "", "slotrun: --stop-timeout: must be more than 0 (for no grace period, use --stop-signal KILL)"},
		{[]string{"--min-ready", "5", "-n", "2", "--slots", "4", "--", "./worker"}, 2, "", "slotrun: --min-ready 5 is more than --slots 4: /readyz and status --check could never succeed"},
		{[]string{"--ready", "notify", "--watchdog", "1ns", "--", "./worker"}, 2, "", "slotrun: --watchdog: must be 0s (off) or at least 1ms, not 1ns"},
		{[]string{"--name", strings.Repeat("n", 110), "--", "./worker"}, 2, "", `slotrun: the control socket path ".pid/` + strings.Repeat("n", 110) + `.sock", made from --pidfile .pid/` + strings.Repeat("n", 110) + `.pid (the default), is 120 bytes, more than a unix socket's 107: use a shorter --name or --pidfile, or set --control (none turns it off)`},
		{[]string{"--restart", "never", "--stop-timeout", "inf", "--", "./worker"}, 2, "", `slotrun: --stop-timeout: "inf" is not a duration (write 500ms, 10s or 1m30s)`},
		{[]string{"status", "--control", "worker"}, 1, "", "slotrun: status: control socket worker: a regular file, not a socket; does --control name the right path?"},
		{[]string{"status", "--pidfile", strings.Repeat("p", 110) + ".pid"}, 2, "", "slotrun: status: --pidfile " + strings.Repeat("p", 110) + `.pid: the control socket beside it: the control socket path "` + strings.Repeat("p", 110) + `.sock" is 115 bytes long, more than a unix socket's limit of 107 (choose a shorter --control, or run from a shorter directory)`},
		{[]string{"restart", "--slot", "1", "--slot=2"}, 2, "", "slotrun: restart: --slot is given 2 times; name one slot, or none to restart every slot"},
		{[]string{"--restart", "never", "--", "worker"}, 127, "", "slotrun: worker: command not found in PATH (to run ./worker in this directory, write ./worker)"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := newCLI(&stdout, &stderr).run(tt.args)
			if code != tt.code {
				t.Errorf("exit code %d; want %d (stderr %q)", code, tt.code, stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.stdout) {
				t.Errorf("stdout %q; want it to contain %q", stdout.String(), tt.stdout)
			}
			if got := strings.TrimSuffix(stderr.String(), "\n"); got != tt.stderrLine {
				t.Errorf("stderr:\n got %q\nwant %q", got, tt.stderrLine)
			}
		})
	}
}

func TestIsScaleCount(t *testing.T) {
	for a, want := range map[string]bool{
		"3": true, "+2": true, "-2": true, "0": true, "10": true,
		"": false, "+": false, "-": false, "+-2": false, "--2": false,
		"2x": false, "x": false, "-n": false, "1.5": false, " 2": false,
	} {
		if got := isScaleCount(a); got != want {
			t.Errorf("isScaleCount(%q) = %v, want %v", a, got, want)
		}
	}
}
