package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// slotrunServeTool is slotrun serving: a socket it binds once and passes
// to every worker (--listen: fork sets LISTEN_PID in the child),
// and readiness by READY=1 (--ready notify). It runs every row slotrun
// runs, so the two columns compare the cost of serving, and the rows of
// sessionServing.
func slotrunServeTool() *tool {
	t := slotrunTool()
	t.name = "slotrun-serve"
	t.serving = true
	plain := t.setup
	t.setup = func(in *instance) ([]string, []string, error) {
		argv, env, err := plain(in)
		if err != nil {
			return nil, nil, err
		}
		// Before the "--" that ends slotrun's flags.
		flags := []string{"--listen", "tcp://127.0.0.1:0", "--ready", "notify", "--signal", "HUP=restart"}
		for i, a := range argv {
			if a == "--" {
				argv = append(argv[:i:i], append(flags, argv[i:]...)...)
				break
			}
		}
		return argv, env, nil
	}
	// HUP is a rolling restart here: the HUP rows do not apply.
	t.hupCommands, t.hupDirect = nil, false
	t.noDirectHUP = "HUP is a rolling restart here (--signal HUP=restart); see the rolling row"
	t.settings = "as slotrun, plus `--listen tcp://127.0.0.1:0 --ready notify --signal HUP=restart`; the worker sends READY=1 right after its start line"
	return t
}

// managerSocket plays systemd for slotrun: a datagram socket given to it as
// NOTIFY_SOCKET, each message stamped with CLOCK_MONOTONIC when read.
type managerSocket struct {
	addr string
	conn *net.UnixConn
	msgs chan managerMsg
}

type managerMsg struct {
	at   int64
	text string
}

func listenManager() (*managerSocket, error) {
	addr := fmt.Sprintf("@slotrun-bench-%d-%d", os.Getpid(), monotonic())
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return nil, err
	}
	m := &managerSocket{addr: addr, conn: conn, msgs: make(chan managerMsg, 1024)}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				close(m.msgs)
				return
			}
			m.msgs <- managerMsg{at: monotonic(), text: string(buf[:n])}
		}
	}()
	return m, nil
}

// await returns the first message with the line want.
func (m *managerSocket) await(want string, timeout time.Duration) (managerMsg, error) {
	deadline := time.After(timeout)
	for {
		select {
		case msg, ok := <-m.msgs:
			if !ok {
				return managerMsg{}, errors.New("notify socket closed")
			}
			for _, line := range strings.Split(msg.text, "\n") {
				if line == want {
					return msg, nil
				}
			}
		case <-deadline:
			return managerMsg{}, fmt.Errorf("no %s from slotrun within %s", want, timeout)
		}
	}
}

func (m *managerSocket) close() { m.conn.Close() }

// drain drops the messages already read.
func (m *managerSocket) drain() {
	for {
		select {
		case <-m.msgs:
		default:
			return
		}
	}
}

