package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// These tests drive a running slotrun through its control socket, with the
// client subcommands of the same binary and with plain HTTP clients.

// client runs a client subcommand of slotrun in dir and returns its exit
// code and output.
func client(t *testing.T, dir string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(slotrunBin, args...)
	cmd.Dir = dir
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(waitFor):
		cmd.Process.Kill()
		<-done
		t.Fatalf("slotrun %v did not return within %s", args, waitFor)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errb.String()
}

// mustClient runs a client subcommand that must succeed.
func mustClient(t *testing.T, dir string, args ...string) string {
	t.Helper()
	code, out, errs := client(t, dir, args...)
	if code != 0 {
		t.Fatalf("slotrun %v: exit %d; stderr: %s", args, code, errs)
	}
	return out
}

// statusObject is the status as --json prints it, decoded as the contract
// names its fields.
type statusObject struct {
	Name      string  `json:"name"`
	PID       int     `json:"pid"`
	Version   string  `json:"version"`
	Uptime    float64 `json:"uptime_seconds"`
	Desired   int     `json:"desired"`
	Slots     int     `json:"slots"`
	Ready     int     `json:"ready"`
	Stopping  bool    `json:"stopping"`
	IDs       struct{ First, Count int }
	Listeners []struct{ Name, Address string }
	Rolling   *struct {
		Done, Total int
		Halted      string
	}
	Workers []workerObject
}

type workerObject struct {
	Slot     int             `json:"slot"`
	ID       int             `json:"id"`
	PID      int             `json:"pid"`
	State    string          `json:"state"`
	Uptime   float64         `json:"uptime_seconds"`
	Restarts int             `json:"restarts"`
	LastExit json.RawMessage `json:"last_exit"`
	Status   *string         `json:"status"`
	NextIn   *float64        `json:"next_start_in_seconds"`
}

func statusOf(t *testing.T, dir string, where ...string) statusObject {
	t.Helper()
	out := mustClient(t, dir, append([]string{"status", "--json"}, where...)...)
	var st statusObject
	dec := json.NewDecoder(strings.NewReader(out))
	if err := dec.Decode(&st); err != nil {
		t.Fatalf("status --json: %v in %q", err, out)
	}
	return st
}

// compact writes a raw JSON value without spaces.
func compact(raw json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return string(raw)
	}
	return b.String()
}

func (st statusObject) worker(t *testing.T, slot int) workerObject {
	t.Helper()
	for _, w := range st.Workers {
		if w.Slot == slot {
			return w
		}
	}
	t.Fatalf("status lists no worker in slot %d: %+v", slot, st.Workers)
	return workerObject{}
}

func (st statusObject) slotsListed() []int {
	var s []int
	for _, w := range st.Workers {
		s = append(s, w.Slot)
	}
	return s
}

// unixHTTP is an HTTP client of the control socket at path.
func unixHTTP(path string) *http.Client {
	return &http.Client{
		Timeout: waitFor,
		Transport: &http.Transport{
			DisableKeepAlives: true,
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", path)
			},
		},
	}
}

func sockPath(dir string) string { return filepath.Join(dir, ".pid", "slotrun.sock") }

