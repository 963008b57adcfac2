package e2e

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// nobody is the uid and gid the tests use for another user.
const nobody = 65534

// asNobody makes cmd run as another user.
func asNobody(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
}

// openToOthers lets other users reach dir: the directories above it that
// the tests created are private.
func openToOthers(t *testing.T, dir string) {
	t.Helper()
	for d := dir; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// TestControlSocketRefusesAnotherUser: the socket file is 0600, so another
// user cannot connect; and where a looser mode let one connect, SO_PEERCRED
// refuses them, and the refusal is logged with their uid and pid.
func TestControlSocketRefusesAnotherUser(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root, to run a client as another user")
	}
	curl := lookCurl(t)
	p := start(t, "-n", "1", "--", workerBin)
	p.waitReady(0, 0)
	sock := sockPath(p.dir)
	openToOthers(t, filepath.Dir(sock))

	get := func() (string, error) {
		cmd := exec.Command(curl, "-sS", "--unix-socket", sock, "-w", "\n%{http_code}", "http://slotrun/v1/status")
		asNobody(cmd)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	// curl says only that it could not connect (exit 7): connect(2) was
	// refused with EACCES.
	if out, err := get(); err == nil || !strings.HasSuffix(out, "\n000") {
		t.Errorf("another user reached the 0600 socket: %v %q", err, out)
	}
	if err := os.Chmod(sock, 0o666); err != nil {
		t.Fatal(err)
	}
	out, err := get()
	if err != nil || !strings.HasSuffix(out, "\n403") || !strings.Contains(out, `{"error":"only uid 0 or root may use this control socket"}`) {
		t.Errorf("another user through a 0666 socket: %v %q; want 403", err, out)
	}
	p.waitStderr(fmt.Sprintf(`refused a client of another user.*uid=%d client_pid=\d+`, nobody))
	if code, _, _ := client(t, p.dir, "status"); code != 0 {
		t.Error("slotrun's own user is not served after a refusal")
	}
}

// TestControlSocketIsPrivateFromItsFirstMoment: under umask 0, the socket
// file is 0600 when it first appears, not made so by a chmod after bind.
func TestControlSocketIsPrivateFromItsFirstMoment(t *testing.T) {
	dir := t.TempDir()
	pidDir := filepath.Join(dir, ".pid")
	if err := os.Mkdir(pidDir, 0o755); err != nil {
		t.Fatal(err)
	}
	ino, err := unix.InotifyInit1(unix.IN_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(ino)
	if _, err := unix.InotifyAddWatch(ino, pidDir, unix.IN_CREATE); err != nil {
		t.Fatal(err)
	}
	modes := make(chan os.FileMode, 1)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := unix.Read(ino, buf)
			if err != nil || n <= 0 {
				return
			}
			if strings.Contains(string(buf[:n]), "slotrun.sock") {
				// Look at once, before anything could chmod it.
				if st, err := os.Lstat(filepath.Join(pidDir, "slotrun.sock")); err == nil {
					modes <- st.Mode()
				}
				return
			}
		}
	}()
	cmd := exec.Command("/bin/sh", "-c", `umask 0; exec "$@"`, "sh", slotrunBin, "-n", "1", "--", workerBin)
	p := startCmd(t, dir, cmd, true)
	select {
	case mode := <-modes:
		if mode.Type() != os.ModeSocket || mode.Perm() != 0o600 {
			t.Errorf("the control socket appeared as %v; want a socket, 0600", mode)
		}
	case <-time.After(waitFor):
		t.Fatal("the control socket never appeared")
	}
	p.waitReady(0, 0)
	if st, _ := os.Stat(filepath.Join(pidDir, "slotrun.pid")); st.Mode().Perm() == 0o600 {
		t.Log("(the PID file follows the umask, as before)")
	}
}

// TestStuckClientsDoNotHurtTheSupervisor: clients that send their request
// a byte a second, stall halfway, or send 10 MB do not keep the supervisor
// from restarting a crashed worker or answering status, and the 10 MB body
// is refused with 413.
func TestStuckClientsDoNotHurtTheSupervisor(t *testing.T) {
	p := start(t, "-n", "2", "--min-uptime", "50ms", "--", workerBin)
	pids := p.waitReady(0, 0, 1)
	sock := sockPath(p.dir)
	dial := func() net.Conn {
		c, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	// Twenty clients stalled halfway through a request body.
	for range 20 {
		c := dial()
		fmt.Fprintf(c, "POST /v1/scale HTTP/1.1\r\nHost: slotrun\r\nContent-Length: 100\r\n\r\n{\"wor")
	}
	// One that sends its headers a byte at a time, slowly.
	slow := dial()
	stopSlow := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for _, b := range []byte("GET /v1/status HTTP/1.1\r\nHost: slotrun\r\n") {
			select {
			case <-stopSlow:
				return
			case <-time.After(200 * time.Millisecond):
			}
			if _, err := slow.Write([]byte{b}); err != nil {
				return
			}
		}
	}()
	defer func() { close(stopSlow); wg.Wait() }()

	// One that sends 10 MB: refused once the bound is passed.
	big := dial()
	go func() {
		fmt.Fprintf(big, "POST /v1/scale HTTP/1.1\r\nHost: slotrun\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", 10<<20)
		chunk := make([]byte, 64<<10)
		for i := range chunk {
			chunk[i] = ' '
		}
		for range 160 {
			if _, err := big.Write(chunk); err != nil {
				return
			}
		}
	}()
	resp, err := http.ReadResponse(bufio.NewReader(big), nil)
	if err != nil {
		t.Fatalf("no answer to a 10 MB body: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("10 MB body: %s; want 413", resp.Status)
	}

	// Meanwhile the supervisor goes on: a crashed worker is replaced, and
	// status answers.
	from := p.lineCount()
	syscall.Kill(pids[0], syscall.SIGKILL)
	p.waitReady(from, 0)
	if st := statusOf(t, p.dir); st.Desired != 2 {
		t.Errorf("status while clients are stuck: %+v", st)
	}
}

// TestThousandConcurrentStatusRequestsAreAllAnswered.
func TestThousandConcurrentStatusRequestsAreAllAnswered(t *testing.T) {
	p := start(t, "-n", "2", "--", workerBin)
	p.waitReady(0, 0, 1)
	c := unixHTTP(sockPath(p.dir))
	const n = 1000
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := c.Get("http://slotrun/v1/status")
			if err != nil {
				errs <- err
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				errs <- fmt.Errorf("status %s", resp.Status)
			}
		}()
	}
	wg.Wait()
	close(errs)
	failed := 0
	for err := range errs {
		if failed < 3 {
			t.Error(err)
		}
		failed++
	}
	if failed > 0 {
		t.Errorf("%d of %d concurrent status requests failed", failed, n)
	}
}
