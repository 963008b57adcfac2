package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestControlSocketInUseIsRefused: a second supervisor given the control
// socket of a running one (another --name, the same --control) must not
// take it over: before, it unlinked the socket and bound its own, so
// `stop --name t1` stopped the wrong supervisor, and t1 was left with no
// socket at all once the second exited. Now it exits 1 with one line
// naming --control and the path, and leaves nothing behind: no PID file,
// no slot table, no worker; t1 still answers on its socket.
func TestControlSocketInUseIsRefused(t *testing.T) {
	t.Parallel()
	first := start(t, "--name", "t1", "-n", "1", "--", workerBin)
	first.waitReady(0, 0)

	second := startIn(t, first.dir, "--name", "t2", "-n", "1", "--control", ".pid/t1.sock", "--", workerBin)
	code := second.wait()
	second.waitEOF()
	if code != 1 {
		t.Errorf("a second supervisor on a live control socket exited %d; want 1", code)
	}
	want := "slotrun: --control .pid/t1.sock: in use by another process (something answers on it: another supervisor given the same --control?); stop it or choose another --control"
	if errs := strings.TrimSpace(second.stderr.text()); !strings.HasSuffix(errs, want) || strings.Count(errs, "slotrun: ") != 1 {
		t.Errorf("stderr of the refused start:\n%s\nwant it to end with the one line %q", errs, want)
	}
	if second.stdout.text() != "" {
		t.Errorf("the refused supervisor started a worker: %q", second.stdout.text())
	}
	for _, f := range []string{".pid/t2.pid", ".pid/t2.slots", ".pid/t2.sock"} {
		if _, err := os.Lstat(filepath.Join(first.dir, f)); err == nil {
			t.Errorf("the refused start left %s behind", f)
		}
	}
	out := mustClient(t, first.dir, "status", "--name", "t1", "--json")
	if !strings.Contains(out, `"pid": `+strconv.Itoa(first.pid())) {
		t.Errorf("after the refused start, t1's socket answers for another supervisor:\n%s", out)
	}
}

// TestControlPathThatIsNotASocketIsLeftAlone: a regular file where the
// control socket would go is refused in one line and kept as it was.
func TestControlPathThatIsNotASocketIsLeftAlone(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(file, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runOnce(t, dir, "-n", "1", "--control", "notes.txt", "--", workerBin)
	want := "slotrun: --control notes.txt: a file that is not a socket is in the way (a regular file); remove it or choose another --control"
	if code != 1 || !strings.HasSuffix(strings.TrimSpace(stderr), want) || stdout != "" {
		t.Errorf("--control at a regular file: exit %d, stdout %q, stderr %q; want 1 and a last line %q", code, stdout, stderr, want)
	}
	if b, _ := os.ReadFile(file); string(b) != "keep me" {
		t.Errorf("the file at --control was changed: %q", b)
	}
	if _, err := os.Lstat(filepath.Join(dir, ".pid/slotrun.pid")); err == nil {
		t.Error("the refused start left its PID file behind")
	}
}

// TestStopRefusesASocketThatAnswersForAnotherSupervisor: the socket
// derived from b's PID file is served by another supervisor (a, given it
// as its --control, while b runs with --control none). `stop --name b`
// must not stop a: before, it did, and said nothing.
func TestStopRefusesASocketThatAnswersForAnotherSupervisor(t *testing.T) {
	t.Parallel()
	a := start(t, "--name", "a", "-n", "1", "--control", ".pid/b.sock", "--", workerBin)
	a.waitReady(0, 0)
	b := startIn(t, a.dir, "--name", "b", "-n", "1", "--slots-file", ".pid/b-own.slots", "--control", "none", "--", workerBin)
	b.waitStderr("starting")
	code, _, errs := client(t, a.dir, "stop", "--name", "b")
	want := "slotrun: stop: the control socket .pid/b.sock answers for pid " + strconv.Itoa(a.pid()) + ", but the PID file .pid/b.pid names pid " + strconv.Itoa(b.pid()) + "; stopping nothing (does another supervisor use this --control?)\n"
	if code != 1 || errs != want {
		t.Errorf("stop through a socket served by another supervisor: exit %d, %q; want 1, %q", code, errs, want)
	}
	if !alive(a.pid()) {
		t.Error("stop --name b stopped supervisor a")
	}
}