// TestStatusShowsRestartsAndLastExitPerSlot: after crashes of different
// kinds, each slot's restarts and last exit are its own.
func TestStatusShowsRestartsAndLastExitPerSlot(t *testing.T) {
	p := start(t, "-n", "3", "--min-uptime", "100ms", "--backoff-min", "10ms", "--", workerBin, "-exit-on-hup")
	pids := p.waitReady(0, 0, 1, 2)
	for range 2 {
		from := p.lineCount()
		syscall.Kill(pids[1], syscall.SIGKILL)
		pids[1] = p.waitReady(from, 1)[1]
	}
	from := p.lineCount()
	mustClient(t, p.dir, "signal", "--slot", "2", "HUP") // the worker exits 0 on HUP
	pids[2] = p.waitReady(from, 2)[2]

	var st statusObject
	eventually(t, waitFor, "every slot ready with its new pid", func() bool {
		st = statusOf(t, p.dir)
		return st.Ready == 3 && st.worker(t, 1).PID == pids[1] && st.worker(t, 2).PID == pids[2]
	})
	want := []struct {
		restarts int
		lastExit string
	}{{0, "null"}, {2, `{"signal":"KILL"}`}, {1, `{"code":0}`}}
	for slot, w := range want {
		got := st.worker(t, slot)
		if got.Restarts != w.restarts || compact(got.LastExit) != w.lastExit || got.PID != pids[slot] || got.ID != slot || got.State != "ready" {
			t.Errorf("slot %d: %+v (last_exit %s); want restarts %d, last_exit %s, pid %d, ready", slot, got, got.LastExit, w.restarts, w.lastExit, pids[slot])
		}
		if got.Status == nil || got.NextIn != nil {
			t.Errorf("slot %d: status must be \"\" and next_start_in_seconds absent for a ready worker: %+v", slot, got)
		}
	}
	if st.Name != "slotrun" || st.PID != p.pid() || st.Desired != 3 || st.Slots != 3 || st.Stopping ||
		st.IDs.First != 0 || st.IDs.Count != 3 || st.Listeners == nil || len(st.Listeners) != 0 || st.Rolling != nil || st.Uptime <= 0 {
		t.Errorf("status header: %+v", st)
	}
}

// TestStatusShowsBackoff: a slot waiting to start again says so, and when.
func TestStatusShowsBackoff(t *testing.T) {
	p := start(t, "-n", "1", "--backoff-min", "30s", "--backoff-max", "30s", "--", workerBin, "-exit", "3")
	p.waitStderr(`restart scheduled.*delay=30s`)
	st := statusOf(t, p.dir)
	w := st.worker(t, 0)
	if w.State != "backoff" || w.PID != 0 || compact(w.LastExit) != `{"code":3}` || w.NextIn == nil || *w.NextIn <= 0 || *w.NextIn > 30 || w.Restarts != 1 {
		t.Errorf("worker in backoff: %+v (last_exit %s)", w, w.LastExit)
	}
	if st.Ready != 0 {
		t.Errorf("ready = %d; want 0", st.Ready)
	}
	if code, out, _ := client(t, p.dir, "status", "--check"); code != 1 || !strings.HasPrefix(out, "unhealthy: 0/1 ready") {
		t.Errorf("status --check: exit %d, %q; want 1 and unhealthy", code, out)
	}
	out := mustClient(t, p.dir, "status")
	if !strings.Contains(out, "backoff (") || !strings.Contains(out, "code 3") {
		t.Errorf("status table does not show the backoff and the exit:\n%s", out)
	}
}

