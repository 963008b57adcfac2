package e2e

import (
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestScaleAndRestartOfAStoppedSupervisorGiveUp: scale and restart, with
// or without --no-wait, are bounded like status when the supervisor does
// not answer (stopped by SIGSTOP: the kernel still accepts connections).
// Before, each hung for ever. Their requests, queued meanwhile, are not
// carried out once the supervisor resumes: their clients were told they
// failed.
func TestScaleAndRestartOfAStoppedSupervisorGiveUp(t *testing.T) {
	t.Parallel()
	p := start(t, "-n", "1", "--slots", "3", "--", workerBin)
	p.waitReady(0, 0)
	p.freeze()
	for _, args := range [][]string{
		{"scale", "--no-wait", "--timeout", "500ms", "2"},
		{"scale", "--timeout", "500ms", "3"},
		{"restart", "--no-wait", "--timeout", "500ms"},
		{"restart", "--timeout", "500ms", "--slot", "0"},
	} {
		want := fmt.Sprintf("slotrun: %s: the supervisor (pid %d) did not answer on its control socket .pid/slotrun.sock within 500ms; it is stopped (SIGSTOP, Ctrl-Z or a debugger): `kill -CONT %d` resumes it\n", args[0], p.pid(), p.pid())
		code, _, errs := client(t, p.dir, args...)
		if code != 1 || errs != want {
			t.Errorf("%v of a stopped supervisor: exit %d, %q; want 1, %q", args, code, errs, want)
		}
	}
	if err := syscall.Kill(p.pid(), syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	eventually(t, waitFor, "the four requests dropped", func() bool {
		return strings.Count(p.stderr.text(), "the client went away before the supervisor reached its request; it is not carried out") == 4
	})
	out := mustClient(t, p.dir, "status", "--json")
	if strings.Count(out, `"slot":`) != 1 {
		t.Errorf("a request whose client gave up was carried out after the supervisor resumed:\n%s", out)
	}
	if strings.Contains(p.stderr.text(), "rolling restart") || strings.Contains(p.stderr.text(), "scaling") {
		t.Errorf("a request whose client gave up was carried out:\n%s", p.stderr.text())
	}
}

// TestRestartMayWaitLongerThanItsTimeout: --timeout bounds the taking of
// the request, not the rolling restart, which waits for the new worker
// to be ready (here --min-uptime 1s, five times the bound).
func TestRestartMayWaitLongerThanItsTimeout(t *testing.T) {
	t.Parallel()
	p := start(t, "-n", "1", "--min-uptime", "1s", "--", workerBin)
	p.waitReady(0, 0)
	begun := time.Now()
	if code, _, errs := client(t, p.dir, "restart", "--timeout", "200ms"); code != 0 {
		t.Fatalf("restart --timeout 200ms of a worker that takes 1s to be ready: exit %d, %q; want 0", code, errs)
	}
	if took := time.Since(begun); took < time.Second {
		t.Errorf("restart returned after %s, before the new worker was ready", took)
	}
	p.waitStderr("rolling restart done")
}

// TestCurlSkipsTheInterimAnswer: a rolling restart's interim answer (102,
// sent once the supervisor has the request) is skipped by curl, which
// prints only the final answer.
func TestCurlSkipsTheInterimAnswer(t *testing.T) {
	t.Parallel()
	curl := lookCurl(t)
	p := start(t, "-n", "1", "--min-uptime", "300ms", "--", workerBin)
	p.waitReady(0, 0)
	out, err := exec.Command(curl, "-sS", "--unix-socket", sockPath(p.dir), "-o", "-", "-w", "\n%{http_code}", "-d", "{}", "http://slotrun/v1/restart").Output()
	if got := string(out); err != nil || got != "{}\n\n200" {
		t.Errorf("curl restart: %q, %v; want the final answer only, {} and 200", got, err)
	}
}
