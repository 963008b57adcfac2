// Command sdworker is the e2e tests' worker for sockets and readiness. It
// takes its sockets with go-systemd's activation package and reports
// readiness with go-systemd's daemon.SdNotify: real clients of the
// protocols, which ignore sockets whose LISTEN_PID is not their own pid.
//
// It prints `sockets id=N pid=P names=a,b ...` once, serves HTTP on the
// socket named by -serve (answering `id=N pid=P`), and says READY=1 per
// -ready. Lines start with an event word and hold key=value pairs.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/activation"
	"github.com/coreos/go-systemd/v22/daemon"
)

func main() {
	var (
		serve      = flag.String("serve", "", "serve HTTP on the socket with this name")
		ready      = flag.String("ready", "now", "when to say READY=1: now, never, or a duration")
		thenExit   = flag.Bool("ready-then-exit", false, "exit 0 right after READY=1")
		stopping   = flag.Bool("stopping", false, "after READY=1, say STOPPING=1 and stay")
		status     = flag.String("status", "", "send STATUS= with this text after READY=1")
		watchdog   = flag.Duration("watchdog-every", 0, "send WATCHDOG=1 this often (0: never)")
		stopPinged = flag.Duration("watchdog-stop-after", 0, "stop sending WATCHDOG=1 after this long")
		reloadHUP  = flag.Bool("reload-on-hup", false, "on HUP: RELOADING=1, then READY=1 after -reload-delay")
		reloadFor  = flag.Duration("reload-delay", 0, "how long a reload takes")
		garbage    = flag.Bool("garbage", false, "before READY=1, send malformed and oversized notifications")
	)
	flag.Parse()
	id := os.Getenv("COMET_PROCESS_ID")
	pid := os.Getpid()

	env := fmt.Sprintf("listen_pid=%s listen_fds=%s listen_fdnames=%s notify_socket=%s watchdog_usec=%s",
		orDash(os.Getenv("LISTEN_PID")), orDash(os.Getenv("LISTEN_FDS")), orDash(os.Getenv("LISTEN_FDNAMES")),
		orDash(os.Getenv("NOTIFY_SOCKET")), orDash(os.Getenv("WATCHDOG_USEC")))
	// Files(false) keeps the variables for the report above; it returns
	// nothing unless LISTEN_PID is this process.
	files := activation.Files(false)
	var names []string
	for _, f := range files {
		names = append(names, f.Name())
	}
	fmt.Printf("sockets id=%s pid=%d count=%d names=%s %s\n", id, pid, len(files), orDash(strings.Join(names, ",")), env)

	var srv *http.Server
	if *serve != "" {
		i := slices.Index(names, *serve)
		if i < 0 {
			fmt.Printf("error id=%s pid=%d no socket named %s\n", id, pid, *serve)
			os.Exit(3)
		}
		ln, err := net.FileListener(files[i])
		if err != nil {
			fmt.Printf("error id=%s pid=%d listener: %v\n", id, pid, err)
			os.Exit(3)
		}
		srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "id=%s pid=%d\n", id, pid)
		})}
		go srv.Serve(ln)
	}

	notify := func(state string) {
		if ok, err := daemon.SdNotify(false, state); !ok || err != nil {
			fmt.Printf("error id=%s pid=%d sd_notify %q: sent=%v err=%v\n", id, pid, state, ok, err)
		}
	}
	sayReady := func() {
		if *garbage {
			sendRaw("no equals sign here")
			sendRaw("READY=1\x00")
			sendRaw("READY=1\n" + strings.Repeat("X", 5000))
			fmt.Printf("garbage-sent id=%s pid=%d\n", id, pid)
		}
		notify(daemon.SdNotifyReady)
		fmt.Printf("notified id=%s pid=%d\n", id, pid)
		if *status != "" {
			notify("STATUS=" + *status)
		}
		if *thenExit {
			os.Exit(0)
		}
		if *stopping {
			notify(daemon.SdNotifyStopping)
			fmt.Printf("said-stopping id=%s pid=%d\n", id, pid)
		}
	}
	switch *ready {
	case "now":
		sayReady()
	case "never":
	default:
		d, err := time.ParseDuration(*ready)
		if err != nil {
			fmt.Fprintln(os.Stderr, "sdworker: -ready:", err)
			os.Exit(2)
		}
		time.AfterFunc(d, sayReady)
	}
	if *watchdog > 0 {
		go func() {
			start := time.Now()
			for *stopPinged == 0 || time.Since(start) < *stopPinged {
				notify(daemon.SdNotifyWatchdog)
				time.Sleep(*watchdog)
			}
			fmt.Printf("watchdog-silent id=%s pid=%d\n", id, pid)
		}()
	}

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGABRT)
	for sig := range sigs {
		fmt.Printf("signal id=%s pid=%d sig=%v\n", id, pid, sig)
		switch {
		case sig == syscall.SIGHUP && *reloadHUP:
			notify(daemon.SdNotifyReloading)
			time.AfterFunc(*reloadFor, func() { notify(daemon.SdNotifyReady) })
		case sig == syscall.SIGABRT:
			os.Exit(134)
		case sig == syscall.SIGTERM || sig == syscall.SIGINT:
			if srv != nil {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				srv.Shutdown(ctx)
				cancel()
			}
			return
		}
	}
}

// sendRaw sends one datagram to NOTIFY_SOCKET as it is, for what
// daemon.SdNotify would never send.
func sendRaw(msg string) {
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: os.Getenv("NOTIFY_SOCKET"), Net: "unixgram"})
	if err != nil {
		fmt.Println("error sendRaw:", err)
		return
	}
	defer conn.Close()
	conn.Write([]byte(msg))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