// TestScaleUpAndDown: scale 6 starts slots 2..5; scale -2 returns once
// slots 4 and 5 are gone; out-of-range requests change nothing.
func TestScaleUpAndDown(t *testing.T) {
	p := start(t, "-n", "2", "--slots", "8", "--", workerBin)
	p.waitReady(0, 0, 1)
	mustClient(t, p.dir, "scale", "6")
	st := statusOf(t, p.dir)
	if st.Desired != 6 || fmt.Sprint(st.slotsListed()) != "[0 1 2 3 4 5]" {
		t.Fatalf("after scale 6: desired %d, slots %v", st.Desired, st.slotsListed())
	}
	for _, w := range st.Workers {
		if w.PID == 0 || !alive(w.PID) {
			t.Errorf("slot %d: no live worker after scale returned: %+v", w.Slot, w)
		}
	}
	removed := []int{st.worker(t, 4).PID, st.worker(t, 5).PID}
	mustClient(t, p.dir, "scale", "-2")
	for _, pid := range removed {
		if alive(pid) {
			t.Errorf("scale -2 returned while pid %d of a removed slot still runs", pid)
		}
	}
	st = statusOf(t, p.dir)
	if st.Desired != 4 || fmt.Sprint(st.slotsListed()) != "[0 1 2 3]" {
		t.Fatalf("after scale -2: desired %d, slots %v", st.Desired, st.slotsListed())
	}
	for _, bad := range []struct {
		arg, msg string
	}{{"99", "slotrun: scale: 99 is more than --slots 8 (\"workers\" runs from 1 to 8)\n"}, {"0", "slotrun: scale: 0 workers: one is the minimum (slotrun stop stops them all)\n"}, {"-4", "slotrun: scale: -4 would leave fewer than one worker (\"change\" runs from -3 to +4 with 4 workers and --slots 8)\n"}} {
		if code, _, errs := client(t, p.dir, "scale", bad.arg); code != 2 || errs != bad.msg {
			t.Errorf("scale %s: exit %d, %q; want 2, %q", bad.arg, code, errs, bad.msg)
		}
	}
	mustClient(t, p.dir, "scale", "4") // the current number: nothing to do
	if st := statusOf(t, p.dir); st.Desired != 4 || len(st.Workers) != 4 {
		t.Errorf("a refused or no-op scale changed something: %+v", st)
	}
}

// TestRestartOneSlotReplacesExactlyThatWorker: restart --slot 2 returns
// once the new worker is ready; the other slots keep their workers.
func TestRestartOneSlotReplacesExactlyThatWorker(t *testing.T) {
	p := start(t, "-n", "3", "--slots", "4", "--min-uptime", "100ms", "--", workerBin)
	pids := p.waitReady(0, 0, 1, 2)
	mustClient(t, p.dir, "restart", "--slot", "2")
	if alive(pids[2]) {
		t.Errorf("restart --slot 2 returned while the old worker %d still runs", pids[2])
	}
	st := statusOf(t, p.dir)
	if w := st.worker(t, 2); w.PID == pids[2] || w.PID == 0 || w.State != "ready" {
		t.Errorf("slot 2 after its restart: %+v; want a new, ready worker", w)
	}
	for _, slot := range []int{0, 1} {
		if w := st.worker(t, slot); w.PID != pids[slot] {
			t.Errorf("slot %d: pid %d; want %d, untouched", slot, w.PID, pids[slot])
		}
	}
	if st.Rolling != nil {
		t.Errorf("rolling = %+v after the restart; want null", st.Rolling)
	}
	if code, _, errs := client(t, p.dir, "restart", "--slot", "9"); code != 2 || errs != "slotrun: restart: slot 9 is beyond --slots 4 (\"slot\" runs from 0 to 3)\n" {
		t.Errorf("restart --slot 9: exit %d, %q", code, errs)
	}
	if code, _, errs := client(t, p.dir, "restart", "--slot", "3"); code != 1 || errs != "slotrun: restart: slot 3 is not in use (slots in use: 0-2)\n" {
		t.Errorf("restart --slot 3: exit %d, %q", code, errs)
	}
	if code, _, errs := client(t, p.dir, "signal", "--slot", "3", "HUP"); code != 1 || errs != "slotrun: signal: slot 3 is not in use (slots in use: 0-2)\n" {
		t.Errorf("signal --slot 3: exit %d, %q", code, errs)
	}
}

