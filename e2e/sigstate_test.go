package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// These tests start slotrun from a parent that blocks and ignores signals
// (testdata/sigblock), as a careless launcher, `nohup` or a shell's
// background job would. Whatever slotrun inherits, its workers must start
// with nothing blocked and nothing ignored (docs/output.md).

var (
	sigblockOnce sync.Once
	sigblockBin  string
	sigblockErr  error
)

// sigblock builds the helper once, beside the binaries TestMain built.
func sigblock(t *testing.T) string {
	t.Helper()
	sigblockOnce.Do(func() {
		bin := filepath.Join(filepath.Dir(slotrunBin), "sigblock")
		cmd := exec.Command("go", "build", "-o", bin, "./testdata/sigblock")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			sigblockErr = fmt.Errorf("build testdata/sigblock: %w\n%s", err, out)
			return
		}
		sigblockBin = bin
	})
	if sigblockErr != nil {
		t.Fatal(sigblockErr)
	}
	return sigblockBin
}

// blockedByParent are the signals the parent blocks: every one slotrun
// forwards or acts on, and a few more.
const blockedByParent = "HUP,INT,QUIT,TERM,USR1,USR2,WINCH,TTIN,TTOU,TSTP,CONT,ALRM,PIPE"

// everyIgnorable is every signal but KILL and STOP, which cannot be ignored.
func everyIgnorable() string {
	var sigs []string
	for sig := 1; sig <= 64; sig++ {
		if sig != int(syscall.SIGKILL) && sig != int(syscall.SIGSTOP) {
			sigs = append(sigs, strconv.Itoa(sig))
		}
	}
	return strings.Join(sigs, ",")
}

// startBlocked runs slotrun through sigblock, which execs it: the process
// started is slotrun's, with the parent's mask and ignored signals.
func startBlocked(t *testing.T, block, ignore string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(sigblock(t), append([]string{"-block", block, "-ignore", ignore, "--", slotrunBin}, args...)...)
	return startCmd(t, t.TempDir(), cmd, true)
}

func TestWorkersStartCleanWhateverSignalsSlotrunInherits(t *testing.T) {
	t.Parallel()
	// grep is C: the masks it prints are the ones it was started with.
	// sh execs it, and changes neither.
	p := startBlocked(t, blockedByParent, everyIgnorable(),
		"-n", "1", "--restart", "never", "--", "/bin/sh", "-c", "exec grep -E '^Sig(Blk|Ign):' /proc/self/status")
	if code := p.wait(); code != 0 {
		t.Fatalf("exit code %d; want 0", code)
	}
	p.waitEOF()
	stdout := p.stdout.text()
	for _, line := range strings.Split(stdout, "\n") {
		k, v, _ := strings.Cut(line, ":")
		if strings.Trim(v, " \t0") != "" {
			t.Errorf("worker: %s %s; want no signal blocked or ignored", k, strings.TrimSpace(v))
		}
	}
	if !strings.Contains(stdout, "SigBlk") || !strings.Contains(stdout, "SigIgn") {
		t.Errorf("masks not reported: %q", stdout)
	}
}

func TestSlotrunKeepsItsPIDWhenItClearsAnInheritedMask(t *testing.T) {
	t.Parallel()
	p := startBlocked(t, blockedByParent, "", "-n", "1", "--", workerBin)
	f := p.waitStdout(`^ready id=0 `)
	// The process the test started is slotrun: sigblock exec'd it, and
	// slotrun's own exec to clear the mask kept the PID too.
	if ppid := f.int(t, "ppid"); ppid != p.pid() {
		t.Errorf("the worker's parent is pid %d; want %d, the process the test started", ppid, p.pid())
	}
	if pid := readPIDFile(t, p.dir); pid != p.pid() {
		t.Errorf("PID file says %d; want %d", pid, p.pid())
	}
	if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", p.pid())); exe != slotrunBin {
		t.Errorf("pid %d runs %s; want slotrun", p.pid(), exe)
	}
	p.signal(syscall.SIGTERM)
	if code := p.wait(); code != 0 {
		t.Errorf("exit code %d after TERM; want 0", code)
	}
}

func TestForwardedUSR1ReachesAWorkerThoughSlotrunsParentBlockedIt(t *testing.T) {
	t.Parallel()
	// sleep leaves its mask alone and dies of USR1, unless it is blocked:
	// then the signal stays pending for ever.
	p := startBlocked(t, "USR1", "", "-n", "1", "--restart", "never", "--", "sleep", "1000")
	p.waitStderr(`slot-0: worker started`)
	p.signal(syscall.SIGUSR1)
	p.waitStderr(`slot-0: worker exited: .*signal=USR1`)
	if code := p.wait(); code != 128+int(syscall.SIGUSR1) {
		t.Errorf("exit code %d; want %d, the worker's death by USR1", code, 128+int(syscall.SIGUSR1))
	}
}

// slotrun clears an inherited mask by exec'ing itself again through
// /proc/self/exe; it keeps its name all the same (`pgrep slotrun`, `ps -C
// slotrun`), on every thread, and the variable that carries the name
// across does not reach the workers.
func TestSlotrunKeepsItsNameWhenItClearsAnInheritedMask(t *testing.T) {
	t.Parallel()
	p := startBlocked(t, blockedByParent, "", "-n", "1", "--restart", "never", "--",
		"/bin/sh", "-c", `echo "parent=$(cat /proc/$PPID/task/*/comm | sort -u | tr '\n' ' ')"; env`)
	if code := p.wait(); code != 0 {
		t.Fatalf("exit code %d; want 0", code)
	}
	p.waitEOF()
	stdout := p.stdout.text()
	// Every thread of it: `top -H` and `ps -L` show them.
	if want := "parent=" + filepath.Base(slotrunBin) + " \n"; !strings.Contains(stdout, want) {
		t.Errorf("the worker's parent's threads are not all named %q:\n%s", filepath.Base(slotrunBin), stdout)
	}
	if strings.Contains(stdout, "SLOTRUN_SIGSTATE") {
		t.Errorf("the worker's environment has slotrun's own variable:\n%s", stdout)
	}
}