// sessionServing: the small count of ready-notifying workers with slotrun
// reporting to a manager the bench plays. Rolling restarts are timed from
// HUP to slotrun's READY=1 that ends them; kills time a replacement's
// READY=1 to slotrun's STATUS= that counts it. Then examples/server under
// load counts the requests a rolling restart loses.
func (b *bench) sessionServing(r recorder) {
	left := []string{"rolling", "ready_status", "rolling_failed"}
	mgr, err := listenManager()
	if err != nil {
		r.fail(err, left...)
		return
	}
	defer mgr.close()
	in, err := b.launchWith(r.tool, b.cfg.small, modeServe, []string{"NOTIFY_SOCKET=" + mgr.addr})
	if err != nil {
		r.fail(err, left...)
		return
	}
	defer in.close()
	if _, err := in.awaitStarted(startTimeout); err != nil {
		r.fail(err, left...)
		return
	}
	if _, err := mgr.await("READY=1", startTimeout); err != nil {
		r.fail(err, left...)
		return
	}
	var rolls []float64
	for range max(b.cfg.hups, 1) {
		in.settle()
		t0 := monotonic()
		unix.Kill(in.sup.pid, unix.SIGHUP)
		if _, err := mgr.await("RELOADING=1", signalTimeout); err != nil {
			r.fail(err, left...)
			return
		}
		done, err := mgr.await("READY=1", signalTimeout)
		if err != nil {
			r.fail(err, left...)
			return
		}
		rolls = append(rolls, ms(done.at-t0))
	}
	r.value("rolling", median(rolls), rolls)

	want := fmt.Sprintf("STATUS=%d/%d workers ready", b.cfg.small, b.cfg.small)
	var lags []float64
	for range max(b.cfg.kills/2, 3) {
		victim, err := freshVictim(in, b.cfg.minAge)
		if err != nil {
			r.fail(err, "ready_status", "rolling_failed")
			return
		}
		mgr.drain()
		if err := unix.Kill(victim.pid, unix.SIGKILL); err != nil {
			r.fail(err, "ready_status", "rolling_failed")
			return
		}
		ready, err := awaitReady(in, victim)
		if err != nil {
			r.fail(err, "ready_status", "rolling_failed")
			return
		}
		st, err := mgr.await(want, replaceTimeout)
		if err != nil {
			r.fail(err, "ready_status", "rolling_failed")
			return
		}
		lags = append(lags, ms(st.at-ready.at))
	}
	r.value("ready_status", median(lags), lags)
	b.progress(r, "rolling restart of %d: %.1f ms; READY=1 → STATUS= %.2f ms", b.cfg.small, median(rolls), median(lags))

	if err := b.flood(r, in); err != nil {
		r.fail(err, "flood_cpu", "flood_restart", "flood_idle")
	}

	if !heyInstalled() {
		return // the row is n/a (applicable)
	}
	failed, total, err := b.rollingUnderLoad(in.dir)
	if err != nil {
		r.fail(err, "rolling_failed")
		return
	}
	r.value("rolling_failed", float64(failed), nil)
	b.progress(r, "rolling restart under load: %d of %d requests failed", failed, total)
}

// freshVictim is the oldest live worker, once every worker has run age.
// The workers' lines may trail slotrun's own messages (after a rolling
// restart the bench has heard slotrun's READY=1 before every new worker's
// start line): a worker already gone is no victim, so look again.
func freshVictim(in *instance, age time.Duration) (event, error) {
	for range 100 {
		in.settle()
		in.awaitAged(age)
		victim := oldest(in.live)
		if alive(victim.pid) {
			return victim, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return event{}, errors.New("no live worker to kill: the workers' start lines did not arrive")
}

// awaitReady waits for the READY=1 of the worker that replaces victim.
func awaitReady(in *instance, victim event) (event, error) {
	deadline := time.Now().Add(replaceTimeout)
	for {
		ev, err := in.next(deadline)
		if err != nil {
			return event{}, fmt.Errorf("slot %s: no replacement ready: %w", victim.slot, err)
		}
		if ev.kind == "ready" && ev.slot == victim.slot && ev.pid != victim.pid && ev.at > victim.at {
			return ev, nil
		}
	}
}

var (
	listeningAt = regexp.MustCompile(`listening: .*address=tcp://(\S+)`)
	heyStatus   = regexp.MustCompile(`^\s+\[(\d+)\]\s+(\d+) responses`)
	heyError    = regexp.MustCompile(`^\s+\[(\d+)\]\s+`)
)

// rollingUnderLoad runs the small count of examples/server under slotrun
// with --listen, sends hey's load (a new connection per request, about 480
// a second), makes one rolling restart, and returns the requests that did
// not get a 200, and the total. Without hey it fails with why.
func (b *bench) rollingUnderLoad(dir string) (failed, total int, err error) {
	hey, err := exec.LookPath("hey")
	if err != nil {
		return 0, 0, err
	}
	mgr, err := listenManager()
	if err != nil {
		return 0, 0, err
	}
	defer mgr.close()
	dir = filepath.Join(dir, "server")
	os.Mkdir(dir, 0o755)
	logf, err := os.Create(filepath.Join(dir, "supervisor.log"))
	if err != nil {
		return 0, 0, err
	}
	defer logf.Close()
	argv := []string{b.bin.slotrun, "-n", strconv.Itoa(b.cfg.small), "--listen", "tcp://127.0.0.1:0", "--ready", "notify",
		"--signal", "HUP=restart", "--", b.bin.server, "-work", "20ms"}
	sup, err := startProcess(argv, append(os.Environ(), "NOTIFY_SOCKET="+mgr.addr), dir, logf, true)
	if err != nil {
		return 0, 0, err
	}
	defer func() {
		unix.Kill(sup.pid, unix.SIGTERM)
		sup.finish(stopTimeout)
	}()
	if _, err := mgr.await("READY=1", startTimeout); err != nil {
		return 0, 0, err
	}
	addr, err := grepLog(logf.Name(), listeningAt)
	if err != nil {
		return 0, 0, err
	}
	var out strings.Builder
	load := exec.Command(hey, "-z", "2m", "-c", "16", "-q", "30", "-t", "20", "-disable-keepalive", "http://"+addr+"/")
	load.Stdout = &out
	if err := load.Start(); err != nil {
		return 0, 0, err
	}
	time.Sleep(300 * time.Millisecond)
	unix.Kill(sup.pid, unix.SIGHUP)
	_, err = mgr.await("RELOADING=1", signalTimeout)
	if err == nil {
		_, err = mgr.await("READY=1", signalTimeout)
	}
	time.Sleep(300 * time.Millisecond)
	load.Process.Signal(syscall.SIGINT)
	load.Wait()
	if err != nil {
		return 0, 0, err
	}
	section := ""
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "Status code"), strings.HasPrefix(line, "Error distribution"):
			section = line
		case strings.HasPrefix(section, "Status") && heyStatus.MatchString(line):
			m := heyStatus.FindStringSubmatch(line)
			n, _ := strconv.Atoi(m[2])
			total += n
			if m[1] != "200" {
				failed += n
			}
		case strings.HasPrefix(section, "Error") && heyError.MatchString(line):
			n, _ := strconv.Atoi(heyError.FindStringSubmatch(line)[1])
			total += n
			failed += n
		}
	}
	if total == 0 {
		return 0, 0, fmt.Errorf("hey reported nothing: %s", out.String())
	}
	return failed, total, nil
}

