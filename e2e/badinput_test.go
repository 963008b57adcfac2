package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestBadUsageExitsTwoWithOneLineAndStartsNothing(t *testing.T) {
	t.Parallel()
	w := workerBin
	for _, tc := range []struct {
		name  string
		args  []string
		names []string // what the line must name
	}{
		{"workers not a number", []string{"-n", "abc", "--", w}, []string{"--workers", "abc"}},
		{"zero workers", []string{"-n", "0", "--", w}, []string{"--workers", "0"}},
		{"negative workers", []string{"-n", "-3", "--", w}, []string{"--workers", "-3"}},
		{"unknown flag", []string{"--frobnicate", "--", w}, []string{"--frobnicate"}},
		{"duration without unit", []string{"--stop-timeout", "5", "--", w}, []string{"--stop-timeout", "5"}},
		{"shutdown delay beyond its maximum", []string{"--shutdown-delay", "1000h", "--", w}, []string{"--shutdown-delay", "1000h", "at most 10m"}},
		{"unknown restart policy", []string{"--restart", "sometimes", "--", w}, []string{"--restart", "sometimes"}},
		{"unknown signal action", []string{"--signal", "HUP=explode", "--", w}, []string{"--signal", "explode"}},
		{"unknown stop signal", []string{"--stop-signal", "NOPE", "--", w}, []string{"--stop-signal", "NOPE"}},
		{"no command", []string{"-n", "2"}, []string{"command"}},
		{"missing config file", []string{"-c", "/nonexistent.hcl", "--", w}, []string{"/nonexistent.hcl"}},
		// The Go runtime preempts goroutines with URG and keeps PROF for its
		// profiler; libc keeps 32 and 33. An action on one would fire all the
		// time, or never; as a stop signal a worker's runtime would take it.
		{"action for URG", []string{"--signal", "URG=forward", "--", w}, []string{"--signal URG=forward", "URG cannot be given an action"}},
		{"action for PROF", []string{"--signal", "PROF=forward", "--", w}, []string{"--signal PROF=forward", "PROF cannot be given an action"}},
		{"action for libc's signal 32", []string{"--signal", "32=stop", "--", w}, []string{"--signal 32=stop", "32 cannot be given an action"}},
		{"action for libc's signal 33", []string{"--signal", "33=ignore", "--", w}, []string{"--signal 33=ignore", "33 cannot be given an action"}},
		{"reserved stop signal", []string{"--stop-signal", "SIGURG", "--", w}, []string{"--stop-signal", "URG is reserved"}},
		// A name goes into file names and every log line.
		{"name with a newline", []string{"--name", "api\nx", "--", w}, []string{"--name", `"api\nx"`}},
		{"name with an escape", []string{"--name", "\x1b[2Japi", "--", w}, []string{"--name", `"\x1b[2Japi"`}},
		{"name with a slash", []string{"--name", "a/b", "--", w}, []string{"--name", `"a/b"`}},
		{"signal to a name with a newline", []string{"signal", "--name", "api\n", "HUP"}, []string{"--name", `"api\n"`}},
		{"reserved forward target", []string{"--signal", "HUP=forward:PROF", "--", w}, []string{"--signal HUP=forward:PROF", "PROF is reserved"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			checkRefusal(t, 2, tc.names, tc.args...)
		})
	}
}

func TestUnrunnableCommandExitsLikeAShell(t *testing.T) {
	t.Parallel()
	files := t.TempDir()
	plain := filepath.Join(files, "not-executable")
	if err := os.WriteFile(plain, []byte("#!/bin/sh\necho ready\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(plain, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		command string
		code    int
	}{
		{"no such file", "/nonexistent/x", 127},
		{"not in PATH", "no-such-command-xyz", 127},
		{"mode 0644", plain, 126},
		{"a directory", files, 126},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// --restart always (the default) with no backoff to speak of: a
			// restart loop would keep slotrun running.
			checkRefusal(t, tc.code, []string{tc.command}, "-n", "2", "--backoff-min", "1ms", "--", tc.command)
		})
	}
}

