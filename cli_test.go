package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

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
		{[]string{"signal"}, 2, "", "slotrun: signal: name one signal, as in `slotrun signal HUP`"},
		{[]string{"signal", "HUP", "TERM"}, 2, "", "slotrun: signal: name one signal, as in `slotrun signal HUP`"},
		{[]string{"signal", "EXPLODE"}, 2, "", `slotrun: signal: unknown signal "EXPLODE" (try TERM, HUP, USR1 or a number)`},
		{[]string{"signal", "--pidfile=", "HUP"}, 2, "", "slotrun: signal: --pidfile: must not be empty"},
		{[]string{"signal", "--name", "../x", "HUP"}, 2, "", `slotrun: signal: --name: "../x" cannot name files (use letters, digits, - and _)`},
		{[]string{"signal", "--name", "api\n", "HUP"}, 2, "", `slotrun: signal: --name: "api\n" contains a control character (use letters, digits, - and _)`},
		{[]string{"signal", "--bogus", "HUP"}, 2, "", "slotrun: signal: unknown flag: --bogus (usage: slotrun signal [--name NAME | --pidfile PATH] SIGNAL)"},
		{[]string{"signal", "--pidfile", "/nonexistent/x.pid", "HUP"}, 1, "", "slotrun: not running (no live supervisor holds /nonexistent/x.pid)"},
		{[]string{"status"}, 2, "", "slotrun: status is not available in this version (it comes with the control socket)"},
		{[]string{"-n", "abc", "--", "true"}, 2, "", `slotrun: --workers: "abc" is not a number`},
		// Settings refused before anything starts. With --restart never, a
		// setting wrongly accepted makes the worker (which exits at once)
		// run once and the case fail, rather than restart for ever.
		{[]string{"--restart", "never", "--env", "COMET_PROCESS_ID=7", "--", "./worker"}, 2, "", "slotrun: --env: COMET_PROCESS_ID is set by slotrun for each worker"},
		{[]string{"--restart", "never", "--stop-timeout", "0s", "--", "./worker"}, 2, "", "slotrun: --stop-timeout: must be more than 0 (for no grace period, use --stop-signal KILL)"},
		{[]string{"--restart", "never", "--stop-timeout", "inf", "--", "./worker"}, 2, "", `slotrun: --stop-timeout: "inf" is not a duration (write 500ms, 10s or 1m30s)`},
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
