package e2e

import (
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// These tests hold the client commands to their bounds when the
// supervisor does not answer: one that is stopped (SIGSTOP) accepts
// connections, since the kernel does, and never answers them.

// freeze stops the supervisor with SIGSTOP; the cleanup's SIGKILL ends it
// all the same.
func (p *proc) freeze() {
	p.t.Helper()
	if err := syscall.Kill(p.pid(), syscall.SIGSTOP); err != nil {
		p.t.Fatal(err)
	}
	eventually(p.t, waitFor, "the supervisor is stopped", func() bool {
		state, _, ok := procStat(p.pid())
		return ok && state == 'T'
	})
}

// TestStatusOfAStoppedSupervisorSaysItDidNotAnswer: after its 10 s, status
// says in one line which supervisor did not answer on which socket, and
// why; --check says it on stdout, as every answer of --check.
func TestStatusOfAStoppedSupervisorSaysItDidNotAnswer(t *testing.T) {
	t.Parallel()
	p := start(t, "-n", "1", "--", workerBin)
	p.waitReady(0, 0)
	p.freeze()
	want := fmt.Sprintf("slotrun: status: the supervisor (pid %d) did not answer on its control socket .pid/slotrun.sock within 10s; it is stopped (SIGSTOP, Ctrl-Z or a debugger): `kill -CONT %d` resumes it\n", p.pid(), p.pid())
	begun := time.Now()
	code, out, errs := client(t, p.dir, "status")
	if code != 1 || errs != want || out != "" {
		t.Errorf("status of a stopped supervisor: exit %d, stdout %q, stderr %q; want 1 and %q", code, out, errs, want)
	}
	if took := time.Since(begun); took < 10*time.Second {
		t.Errorf("status gave up after %s; its default is 10s", took)
	}
	code, out, errs = client(t, p.dir, "status", "--check", "--timeout", "300ms")
	if want := regexp.MustCompile(`^unhealthy: status: the supervisor \(pid \d+\) did not answer on its control socket \.pid/slotrun\.sock within 300ms; it is stopped .*\n$`); code != 1 || !want.MatchString(out) || errs != "" {
		t.Errorf("status --check of a stopped supervisor: exit %d, stdout %q, stderr %q; want 1 and %s", code, out, errs, want)
	}
}

// TestStopOfAStoppedSupervisorGivesUp: stop cannot even ask a stopped
// supervisor for its pid; it gives up within --timeout, in one line.
func TestStopOfAStoppedSupervisorGivesUp(t *testing.T) {
	t.Parallel()
	p := start(t, "-n", "1", "--", workerBin)
	p.waitReady(0, 0)
	p.freeze()
	code, _, errs := client(t, p.dir, "stop", "--timeout", "500ms")
	want := fmt.Sprintf("slotrun: stop: the supervisor (pid %d) did not answer on its control socket .pid/slotrun.sock within 500ms; it is stopped (SIGSTOP, Ctrl-Z or a debugger): `kill -CONT %d` resumes it\n", p.pid(), p.pid())
	if code != 1 || errs != want {
		t.Errorf("stop of a stopped supervisor: exit %d, %q; want 1, %q", code, errs, want)
	}
}

// TestStopGivesUpOnASupervisorThatDoesNotExit: a supervisor that took the
// stop request and then stops making progress is waited for as long as
// its own settings allow a stop to take (--shutdown-delay, three
// --stop-timeout phases) and a margin of 5 s, not for ever.
func TestStopGivesUpOnASupervisorThatDoesNotExit(t *testing.T) {
	t.Parallel()
	p := start(t, "-n", "1", "--shutdown-delay", "3s", "--stop-timeout", "100ms", "--", workerBin)
	p.waitReady(0, 0)
	type result struct {
		code int
		errs string
	}
	done := make(chan result, 1)
	listening := socketFDs(t, p.pid())
	begun := time.Now()
	go func() {
		cmd := exec.Command(slotrunBin, "stop")
		cmd.Dir = p.dir
		var errs strings.Builder
		cmd.Stderr = &errs
		cmd.Start()
		timer := time.AfterFunc(waitFor, func() { cmd.Process.Kill() })
		defer timer.Stop()
		cmd.Wait()
		done <- result{cmd.ProcessState.ExitCode(), errs.String()}
	}()
	// Within the shutdown delay: the request was answered, the workers
	// have not been asked to stop yet.
	p.waitStderr("stop requested; the workers get the stop signal after the shutdown delay")
	// The line is logged before the answer is written: freeze only once
	// the client has its answer and has closed the connection, which the
	// supervisor then closes too.
	eventually(t, 2*time.Second, "the stop request's connection closed", func() bool { return socketFDs(t, p.pid()) == listening })
	p.freeze()
	r := <-done
	want := fmt.Sprintf("slotrun: stop: the supervisor (pid %d) has not exited within 8.3s of the stop request; it is stopped (SIGSTOP, Ctrl-Z or a debugger): `kill -CONT %d` resumes it; the stop goes on\n", p.pid(), p.pid())
	if r.code != 1 || r.errs != want {
		t.Errorf("stop of a supervisor that does not exit: exit %d, %q; want 1, %q", r.code, r.errs, want)
	}
	if took := time.Since(begun); took < 8300*time.Millisecond {
		t.Errorf("stop gave up after %s, before the bound", took)
	}
}
