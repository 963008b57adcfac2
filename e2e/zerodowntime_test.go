package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The zero-downtime proof: hey, a real load generator, sends several
// hundred requests a second, each on a new connection and without retries,
// while workers of examples/server are restarted or killed.

// load is a running hey.
type load struct {
	t   *testing.T
	cmd *exec.Cmd
	out bytes.Buffer
}

// loadResult counts what hey saw.
type loadResult struct {
	ok, notOK                 int // 200 responses; other status codes
	refused, reset, eof, more int // errors by kind
	errors                    string
}

func (r loadResult) failed() int { return r.notOK + r.refused + r.reset + r.eof + r.more }

func (r loadResult) String() string {
	return fmt.Sprintf("%d ok, %d non-200, %d refused, %d reset, %d EOF, %d other", r.ok, r.notOK, r.refused, r.reset, r.eof, r.more)
}

// startLoad runs hey against addr: 16 clients at 30 requests a second
// each, a new connection per request, until stop.
func startLoad(t *testing.T, addr string) *load {
	t.Helper()
	return startLoadOf(t, addr, 16, 30)
}

// startLoadOf runs hey with clients clients at qps requests a second each
// (0: as fast as they can), a new connection per request, until stop.
func startLoadOf(t *testing.T, addr string, clients, qps int) *load {
	t.Helper()
	hey, err := exec.LookPath("hey")
	if err != nil {
		t.Skip("hey is not installed (.ci/run installs it)")
	}
	l := &load{t: t, cmd: exec.Command(hey, "-z", "2m", "-c", strconv.Itoa(clients), "-q", strconv.Itoa(qps), "-t", "20", "-disable-keepalive", "http://"+addr+"/")}
	l.cmd.Stdout, l.cmd.Stderr = &l.out, &l.out
	if err := l.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.cmd.Process.Kill() })
	return l
}

var (
	statusLine = regexp.MustCompile(`^\s+\[(\d+)\]\s+(\d+) responses`)
	errorLine  = regexp.MustCompile(`^\s+\[(\d+)\]\s+(.*)$`)
)

// stop ends the load (hey reports on SIGINT) and counts the outcome.
func (l *load) stop() loadResult {
	l.t.Helper()
	l.cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- l.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(waitFor):
		l.t.Fatalf("hey did not stop within %s", waitFor)
	}
	var r loadResult
	section := ""
	for _, line := range strings.Split(l.out.String(), "\n") {
		switch {
		case strings.HasPrefix(line, "Status code distribution"), strings.HasPrefix(line, "Error distribution"):
			section = line
		case strings.HasPrefix(section, "Status") && statusLine.MatchString(line):
			m := statusLine.FindStringSubmatch(line)
			n, _ := strconv.Atoi(m[2])
			if m[1] == "200" {
				r.ok += n
			} else {
				r.notOK += n
			}
		case strings.HasPrefix(section, "Error") && errorLine.MatchString(line):
			m := errorLine.FindStringSubmatch(line)
			n, _ := strconv.Atoi(m[1])
			r.errors += line + "\n"
			switch msg := m[2]; {
			case strings.Contains(msg, "connection refused"):
				r.refused += n
			case strings.Contains(msg, "reset by peer"):
				r.reset += n
			case strings.HasSuffix(msg, "EOF"):
				r.eof += n
			default:
				r.more += n
			}
		}
	}
	if r.ok == 0 {
		l.t.Fatalf("hey got no answer at all:\n%s", l.out.String())
	}
	return r
}

// servingPIDs returns, by id, the pids of the example servers that said
// `serving` on stdout, in order.
func servingPIDs(p *proc) map[int][]int {
	pids := map[int][]int{}
	for _, line := range strings.Split(p.stdout.text(), "\n") {
		if strings.HasPrefix(line, "serving ") {
			f := parseFields(line)
			id, pid := f.int(p.t, "id"), f.int(p.t, "pid")
			pids[id] = append(pids[id], pid)
		}
	}
	return pids
}

// rollingRestarts sends HUP (restart) n times, one after another, each
// once the last rolling restart is done.
func rollingRestarts(p *proc, n int) {
	p.t.Helper()
	lines, _, _ := p.stderr.snapshot()
	from := len(lines)
	for range n {
		p.signal(syscall.SIGHUP)
		from, _ = waitLine(p.t, p.stderr, from, `rolling restart (done|halted)`)
		from++
	}
}

func TestRollingRestartsUnderLoadLoseNoRequest(t *testing.T) {
	t.Parallel()
	p := start(t, "-n", "4", "--listen", "http=tcp://127.0.0.1:0", "--ready", "notify", "--signal", "HUP=restart", "--", serverBin, "-work", "20ms")
	addr := p.listening("http")
	p.waitReady4()
	first := servingPIDs(p)

	l := startLoadOf(t, addr, 64, 0)   // the same load as the negative control below
	time.Sleep(300 * time.Millisecond) // load before the first restart, not a synchronisation
	rollingRestarts(p, 8)
	time.Sleep(300 * time.Millisecond) // and after the last
	r := l.stop()
	t.Logf("8 rolling restarts of 4 workers under load: %s", r)
	if r.failed() != 0 {
		t.Errorf("requests failed during rolling restarts: %s\n%s", r, r.errors)
	}
	if strings.Contains(p.stderr.text(), "halted") {
		t.Errorf("a rolling restart halted")
	}
	last := servingPIDs(p)
	for id := range 4 {
		if len(last[id]) != 9 {
			t.Errorf("id %d was served by %d workers; want 9 (the first and one per rolling restart)", id, len(last[id]))
			continue
		}
		if last[id][8] == first[id][0] {
			t.Errorf("id %d: worker %d was not replaced", id, first[id][0])
		}
		// The slot of each worker is its id: slotrun started it there.
		for _, pid := range last[id] {
			if !strings.Contains(p.stderr.text(), fmt.Sprintf("slot-%d: worker started: id=%d slot=%d pid=%d", id, id, id, pid)) {
				t.Errorf("worker %d said id %d but slotrun did not start it in slot %d", pid, id, id)
			}
		}
	}
	if len(last) != 4 {
		t.Errorf("ids served: %v; want 0 to 3", last)
	}
}