// TestHaltedRollingRestartExitsOne: a new worker that does not stay up
// halts the rolling restart; the client exits 1 with why, and status keeps
// the halt until the next rolling restart.
func TestHaltedRollingRestartExitsOne(t *testing.T) {
	dir := t.TempDir()
	script := fmt.Sprintf("if [ -e %s ]; then exit 3; fi; exec %s", filepath.Join(dir, "fail"), workerBin)
	p := startIn(t, dir, "-n", "2", "--min-uptime", "200ms", "--", "/bin/sh", "-c", script)
	p.waitReady(0, 0, 1)
	if err := os.WriteFile(filepath.Join(dir, "fail"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs := client(t, dir, "restart")
	if code != 1 || !strings.Contains(errs, "rolling restart halted at slot 0") {
		t.Fatalf("restart with a failing new worker: exit %d, %q; want 1 and the halt", code, errs)
	}
	st := statusOf(t, dir)
	if st.Rolling == nil || !strings.Contains(st.Rolling.Halted, "slot 0") || st.Rolling.Total != 2 {
		t.Errorf("rolling = %+v; want the halt at slot 0 of 2", st.Rolling)
	}
}

// TestStopReturnsOnceTheSupervisorIsGone: stop waits for the process to
// exit, and from then on status says not running.
func TestStopReturnsOnceTheSupervisorIsGone(t *testing.T) {
	p := start(t, "-n", "2", "--", workerBin)
	pids := p.waitReady(0, 0, 1)
	mustClient(t, p.dir, "stop")
	if alive(p.pid()) {
		t.Error("slotrun stop returned while the supervisor still runs")
	}
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("worker %d still runs after stop", pid)
		}
	}
	if code := p.wait(); code != 0 {
		t.Errorf("supervisor exit code %d; want 0", code)
	}
	if _, err := os.Stat(sockPath(p.dir)); !os.IsNotExist(err) {
		t.Errorf("the control socket is left behind: %v", err)
	}
	code, _, errs := client(t, p.dir, "status")
	if code != 1 || !strings.HasPrefix(errs, "slotrun: not running") {
		t.Errorf("status after stop: exit %d, %q; want 1, not running", code, errs)
	}
}

// TestStatusWithNothingRunning: exit 1, not running, and a supervisor
// without a control socket is named.
func TestStatusWithNothingRunning(t *testing.T) {
	dir := t.TempDir()
	if code, _, errs := client(t, dir, "status"); code != 1 || errs != "slotrun: not running (nothing answers on .pid/slotrun.sock)\n" {
		t.Errorf("status: exit %d, %q", code, errs)
	}
	p := startIn(t, dir, "-n", "1", "--control", "none", "--", workerBin)
	p.waitReady(0, 0)
	code, _, errs := client(t, dir, "status")
	if code != 1 || !strings.Contains(errs, fmt.Sprintf("the supervisor (pid %d) does not answer on its control socket", p.pid())) {
		t.Errorf("status of a supervisor with --control none: exit %d, %q", code, errs)
	}
}

// TestStaleControlSocketIsReplaced: a socket file left by a killed
// instance does not stop the next one.
func TestStaleControlSocketIsReplaced(t *testing.T) {
	p := start(t, "-n", "1", "--", workerBin)
	p.waitReady(0, 0)
	p.signal(syscall.SIGKILL)
	p.wait()
	if _, err := os.Stat(sockPath(p.dir)); err != nil {
		t.Fatalf("a killed supervisor's socket file should be left: %v", err)
	}
	q := startIn(t, p.dir, "-n", "1", "--", workerBin)
	q.waitReady(0, 0)
	if st := statusOf(t, p.dir); st.PID != q.pid() {
		t.Errorf("status answered by pid %d; want the new supervisor %d", st.PID, q.pid())
	}
}

