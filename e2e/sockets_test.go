package e2e

import (
	"fmt"
	"io"
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

// listening waits for slotrun's "listening" line of the socket called name
// and returns its address, as host:port for tcp/udp.
func (p *proc) listening(name string) string {
	p.t.Helper()
	f := p.waitStderr(`listening: name=` + name + ` `)
	addr := f["address"]
	_, hostPort, _ := strings.Cut(addr, "://")
	return hostPort
}

// get makes one HTTP request on a fresh connection and returns the body.
func get(t *testing.T, addr string) string {
	t.Helper()
	client := &http.Client{Timeout: waitFor, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get("http://" + addr + "/")
	if err != nil {
		t.Fatalf("GET %s: %v", addr, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", addr, err)
	}
	return strings.TrimSpace(string(body))
}

func uniqueName(t *testing.T) string {
	return fmt.Sprintf("slotrun-e2e-%d-%d", os.Getpid(), time.Now().UnixNano())
}

// TestWorkersGetTheSocketsByActivation: every worker, and its replacement
// after a crash, finds the sockets with go-systemd's activation package,
// which ignores them unless LISTEN_PID is the worker's own pid; names and
// order are the --listen order; the sockets serve.
func TestWorkersGetTheSocketsByActivation(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sockFile := filepath.Join(dir, "api.sock")
	p := startIn(t, dir, "-n", "2",
		"--listen", "http=tcp://127.0.0.1:0",
		"--listen", "admin=unix://@"+uniqueName(t),
		"--listen", "udp://127.0.0.1:0",
		"--listen", "file=unix://"+sockFile+"?mode=0600&backlog=16",
		"--", sdworkerBin, "-serve", "http")
	addr := p.listening("http")
	pids := map[string]int{}
	for _, id := range []string{"0", "1"} {
		f := p.waitStdout(`^sockets id=` + id + ` `)
		pid := f.int(t, "pid")
		pids[id] = pid
		if f["count"] != "4" || f["names"] != "http,admin,listen2,file" || f["listen_pid"] != fmt.Sprint(pid) {
			t.Errorf("worker %s got count=%s names=%s listen_pid=%s; want 4 sockets http,admin,listen2,file and its own pid %d",
				id, f["count"], f["names"], f["listen_pid"], pid)
		}
	}
	if body := get(t, addr); !strings.HasPrefix(body, "id=") {
		t.Errorf("GET answered %q", body)
	}
	fi, err := os.Stat(sockFile)
	if err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket file: %v, mode %v; want a socket with mode 0600", err, fi.Mode())
	}

	// A replacement gets the same sockets, with its own pid.
	from := p.lineCount()
	syscall.Kill(pids["1"], syscall.SIGKILL)
	_, f := waitLine(t, p.stdout, from, `^sockets id=1 `)
	if f["count"] != "4" || f["listen_pid"] != f["pid"] || f["pid"] == fmt.Sprint(pids["1"]) {
		t.Errorf("replacement of worker 1: %v; want 4 sockets with LISTEN_PID its own new pid", f)
	}
	if body := get(t, addr); !strings.HasPrefix(body, "id=") {
		t.Errorf("GET after the restart answered %q", body)
	}

	p.signal(syscall.SIGTERM)
	if code := p.wait(); code != 0 {
		t.Errorf("exit code %d; want 0", code)
	}
	if _, err := os.Lstat(sockFile); !os.IsNotExist(err) {
		t.Errorf("socket file still there after the stop: %v", err)
	}
}

// TestSdListenFdsFromAShellScript checks sd_listen_fds(3)'s contract
// from a plain shell worker: LISTEN_PID is the script's own $$, and fds 3
// to 2+LISTEN_FDS are sockets, named in order.
func TestSdListenFdsFromAShellScript(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	script := filepath.Join(dir, "w.sh")
	os.WriteFile(script, []byte(`#!/bin/sh
fds=
i=3
while [ $i -lt $((3 + LISTEN_FDS)) ]; do
	fds="$fds$(readlink /proc/$$/fd/$i | cut -d: -f1),"
	i=$((i + 1))
done
echo "shell id=$COMET_PROCESS_ID self=$$ listen_pid=$LISTEN_PID n=$LISTEN_FDS names=$LISTEN_FDNAMES fds=$fds"
exec sleep 600
`), 0o755)
	p := startIn(t, dir, "-n", "2", "--listen", "a=tcp://127.0.0.1:0", "--listen", "b=tcp6://[::1]:0",
		"--listen", "c=unix://@"+uniqueName(t), "--", script)
	for _, id := range []string{"0", "1"} {
		f := p.waitStdout(`^shell id=` + id + ` `)
		if f["listen_pid"] != f["self"] || f["n"] != "3" || f["names"] != "a:b:c" || f["fds"] != "socket,socket,socket," {
			t.Errorf("worker %s: %v; want LISTEN_PID=$$, 3 sockets at fds 3-5 named a:b:c", id, f)
		}
	}
}

// TestSocketActivationOfSlotrunItself: under systemd-socket-activate the
// socket named http is adopted instead of bound (the --listen URL is not
// even bindable), and the workers serve on it.
func TestSocketActivationOfSlotrunItself(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("systemd-socket-activate"); err != nil {
		t.Skip("systemd-socket-activate is not installed (.ci/run installs it)")
	}
	addr := freePort(t)
	cmd := exec.Command("systemd-socket-activate", "-l", addr, "--fdname=http",
		slotrunBin, "-n", "2", "--listen", "http=tcp://192.0.2.1:1", "--", sdworkerBin, "-serve", "http")
	p := startCmd(t, t.TempDir(), cmd, true)
	p.waitStderr(`^Listening on`)
	// systemd-socket-activate execs slotrun on the first connection; that
	// connection waits in the socket's queue and is answered by a worker.
	if body := get(t, addr); !strings.HasPrefix(body, "id=") {
		t.Errorf("GET answered %q", body)
	}
	f := p.waitStderr(`listening: name=http `)
	if f["inherited"] != "true" || f["address"] != "tcp://"+addr {
		t.Errorf("listening line %v; want the inherited socket at %s", f, addr)
	}
	p.signal(syscall.SIGTERM)
	if code := p.wait(); code != 0 {
		t.Errorf("exit code %d; want 0", code)
	}
}

// TestForeignActivationVariablesAreIgnored: LISTEN_* meant for another
// process (LISTEN_PID not slotrun's), or garbage, are ignored as
// sd_listen_fds would ignore them, logged at debug, and never reach a
// worker.
func TestForeignActivationVariablesAreIgnored(t *testing.T) {
	t.Parallel()
	for _, env := range [][]string{
		{"LISTEN_PID=1", "LISTEN_FDS=2", "LISTEN_FDNAMES=a:b"},
		{"LISTEN_PID=garbage", "LISTEN_FDS=1"},
		{"LISTEN_FDS=99999999999999999999"},
	} {
		t.Run(env[0], func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(slotrunBin, "-n", "1", "--log-level", "debug", "--", sdworkerBin)
			cmd.Env = append(os.Environ(), env...)
			p := startCmd(t, t.TempDir(), cmd, true)
			p.waitStderr(`ignoring socket activation variables`)
			f := p.waitStdout(`^sockets id=0 `)
			if f["count"] != "0" || f["listen_pid"] != "-" || f["listen_fds"] != "-" || f["listen_fdnames"] != "-" {
				t.Errorf("worker got %v; want no sockets and no LISTEN_* variables", f)
			}
		})
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestBadListenIsRefused: a bad --listen is a usage error (exit 2) that
// names the flag; nothing starts.
func TestBadListenIsRefused(t *testing.T) {
	t.Parallel()
	w := workerBin
	long := "unix:///tmp/" + strings.Repeat("x", 100) + ".sock"
	for _, tc := range []struct {
		name  string
		args  []string
		names []string
	}{
		{"no scheme", []string{"--listen", "localhost:8080"}, []string{"--listen localhost:8080", "not a socket URL"}},
		{"unknown scheme", []string{"--listen", "sctp://:80"}, []string{"--listen sctp://:80", `unknown scheme "sctp"`}},
		{"bad port", []string{"--listen", "tcp://:99999"}, []string{"--listen tcp://:99999", "port"}},
		{"no port", []string{"--listen", "tcp://127.0.0.1"}, []string{"--listen tcp://127.0.0.1", "HOST:PORT"}},
		{"bad backlog", []string{"--listen", "tcp://:80?backlog=-1"}, []string{"--listen tcp://:80?backlog=-1", "backlog=-1"}},
		{"backlog on udp", []string{"--listen", "udp://:53?backlog=5"}, []string{"--listen udp://:53?backlog=5", "backlog"}},
		{"bad mode", []string{"--listen", "unix:///tmp/x.sock?mode=999"}, []string{"--listen unix:///tmp/x.sock?mode=999", "mode=999"}},
		{"mode on tcp", []string{"--listen", "tcp://:80?mode=0600"}, []string{"--listen tcp://:80?mode=0600", "mode"}},
		{"unknown option", []string{"--listen", "tcp://:80?reuseport=1"}, []string{"--listen tcp://:80?reuseport=1", `"reuseport"`}},
		{"path too long", []string{"--listen", long}, []string{"--listen " + long, "108"}},
		{"bad name", []string{"--listen", "a:b=tcp://:80"}, []string{"--listen a:b=tcp://:80", "name"}},
		{"duplicate name", []string{"--listen", "x=tcp://:80", "--listen", "x=tcp://:81"}, []string{"--listen x=tcp://:81", `"x"`, "unique"}},
		{"default name taken", []string{"--listen", "tcp://:80", "--listen", "listen0=tcp://:81"}, []string{"listen0", "unique"}},
		{"watchdog without notify", []string{"--watchdog", "1s"}, []string{"--watchdog 1s", "--ready notify"}},
		{"bad ready mode", []string{"--ready", "systemd"}, []string{"--ready", "systemd"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			checkRefusal(t, 2, tc.names, append(tc.args, "--", w)...)
		})
	}
}

// TestBindFailureStopsBeforeAnyWorker: an address in use, or one slotrun
// may not bind, ends slotrun with exit 1 and one line naming the flag;
// no worker starts and no socket file or PID file stays.
func TestBindFailureStopsBeforeAnyWorker(t *testing.T) {
	t.Parallel()
	// Closed by cleanup, after the parallel subtests (a defer would run first).
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { busy.Close() })
	dir := t.TempDir()
	live := filepath.Join(dir, "live.sock")
	liveLn, err := net.Listen("unix", live)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { liveLn.Close() })
	notSocket := filepath.Join(dir, "plain")
	os.WriteFile(notSocket, nil, 0o644)
	for _, tc := range []struct {
		name  string
		args  []string
		names []string
	}{
		{"port in use", []string{"--listen", "ok=tcp://127.0.0.1:0", "--listen", "http=tcp://" + busy.Addr().String()},
			[]string{"--listen http=tcp://" + busy.Addr().String(), "address already in use"}},
		{"unix socket in use", []string{"--listen", "unix://" + live}, []string{"--listen unix://" + live, "address already in use"}},
		{"not a socket", []string{"--listen", "unix://" + notSocket}, []string{"--listen unix://" + notSocket, "not a socket"}},
		{"address not here", []string{"--listen", "tcp://192.0.2.1:8080"}, []string{"--listen tcp://192.0.2.1:8080", "not one of this host's"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			checkStartFailure(t, tc.names, append(tc.args, "--", workerBin)...)
		})
	}
	if os.Geteuid() == 0 {
		t.Run("permission denied", func(t *testing.T) {
			t.Parallel()
			if b, _ := os.ReadFile("/proc/sys/net/ipv4/ip_unprivileged_port_start"); strings.TrimSpace(string(b)) == "0" {
				t.Skip("every port is unprivileged here")
			}
			// As nobody, in a directory it may write to, with a binary it
			// may run.
			work, err := os.MkdirTemp("", "slotrun-e2e-nobody-")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(work) })
			os.Chmod(work, 0o777)
			os.Chmod(filepath.Dir(slotrunBin), 0o755)
			cmd := exec.Command(slotrunBin, "--listen", "web=tcp://127.0.0.1:80", "--", "/bin/true")
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
			p := startCmd(t, work, cmd, true)
			if code := p.wait(); code != 1 {
				t.Errorf("exit code %d; want 1", code)
			}
			p.waitEOF()
			stderr := strings.TrimSpace(p.stderr.text())
			if strings.Count(stderr, "\n") != 0 || !strings.Contains(stderr, "--listen web=tcp://127.0.0.1:80") || !strings.Contains(stderr, "permission denied") {
				t.Errorf("stderr %q; want one line naming --listen web=... and permission denied", stderr)
			}
		})
	}
}

