// Command worker is the tiny program that every supervisor in the bench runs.
//
// It reports to the bench by writing one line per event to the FIFO named by
// BENCH_REPORT, stamped with its own CLOCK_MONOTONIC reading (a clock shared
// by every process on the machine), so the bench measures when the worker
// did something, not when the bench got round to reading it. The FIFO is
// not stdout on purpose: supervisord and PM2 copy a worker's stdout through
// their own event loops, and the bench measures supervision, not log
// plumbing.
//
//	start PID SLOT NS   as soon as main runs
//	ready PID SLOT NS   just before it sends READY=1 (with NOTIFY_SOCKET)
//	hup PID SLOT NS     on every SIGHUP
//
// It takes no arguments, so a service directory's run file can be a symlink
// to it (s6, runit): the environment says everything.
//
//	BENCH_REPORT     the FIFO to write to (required)
//	BENCH_MODE       "serve" (default): wait for signals; "crash": exit 1
//	                 right after the start line, unless BENCH_CALM exists
//	BENCH_CALM       a path; once it exists, crash-mode workers stay up
//	BENCH_NOTIFY_FD  a descriptor to write s6's readiness newline to
//
// SIGTERM and SIGINT end it at once with code 0: a prompt worker.
package main

import (
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

func main() {
	report, err := os.OpenFile(os.Getenv("BENCH_REPORT"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		os.Stderr.WriteString("worker: " + err.Error() + "\n")
		os.Exit(2)
	}
	// Catch signals before saying we are up: a HUP sent right after the
	// start line must be reported, not kill us.
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)

	pid := os.Getpid()
	slot := slotName()
	emit(report, "start", pid, slot)
	notifyReady(os.Getenv("BENCH_NOTIFY_FD"))
	if addr := os.Getenv("NOTIFY_SOCKET"); addr != "" {
		emit(report, "ready", pid, slot)
		sdNotifyReady(addr)
	}

	if os.Getenv("BENCH_MODE") == "crash" && !exists(os.Getenv("BENCH_CALM")) {
		os.Exit(1)
	}
	for sig := range sigs {
		if sig != syscall.SIGHUP {
			os.Exit(0)
		}
		emit(report, "hup", pid, slot)
	}
}

// emit writes one event line in a single write(2): lines of different
// workers never mix (a FIFO write of at most PIPE_BUF bytes is atomic).
func emit(w *os.File, event string, pid int, slot string) {
	b := make([]byte, 0, 64)
	b = append(b, event...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(pid), 10)
	b = append(b, ' ')
	b = append(b, slot...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, monotonic(), 10)
	b = append(b, '\n')
	w.Write(b)
}

func monotonic() int64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

// slotName says which of the supervisor's N places this worker fills, so the
// bench can match a replacement to the worker it replaced. Each tool names
// it its own way; s6 and runit run a service in its own directory.
func slotName() string {
	for _, key := range []string{"COMET_PROCESS_ID", "SUPERVISOR_PROCESS_NAME", "NODE_APP_INSTANCE"} {
		if v := os.Getenv(key); v != "" {
			return v
		}
	}
	if wd, err := os.Getwd(); err == nil && filepath.Base(wd) != "/" {
		return filepath.Base(wd)
	}
	return "-"
}

// notifyReady tells s6-supervise the service is ready: a newline on the
// descriptor its notification-fd file names, which is then closed.
func notifyReady(fd string) {
	n, err := strconv.Atoi(fd)
	if fd == "" || err != nil {
		return
	}
	unix.Write(n, []byte("\n"))
	unix.Close(n)
}

// sdNotifyReady sends READY=1 to a notify socket (sd_notify(3)).
func sdNotifyReady(addr string) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return
	}
	unix.Sendto(fd, []byte("READY=1"), 0, &unix.SockaddrUnix{Name: addr})
	unix.Close(fd)
}

func exists(path string) bool {
	if path == "" {
		return false
	}
	_, err := os.Stat(path)
	return err == nil
}