// TestCurlSpeaksToTheControlSocket: the API is plain HTTP/1.1; errors are
// one JSON line with the documented status codes.
func TestCurlSpeaksToTheControlSocket(t *testing.T) {
	curl := lookCurl(t)
	p := start(t, "-n", "2", "--slots", "4", "--", workerBin)
	p.waitReady(0, 0, 1)
	sock := sockPath(p.dir)
	for _, tt := range []struct {
		args []string
		code string
		body string // substring
	}{
		{[]string{"http://slotrun/v1/status"}, "200", `"workers":[{"slot":0,"id":0,`},
		{[]string{"http://slotrun/v1/nope"}, "404", `{"error":"no such endpoint \"/v1/nope\" (the API has GET /v1/status, `},
		{[]string{"-X", "DELETE", "http://slotrun/v1/status"}, "405", `{"error":"/v1/status needs GET, not DELETE"}`},
		{[]string{"http://slotrun/v1/scale"}, "405", `{"error":"/v1/scale needs POST, not GET"}`},
		{[]string{"-d", "{bad", "http://slotrun/v1/scale"}, "400", `{"error":"scale: the body is not JSON: `},
		{[]string{"-d", `{"workers": 2, "extra": 1}`, "http://slotrun/v1/scale"}, "400", `unknown field \"extra\"`},
		{[]string{"-d", `{"workers": 0}`, "http://slotrun/v1/scale"}, "400", `{"error":"scale: 0 workers: one is the minimum (\"workers\" runs from 1 to 4)"}`},
		{[]string{"-d", `{"workers": 99}`, "http://slotrun/v1/scale"}, "400", `{"error":"scale: 99 is more than --slots 4 (\"workers\" runs from 1 to 4)"}`},
		{[]string{"-d", `{}`, "http://slotrun/v1/scale"}, "400", `give \"workers\": N (the number to run) or \"change\": K`},
		{[]string{"-d", `{"slot": 9}`, "http://slotrun/v1/restart"}, "400", `slot 9 is beyond --slots 4`},
		{[]string{"-d", `{"slot": 3}`, "http://slotrun/v1/restart"}, "409", `slot 3 is not in use`},
		{[]string{"-d", `{"signal": "BOGUS"}`, "http://slotrun/v1/signal"}, "400", `unknown signal \"BOGUS\"`},
		{[]string{"-d", `{"signal": "URG"}`, "http://slotrun/v1/signal"}, "400", `URG is reserved`},
		{[]string{"-d", `{"signal": "USR1", "slot": 1}`, "http://slotrun/v1/signal"}, "200", `{}`},
	} {
		args := append([]string{"-sS", "--unix-socket", sock, "-o", "-", "-w", "\n%{http_code}"}, tt.args...)
		out, err := exec.Command(curl, args...).Output()
		if err != nil {
			t.Fatalf("curl %v: %v", tt.args, err)
		}
		text := strings.TrimSpace(string(out))
		i := strings.LastIndexByte(text, '\n')
		body, code := text[:max(i, 0)], text[i+1:]
		if code != tt.code || !strings.Contains(body, tt.body) {
			t.Errorf("curl %v: %s %s; want %s and %q", tt.args, code, body, tt.code, tt.body)
		}
	}
	p.waitStdout(`^signal id=1 .*sig=USR1`)
	if st := statusOf(t, p.dir); st.Desired != 2 || len(st.Workers) != 2 {
		t.Errorf("refused requests changed something: %+v", st)
	}
	if strings.Contains(p.stdout.text(), "signal id=0") {
		t.Error("a signal for slot 1 reached slot 0")
	}
}

func lookCurl(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("curl")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("curl is not installed (.ci/run installs it)")
		}
		t.Skip("curl is not installed")
	}
	return path
}

// TestSignalThroughTheControlSocket: without --slot, the supervisor named
// by --control gets the signal and acts on it (HUP is forwarded to every
// worker); with --slot, only that slot's worker gets it.
func TestSignalThroughTheControlSocket(t *testing.T) {
	p := start(t, "-n", "2", "--control", "ctl.sock", "--", workerBin)
	p.waitReady(0, 0, 1)
	mustClient(t, p.dir, "signal", "--control", "ctl.sock", "USR2")
	p.waitStdout(`^signal id=0 .*sig=USR2`)
	p.waitStdout(`^signal id=1 .*sig=USR2`)
	mustClient(t, p.dir, "signal", "--control", "ctl.sock", "--slot", "1", "WINCH")
	p.waitStdout(`^signal id=1 .*sig=WINCH`)
	if n := strings.Count(p.stdout.text(), "sig=WINCH"); n != 1 {
		t.Errorf("WINCH for slot 1 reached %d workers", n)
	}
}
