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
	"sync"
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
	var conns sync.WaitGroup // every connection accepted and not yet closed
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(*work)
			fmt.Fprintf(w, "id=%s pid=%d\n", id, pid)
		}),
		ReadHeaderTimeout: 10 * time.Second,
		ConnState: func(_ net.Conn, state http.ConnState) {
			switch state {
			case http.StateNew:
				conns.Add(1)
			case http.StateClosed, http.StateHijacked:
				conns.Done()
			}
		},
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
	case err := <-served: // the listener failed
		fmt.Fprintf(os.Stderr, "server %s: %v\n", id, err)
		os.Exit(1)
	}
	sdNotify("STOPPING=1")
	if err := drainServer(srv, ln, served, &conns, *drain); err != nil {
		fmt.Fprintf(os.Stderr, "server %s: drain: %v\n", id, err)
		os.Exit(1)
	}
	fmt.Printf("drained id=%s pid=%d\n", id, pid)
}

// drainServer stops accepting and answers every connection already
// accepted, then shuts the server down.
//
// Calling srv.Shutdown first is the trap: a connection accepted just before
// Shutdown whose request is read just after it is closed unanswered
// (net/http drops any request it reads once shutdown has begun), and the
// client sees EOF. So: turn keep-alives off (each connection then ends
// after its current request), close the listener (this process's copy
// only: the socket stays open in slotrun and the other workers, so the
// kernel queues new connections for them), wait for Serve to return (every
// accepted connection is then counted), wait for each to be answered and
// closed, and only then Shutdown, which has nothing left to cut short.
func drainServer(srv *http.Server, ln net.Listener, served <-chan error, conns *sync.WaitGroup, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	srv.SetKeepAlivesEnabled(false)
	ln.Close()
	<-served
	done := make(chan struct{})
	go func() {
		conns.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(time.Until(deadline)):
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	return srv.Shutdown(ctx)
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
