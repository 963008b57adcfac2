package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"time"
)

// modeControl runs slotrun's workers as in modeServe, with its --http
// server on as well as its control socket (on by default).
const modeControl = "control"

// The control plane's rows, slotrun only: the client's round trip, a
// scrape, the memory and the idle cost of serving them.
var controlMetrics = []string{"status_rtt", "scrape", "pss_http", "idle_http", "restart_calm", "restart_stuck"}

// statusRequests and scrapes are the samples per run; their median is the
// run's figure.
const (
	statusRequests = 20
	scrapes        = 100
)

var httpAddress = regexp.MustCompile(`serving metrics and health: address=(\S+)`)

// sessionControl starts slotrun with the large count of workers and
// --http, times `slotrun status` (the CLI's start included) and /metrics
// scrapes, then reads its PSS and counts its context switches while idle.
func (b *bench) sessionControl(r recorder) {
	in, err := b.launch(r.tool, b.cfg.large, modeControl)
	if err != nil {
		r.fail(err, controlMetrics...)
		return
	}
	defer in.close()
	if _, err := in.awaitStarted(startTimeout); err != nil {
		r.fail(fmt.Errorf("start: %w", err), controlMetrics...)
		return
	}
	addr, err := in.httpAddress()
	if err != nil {
		r.fail(err, controlMetrics...)
		return
	}
	status, err := timeStatus(in)
	if err != nil {
		r.fail(fmt.Errorf("status: %w", err), controlMetrics...)
		return
	}
	r.value("status_rtt", median(status), status)
	client := &http.Client{Timeout: 5 * time.Second}
	scrape, err := timeScrapes(client, "http://"+addr+"/metrics")
	if err != nil {
		r.fail(fmt.Errorf("scrape: %w", err), controlMetrics[1:]...)
		return
	}
	r.value("scrape", median(scrape), scrape)
	// The cost between scrapes, with no client connected: after the
	// garbage of the requests has been collected (the runtime's background
	// work after a burst is over within a second or two).
	client.CloseIdleConnections()
	time.Sleep(2 * time.Second)
	_, pss, err := measureMemory(in)
	if err != nil {
		r.fail(fmt.Errorf("memory: %w", err), "pss_http", "idle_http")
		return
	}
	r.value("pss_http", pss, nil)
	pids := switchCounter(in.supervisorPIDs())
	before, err := pids.count()
	if err == nil {
		time.Sleep(b.cfg.idle)
		var after int64
		after, err = pids.count()
		r.value("idle_http", float64(after-before), nil)
	}
	if err != nil {
		r.fail(fmt.Errorf("idle: %w", err), "idle_http")
	}
	b.progress(r, "status %.2f ms, scrape %.3f ms, PSS with --http %.2f MiB", median(status), median(scrape), pss)

	// Restart latency with the servers on, then with clients that hold
	// the control socket: stalled halfway through their requests, sending
	// a byte at a time, and sending a 10 MB body every 200 ms.
	kills := max(b.cfg.kills/2, minKills)
	calm, err := b.measureRestarts(in, kills)
	if err != nil {
		r.fail(fmt.Errorf("restart: %w", err), "restart_calm", "restart_stuck")
		return
	}
	r.value("restart_calm", median(calm), calm)
	stop, err := holdControlSocket(filepath.Join(in.dir, ".pid", "slotrun.sock"))
	if err != nil {
		r.fail(fmt.Errorf("stuck clients: %w", err), "restart_stuck")
		return
	}
	stuck, err := b.measureRestarts(in, kills)
	stop()
	if err != nil {
		r.fail(fmt.Errorf("restart with stuck clients: %w", err), "restart_stuck")
		return
	}
	r.value("restart_stuck", median(stuck), stuck)
	b.progress(r, "restart %.2f ms, with stuck clients %.2f ms", median(calm), median(stuck))
}

// holdControlSocket starts the clients a control socket must survive, and
// returns the function that ends them.
func holdControlSocket(path string) (stop func(), err error) {
	done := make(chan struct{})
	var conns []net.Conn
	closeAll := func() {
		for _, c := range conns {
			c.Close()
		}
	}
	for range 20 {
		c, err := net.Dial("unix", path)
		if err != nil {
			closeAll()
			return nil, err
		}
		conns = append(conns, c)
		fmt.Fprintf(c, "POST /v1/scale HTTP/1.1\r\nHost: slotrun\r\nContent-Length: 100\r\n\r\n{\"wor")
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // a byte every 200 ms
		defer wg.Done()
		for {
			c, err := net.Dial("unix", path)
			if err != nil {
				return
			}
			for _, ch := range []byte("GET /v1/status HTTP/1.1\r\nHost: slotrun\r\n\r\n") {
				select {
				case <-done:
					c.Close()
					return
				case <-time.After(200 * time.Millisecond):
				}
				if _, err := c.Write([]byte{ch}); err != nil {
					break
				}
			}
			c.Close()
		}
	}()
	go func() { // a 10 MB body every 200 ms
		defer wg.Done()
		chunk := make([]byte, 64<<10)
		for {
			select {
			case <-done:
				return
			case <-time.After(200 * time.Millisecond):
			}
			c, err := net.Dial("unix", path)
			if err != nil {
				return
			}
			fmt.Fprintf(c, "POST /v1/scale HTTP/1.1\r\nHost: slotrun\r\nContent-Length: %d\r\n\r\n", 10<<20)
			for range 160 {
				if _, err := c.Write(chunk); err != nil {
					break
				}
			}
			io.Copy(io.Discard, c)
			c.Close()
		}
	}()
	return func() {
		close(done)
		closeAll()
		wg.Wait()
	}, nil
}

// httpAddress reads the --http server's address from slotrun's log.
func (in *instance) httpAddress() (string, error) {
	log, err := os.ReadFile(filepath.Join(in.dir, "supervisor.log"))
	if err != nil {
		return "", err
	}
	m := httpAddress.FindSubmatch(log)
	if m == nil {
		return "", errors.New("slotrun did not log the address of its --http server")
	}
	return string(m[1]), nil
}

// timeStatus runs `slotrun status --json` in the instance's directory, as
// a user would, and returns each round trip in ms.
func timeStatus(in *instance) ([]float64, error) {
	var times []float64
	for range statusRequests {
		cmd := exec.Command(in.b.bin.slotrun, "status", "--json")
		cmd.Dir, cmd.Env, cmd.Stdout = in.dir, in.env, io.Discard
		t0 := monotonic()
		if err := cmd.Run(); err != nil {
			return nil, err
		}
		times = append(times, ms(monotonic()-t0))
	}
	return times, nil
}

// timeScrapes GETs url over one kept-alive connection, as Prometheus
// scrapes, and returns each round trip in ms.
func timeScrapes(client *http.Client, url string) ([]float64, error) {
	var times []float64
	for i := range scrapes + 1 {
		t0 := monotonic()
		resp, err := client.Get(url)
		if err != nil {
			return nil, err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("%s: %s", url, resp.Status)
		}
		if i > 0 { // the first opens the connection
			times = append(times, ms(monotonic()-t0))
		}
	}
	return times, nil
}