// floodCount is how many datagrams the flood sends.
const floodCount = 100_000

// flood sends floodCount READY=1 to the workers' notify socket from the
// bench, a process outside every worker's group, and measures what it cost
// slotrun and whether restarts and idleness are as before afterwards.
func (b *bench) flood(r recorder, in *instance) error {
	in.settle()
	addr, err := workerEnv(oldest(in.live).pid, "NOTIFY_SOCKET")
	if err != nil {
		return err
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	pids := in.supervisorPIDs()
	cpu0 := cpuSnapshot(pids)
	sa := &unix.SockaddrUnix{Name: addr}
	for range floodCount {
		if err := unix.Sendto(fd, []byte("READY=1"), 0, sa); err != nil {
			return fmt.Errorf("flood: %w", err)
		}
	}
	// The reader drains what the socket still holds.
	time.Sleep(500 * time.Millisecond)
	r.value("flood_cpu", float64(cpuSince(cpu0))/1e9, nil)

	kills := min(b.cfg.kills, 5)
	samples, err := b.measureRestarts(in, kills)
	if err != nil {
		return err
	}
	r.value("flood_restart", median(samples), samples)
	in.awaitAged(b.cfg.minAge) // the replacements' start-up work done
	time.Sleep(time.Second)
	before, err := switchCounter(pids).count()
	if err != nil {
		return err
	}
	time.Sleep(b.cfg.idle)
	after, err := switchCounter(pids).count()
	if err != nil {
		return err
	}
	r.value("flood_idle", float64(after-before), nil)
	b.progress(r, "flood of %d: %.3f s CPU; then restart %.2f ms, %d context switches idle", floodCount,
		float64(cpuSince(cpu0))/1e9, median(samples), after-before)
	return nil
}

// workerEnv reads one variable of a process's environment.
func workerEnv(pid int, key string) (string, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		return "", err
	}
	for _, kv := range strings.Split(string(data), "\x00") {
		if v, ok := strings.CutPrefix(kv, key+"="); ok {
			return v, nil
		}
	}
	return "", fmt.Errorf("worker %d has no %s", pid, key)
}

func heyInstalled() bool {
	_, err := exec.LookPath("hey")
	return err == nil
}

// grepLog returns the first submatch of rx in the file.
func grepLog(path string, rx *regexp.Regexp) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	if m := rx.FindSubmatch(b); m != nil {
		return string(m[1]), nil
	}
	return "", fmt.Errorf("%s has no line matching %q", path, rx)
}