// TestBadConfigFileExitsTwoAndPointsAtTheMistake: the first line of the
// error names the file, line and column, and what is wrong there.
func TestBadConfigFileExitsTwoAndPointsAtTheMistake(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, file string
		at         string   // line:column of the mistake
		names      []string // what the first line must name
	}{
		{"action for URG", "signals {\n  HUP = \"restart\"\n  URG = \"forward\"\n}\n", "3:3", []string{"signals.URG", "cannot be given an action"}},
		{"reserved stop signal", "stop {\n  signal = \"PROF\"\n}\n", "2:12", []string{"stop.signal", "PROF is reserved"}},
		{"name with a newline", "name = \"api\\n\"\n", "1:8", []string{"name", `"api\n"`, "control character"}},
		{"name with a slash", "name = \"../api\"\n", "1:8", []string{"name", `"../api"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// Not in slotrun's directory, which must stay empty.
			path := filepath.Join(t.TempDir(), "app.hcl")
			if err := os.WriteFile(path, []byte(tc.file), 0o644); err != nil {
				t.Fatal(err)
			}
			checkFileRefusal(t, path+":"+tc.at, tc.names, "-c", path, "--", workerBin)
		})
	}
}

// checkRefusal runs slotrun with args in a fresh directory and checks that
// it refuses at once: exit code code, one line on stderr that names each of
// names, nothing on stdout, no file made.
func checkRefusal(t *testing.T, code int, names []string, args ...string) {
	t.Helper()
	stderr := refusal(t, code, args...)
	if lines := strings.Split(stderr, "\n"); len(lines) != 1 || !strings.HasPrefix(stderr, "slotrun: ") {
		t.Errorf("stderr is %q; want exactly one line starting `slotrun: `", stderr)
	}
	checkNames(t, stderr, names)
}

// checkFileRefusal is checkRefusal for a mistake in a config file: exit 2,
// and a first line that starts with at, the file:line:column of the
// mistake, and names each of names; the lines of the file follow it.
func checkFileRefusal(t *testing.T, at string, names []string, args ...string) {
	t.Helper()
	stderr := refusal(t, 2, args...)
	first, _, _ := strings.Cut(stderr, "\n")
	if !strings.HasPrefix(first, "slotrun: "+at+": ") {
		t.Errorf("stderr begins %q; want `slotrun: %s: `", first, at)
	}
	checkNames(t, first, names)
}

func checkNames(t *testing.T, text string, names []string) {
	t.Helper()
	for _, name := range names {
		if !strings.Contains(text, name) {
			t.Errorf("stderr %q does not name %q", text, name)
		}
	}
}

// refusal runs slotrun with args in a fresh directory, checks that it
// refused at once with exit code code, without a Go stack trace, without
// writing to stdout or making a file, and returns its stderr.
func refusal(t *testing.T, code int, args ...string) (stderr string) {
	t.Helper()
	dir := t.TempDir()
	began := time.Now()
	got, stdout, stderr := runOnce(t, dir, args...)
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("slotrun took %s to refuse; want it to exit at once", took)
	}
	if got != code {
		t.Errorf("exit code %d; want %d", got, code)
	}
	for _, word := range []string{"goroutine", "panic"} {
		if strings.Contains(stderr, word) {
			t.Errorf("stderr has a Go %s: %q", word, stderr)
		}
	}
	if stdout != "" {
		t.Errorf("stdout is %q; want nothing (no worker started)", stdout)
	}
	if entries, _ := os.ReadDir(dir); len(entries) > 0 {
		var left []string
		for _, e := range entries {
			left = append(left, e.Name())
		}
		t.Errorf("slotrun left %v in its directory; want nothing (no .pid)", left)
	}
	return stderr
}
