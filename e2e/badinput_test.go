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
		{"unknown restart policy", []string{"--restart", "sometimes", "--", w}, []string{"--restart", "sometimes"}},
		{"unknown signal action", []string{"--signal", "HUP=explode", "--", w}, []string{"--signal", "explode"}},
		{"unknown stop signal", []string{"--stop-signal", "NOPE", "--", w}, []string{"--stop-signal", "NOPE"}},
		{"no command", []string{"-n", "2"}, []string{"command"}},
		{"missing config file", []string{"-c", "/nonexistent.hcl", "--", w}, []string{"/nonexistent.hcl"}},
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

// checkRefusal runs slotrun with args in a fresh directory and checks that
// it refuses at once: exit code code, one line on stderr that names each of
// names, nothing on stdout, no file made.
func checkRefusal(t *testing.T, code int, names []string, args ...string) {
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
	if lines := strings.Split(stderr, "\n"); len(lines) != 1 || !strings.HasPrefix(stderr, "slotrun: ") {
		t.Errorf("stderr is %q; want exactly one line starting `slotrun: `", stderr)
	}
	for _, name := range names {
		if !strings.Contains(stderr, name) {
			t.Errorf("stderr %q does not name %q", stderr, name)
		}
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
}