// checkStartFailure runs slotrun and checks that it failed to start: exit
// 1, one line naming names, no worker output, nothing left but an empty
// .pid directory (as for every start failure).
func checkStartFailure(t *testing.T, names []string, args ...string) {
	t.Helper()
	dir := t.TempDir()
	code, stdout, stderr := runOnce(t, dir, args...)
	if code != 1 {
		t.Errorf("exit code %d; want 1", code)
	}
	stderr = strings.TrimSpace(stderr)
	if strings.Count(stderr, "\n") != 0 || !strings.HasPrefix(stderr, "slotrun: ") {
		t.Errorf("stderr %q; want one line starting `slotrun: `", stderr)
	}
	checkNames(t, stderr, names)
	if stdout != "" {
		t.Errorf("stdout %q; want nothing (no worker started)", stdout)
	}
	filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			t.Errorf("left behind: %s", path)
		}
		return nil
	})
}

// TestWorkerRemovedWhileRunningWithSockets: a worker that gets sockets is
// started as any other (the exec error comes back to slotrun): a command
// that vanished since start is a failed start, retried with the backoff.
func TestWorkerRemovedWhileRunningWithSockets(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	script := filepath.Join(dir, "w.sh")
	writeExecutable(t, script, "#!/bin/sh\necho \"shell pid=$$ listen_pid=$LISTEN_PID\"\nexec sleep 600\n")
	p := startIn(t, dir, "-n", "1", "--listen", "tcp://127.0.0.1:0", "--backoff-min", "10ms", "--", script)
	pid := p.waitStdout(`^shell `).int(t, "pid")
	os.Remove(script)
	syscall.Kill(pid, syscall.SIGKILL)
	p.waitStderr(`cannot start the worker: id=\d+ slot=0 error=".*w.sh: command not found: no such file"`)
	p.waitStderr(`restart scheduled: id=\d+ slot=0 delay=10ms failures=1`)
}

