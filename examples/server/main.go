// Command server is a small HTTP server made for zero-downtime restarts
// under slotrun: it serves on the socket slotrun passes it (LISTEN_FDS),
// says READY=1 on NOTIFY_SOCKET once it serves, and on TERM finishes every
// request it accepted before it exits.
//
//	CGO_ENABLED=0 go build -o bin/ . ./examples/server
//	bin/slotrun -n 4 --listen http=tcp://:8080 --ready notify -- bin/server
//	bin/slotrun signal HUP     # with --signal HUP=restart: a rolling restart
//
// It uses only the standard library, to show the two protocols in full;
// github.com/coreos/go-systemd's activation and daemon packages do the same.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	name := flag.String("socket", "", "serve on the passed socket with this name (default: the first)")
	work := flag.Duration("work", 0, "time each request takes, to have requests in flight")
	reusePort := flag.String("reuseport", "", "instead of a passed socket, bind this address with SO_REUSEPORT, one socket per process (for comparison)")
	drain := flag.Duration("drain", 30*time.Second, "how long to wait for requests in flight on TERM")
	flag.Parse()
	id, pid := os.Getenv("COMET_PROCESS_ID"), os.Getpid()

	ln, err := listener(*name, *reusePort)
	if err != nil {
		fmt.Fprintf(os.Stderr, "server %s: %v\n", id, err)
		os.Exit(1)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(*work)
			fmt.Fprintf(w, "id=%s pid=%d\n", id, pid)
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	// Serve is running: the socket was already listening (slotrun bound it),
	// so connections that arrive from now on are accepted.
	if err := sdNotify("READY=1\nSTATUS=serving"); err != nil {
		fmt.Fprintf(os.Stderr, "server %s: %v\n", id, err)
	}
	fmt.Printf("serving id=%s pid=%d\n", id, pid)

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	select {
	case <-stop:
	case err := <-served:
		fmt.Fprintf(os.Stderr, "server %s: %v\n", id, err)
		os.Exit(1)
	}
	// Drain. Shutdown closes this process's listener, so the kernel hands
	// new connections to the other workers (the socket itself stays open in
	// slotrun and in them), then waits for every connection this process
	// accepted to get its answer. Keep-alives are turned off first, so each
	// connection ends after its current request instead of idling. A
	// connection accepted at the very moment Shutdown begins is tracked
	// before Shutdown returns (it waits for Serve to end) and is answered,
	// since Shutdown only closes connections that are idle.
	sdNotify("STOPPING=1")
	srv.SetKeepAlivesEnabled(false)
	ctx, cancel := context.WithTimeout(context.Background(), *drain)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "server %s: drain: %v\n", id, err)
		os.Exit(1)
	}
	fmt.Printf("drained id=%s pid=%d\n", id, pid)
}

// listener is the socket slotrun passed (sd_listen_fds(3): fds from 3, as
// many as LISTEN_FDS, named by LISTEN_FDNAMES, valid only if LISTEN_PID is
// this process), or with -reuseport a socket of this process's own.
func listener(name, reusePort string) (net.Listener, error) {
	if reusePort != "" {
		lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, 0xf /* SO_REUSEPORT */, 1)
			})
			return errors.Join(err, serr)
		}}
		return lc.Listen(context.Background(), "tcp", reusePort)
	}
	if os.Getenv("LISTEN_PID") != strconv.Itoa(os.Getpid()) {
		return nil, errors.New("no socket passed: run me with slotrun --listen (LISTEN_PID is not this process)")
	}
	n, err := strconv.Atoi(os.Getenv("LISTEN_FDS"))
	if err != nil || n < 1 {
		return nil, errors.New("no socket passed: LISTEN_FDS is not a positive number")
	}
	names := strings.Split(os.Getenv("LISTEN_FDNAMES"), ":")
	for i := range n {
		if name == "" || (i < len(names) && names[i] == name) {
			f := os.NewFile(uintptr(3+i), "listen")
			defer f.Close() // FileListener holds a copy
			return net.FileListener(f)
		}
	}
	return nil, fmt.Errorf("no passed socket is named %q (LISTEN_FDNAMES=%s)", name, os.Getenv("LISTEN_FDNAMES"))
}

// sdNotify sends one sd_notify(3) message to NOTIFY_SOCKET, if there is one.
func sdNotify(state string) error {
	addr := os.Getenv("NOTIFY_SOCKET")
	if addr == "" {
		return nil
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	defer conn.Close()
	_, err = conn.Write([]byte(state))
	return err
}