// waitReady4 waits until four servers are ready and said so on stdout.
func (p *proc) waitReady4() {
	p.t.Helper()
	for slot := range 4 {
		p.waitStderr(fmt.Sprintf(`worker ready: id=\d+ slot=%d `, slot))
		p.waitStdout(fmt.Sprintf(`^serving id=%d `, slot))
	}
}

// TestKilledWorkersRefuseNoConnection: one worker is killed with SIGKILL
// every 200 ms for 10 s. Requests in flight on a killed worker may fail;
// no connection is ever refused, since the socket never closes.
func TestKilledWorkersRefuseNoConnection(t *testing.T) {
	t.Parallel()
	p := start(t, "-n", "4", "--listen", "http=tcp://127.0.0.1:0", "--ready", "notify", "--min-uptime", "100ms", "--", serverBin, "-work", "20ms")
	addr := p.listening("http")
	p.waitReady4()

	l := startLoad(t, addr)
	kills := 0
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); <-tick.C {
		pids := servingPIDs(p)[kills%4]
		if err := syscall.Kill(pids[len(pids)-1], syscall.SIGKILL); err == nil {
			kills++
		}
	}
	r := l.stop()
	// Requests in flight on a killed worker fail as the kernel closes their
	// connections (EOF, a reset, or on a loaded machine some other word for
	// it); they are counted, not failed on.
	t.Logf("%d kill -9 under load: %s\n%s", kills, r, r.errors)
	if r.refused != 0 {
		t.Errorf("%d connections refused; want none\n%s", r.refused, r.errors)
	}
	if r.notOK != 0 {
		t.Errorf("answers other than 200: %s\n%s", r, r.errors)
	}
}

// TestNeverReadyWorkerHaltsTheRollingRestart: the new worker of slot 0
// never says READY=1; the rolling restart halts within --ready-timeout
// and the old workers of slots 1 to 3 keep serving, with no request lost.
func TestNeverReadyWorkerHaltsTheRollingRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	script := dir + "/server.sh"
	// Once the file "broken" exists, a new worker holds the sockets and
	// never becomes ready (nor accepts).
	writeExecutable(t, script, "#!/bin/sh\n[ -e broken ] && exec sleep 600\nexec "+serverBin+" -work 20ms\n")
	p := startIn(t, dir, "-n", "4", "--listen", "http=tcp://127.0.0.1:0", "--ready", "notify", "--ready-timeout", "1s",
		"--signal", "HUP=restart", "--", script)
	addr := p.listening("http")
	p.waitReady4()
	old := servingPIDs(p)

	l := startLoad(t, addr)
	writeExecutable(t, dir+"/broken", "")
	time.Sleep(300 * time.Millisecond) // load before the restart, not a synchronisation
	p.signal(syscall.SIGHUP)
	f := p.waitStderr(`rolling restart halted: the new worker was not ready within 1s`)
	time.Sleep(300 * time.Millisecond) // and after the halt
	r := l.stop()
	t.Logf("a halted rolling restart under load: %s", r)
	if f["slot"] != "0" || f["not_restarted"] != "3" {
		t.Errorf("halt: %v; want slot 0 with 3 slots not restarted", f)
	}
	if r.failed() != 0 {
		t.Errorf("requests failed: %s\n%s", r, r.errors)
	}
	now := servingPIDs(p)
	for id := 1; id < 4; id++ {
		if len(now[id]) != 1 || now[id][0] != old[id][0] || !alive(old[id][0]) {
			t.Errorf("id %d: workers %v; want the old worker %d still serving", id, now[id], old[id][0])
		}
	}
}

// TestReusePortWithoutListenLosesRequests is the negative control: the
// same servers and load, but each worker binds its own SO_REUSEPORT socket
// and slotrun holds none. A worker's socket closes with it and the
// connections in its queue are reset. Both this and the rolling-restart
// test run 64 clients unthrottled (on loopback, bounded in time), so that
// sockets have connections queued when they close on any machine. Rounds
// of 8 rolling restarts are repeated (at most 5) until some request fails;
// the test fails if none does, since then the scenario above proves
// nothing.
func TestReusePortWithoutListenLosesRequests(t *testing.T) {
	t.Parallel()
	addr := freePort(t)
	p := start(t, "-n", "4", "--ready", "notify", "--signal", "HUP=restart", "--", serverBin, "-work", "20ms", "-reuseport", addr)
	p.waitReady4()
	total := loadResult{}
	for round := 1; round <= 5 && total.failed() == 0; round++ {
		l := startLoadOf(t, addr, 64, 0)
		time.Sleep(300 * time.Millisecond) // load before the restarts, not a synchronisation
		rollingRestarts(p, 8)
		time.Sleep(300 * time.Millisecond) // and after them
		r := l.stop()
		t.Logf("round %d, 8 rolling restarts with SO_REUSEPORT sockets and no --listen: %s", round, r)
		total.ok += r.ok
		total.notOK += r.notOK
		total.refused += r.refused
		total.reset += r.reset
		total.eof += r.eof
		total.more += r.more
	}
	if total.failed() == 0 {
		t.Errorf("no request failed without --listen: the control shows nothing (%s)", total)
	}
}

func writeExecutable(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o755); err != nil {
		t.Fatal(err)
	}
}