// TestExecShimSetsListenPID: the fallback where the raw fork is not built
// (internal/execshim): slotrun's binary run as the shim sets LISTEN_PID to
// its own pid, which is the worker's after the exec, and execs the worker.
func TestExecShimSetsListenPID(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(slotrunBin, "/bin/sh", "sh", "-c", `echo "$LISTEN_PID $$ $LISTEN_FDS"`)
	cmd.Args[0] = "slotrun-listen-exec"
	cmd.Env = []string{"LISTEN_FDS=1", "LISTEN_PID=", "PATH=/usr/bin:/bin"}
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(out))
	if len(f) != 3 || f[0] != f[1] || f[0] != fmt.Sprint(cmd.Process.Pid) || f[2] != "1" {
		t.Errorf("shim gave %q; want LISTEN_PID = $$ = %d and LISTEN_FDS kept", out, cmd.Process.Pid)
	}
	cmd = exec.Command(slotrunBin, "/nonexistent/worker", "worker")
	cmd.Args[0] = "slotrun-listen-exec"
	cmd.Env = []string{"LISTEN_FDS=1"}
	out, err = cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != 127 || !strings.Contains(string(out), "/nonexistent/worker: cannot run it") {
		t.Errorf("shim with a missing worker: %v, %q; want exit 127 and one line", err, out)
	}
}
