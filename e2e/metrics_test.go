package e2e

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// httpAddr is the address slotrun's --http server listens on, from its log.
func (p *proc) httpAddr() string {
	p.t.Helper()
	return p.waitStderr(`serving metrics and health`)["address"]
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: waitFor}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// scrape fetches /metrics and parses it with Prometheus's own parser.
func scrape(t *testing.T, addr string) (string, map[string]*dto.MetricFamily) {
	t.Helper()
	code, body := httpGet(t, "http://"+addr+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d %s", code, body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v\n%s", err, body)
	}
	return body, families
}

// series returns the value of the metric name with the labels given as
// name=value pairs; ok is false if there is none.
func series(families map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	f := families[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		for i := 0; i < len(labels); i += 2 {
			found := false
			for _, l := range m.Label {
				if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		}
	}
	return 0, false
}

// TestMetricsMatchTheStatus: /metrics has exactly the documented metrics,
// each with HELP, parsed by Prometheus's parser and passed by promtool, and
// its values are the status object's.
func TestMetricsMatchTheStatus(t *testing.T) {
	p := start(t, "-n", "3", "--slots", "4", "--min-uptime", "100ms", "--backoff-min", "10ms", "--http", "127.0.0.1:0", "--", workerBin)
	pids := p.waitReady(0, 0, 1, 2)
	addr := p.httpAddr()
	from := p.lineCount()
	syscall.Kill(pids[1], syscall.SIGKILL)
	p.waitReady(from, 1)
	mustClient(t, p.dir, "restart", "--slot", "2")

	var st statusObject
	var body string
	var families map[string]*dto.MetricFamily
	eventually(t, waitFor, "3 workers ready", func() bool {
		st = statusOf(t, p.dir)
		body, families = scrape(t, addr)
		v, _ := series(families, "slotrun_workers", "state", "ready")
		return st.Ready == 3 && v == 3
	})

	want := map[string]dto.MetricType{
		"slotrun_build_info": dto.MetricType_GAUGE, "slotrun_start_time_seconds": dto.MetricType_GAUGE,
		"slotrun_workers_desired": dto.MetricType_GAUGE, "slotrun_workers": dto.MetricType_GAUGE,
		"slotrun_worker_ready": dto.MetricType_GAUGE, "slotrun_worker_start_time_seconds": dto.MetricType_GAUGE,
		"slotrun_worker_restarts_total": dto.MetricType_COUNTER, "slotrun_worker_last_exit_code": dto.MetricType_GAUGE,
		"slotrun_rolling_restarts_total": dto.MetricType_COUNTER,
	}
	for name, f := range families {
		typ, ok := want[name]
		switch {
		case !ok:
			t.Errorf("unexpected metric %s", name)
		case f.GetType() != typ:
			t.Errorf("%s is a %s; want %s", name, f.GetType(), typ)
		case f.GetHelp() == "":
			t.Errorf("%s has no HELP", name)
		}
	}
	if len(families) != len(want) {
		t.Errorf("%d metrics; want %d:\n%s", len(families), len(want), body)
	}

	check := func(what string, got float64, ok bool, want float64) {
		t.Helper()
		if !ok || got != want {
			t.Errorf("%s = %v (present: %v); want %v", what, got, ok, want)
		}
	}
	v, ok := series(families, "slotrun_build_info", "version", st.Version)
	check("slotrun_build_info{version=status.version}", v, ok, 1)
	v, ok = series(families, "slotrun_workers_desired")
	check("slotrun_workers_desired", v, ok, float64(st.Desired))
	for _, state := range []string{"starting", "ready", "stopping", "backoff"} {
		n := 0
		for _, w := range st.Workers {
			if w.State == state {
				n++
			}
		}
		v, ok = series(families, "slotrun_workers", "state", state)
		check("slotrun_workers{state="+state+"}", v, ok, float64(n))
	}
	start, ok := series(families, "slotrun_start_time_seconds")
	if now := float64(time.Now().UnixMicro()) / 1e6; !ok || start > now || now-start > st.Uptime+5 {
		t.Errorf("slotrun_start_time_seconds = %v; now %v, uptime %v", start, now, st.Uptime)
	}
	for _, w := range st.Workers {
		slot := strconv.Itoa(w.Slot)
		v, ok = series(families, "slotrun_worker_ready", "slot", slot)
		check("slotrun_worker_ready{slot="+slot+"}", v, ok, 1)
		v, ok = series(families, "slotrun_worker_restarts_total", "slot", slot)
		check("slotrun_worker_restarts_total{slot="+slot+"}", v, ok, float64(w.Restarts))
		started, ok := series(families, "slotrun_worker_start_time_seconds", "slot", slot)
		if !ok || math.Abs(start+st.Uptime-w.Uptime-started) > 1 {
			t.Errorf("slotrun_worker_start_time_seconds{slot=%s} = %v; want about %v", slot, started, start+st.Uptime-w.Uptime)
		}
	}
	v, ok = series(families, "slotrun_worker_last_exit_code", "slot", "1")
	check("slotrun_worker_last_exit_code{slot=1} (SIGKILL)", v, ok, 137)
	v, ok = series(families, "slotrun_worker_last_exit_code", "slot", "2")
	check("slotrun_worker_last_exit_code{slot=2} (TERM, exits 0)", v, ok, 0)
	if _, ok = series(families, "slotrun_worker_last_exit_code", "slot", "0"); ok {
		t.Error("slotrun_worker_last_exit_code{slot=0} is present before slot 0 ever exited")
	}
	v, ok = series(families, "slotrun_rolling_restarts_total", "result", "completed")
	check("rolling completed", v, ok, 1)
	v, ok = series(families, "slotrun_rolling_restarts_total", "result", "halted")
	check("rolling halted", v, ok, 0)
	if st.worker(t, 1).Restarts != 1 {
		t.Errorf("slot 1 restarts = %d; want 1", st.worker(t, 1).Restarts)
	}

	promtool(t, body)
}

// promtool runs `promtool check metrics` on the exposition and fails on
// any output: a warning is a failure.
func promtool(t *testing.T, body string) {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool is not installed (.ci/run installs the prometheus package)")
		}
		t.Log("promtool is not installed; skipping its check")
		return
	}
	cmd := exec.Command(path, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	out, err := cmd.CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("promtool check metrics: %v\n%s\non:\n%s", err, out, body)
	}
}

// TestHealthEndpoints: /livez and /healthz answer while the loop does,
// /readyz follows --min-ready, and other paths and methods are refused.
func TestHealthEndpoints(t *testing.T) {
	p := start(t, "-n", "2", "--min-ready", "2", "--min-uptime", "300ms", "--http", "127.0.0.1:0", "--", workerBin)
	addr := p.httpAddr()
	for _, path := range []string{"/livez", "/healthz"} {
		if code, body := httpGet(t, "http://"+addr+path); code != 200 || body != "ok\n" {
			t.Errorf("%s: %d %q; want 200 ok", path, code, body)
		}
	}
	// Started, not yet up for --min-uptime: not ready.
	if code, body := httpGet(t, "http://"+addr+"/readyz"); code != 503 || !strings.HasPrefix(body, "0/2 ready; --min-ready is 2") {
		t.Errorf("/readyz before the workers are ready: %d %q", code, body)
	}
	eventually(t, waitFor, "/readyz 200", func() bool {
		code, body := httpGet(t, "http://"+addr+"/readyz")
		return code == 200 && body == "2/2 ready\n"
	})
	if code, out, _ := client(t, p.dir, "status", "--check"); code != 0 || out != "healthy: 2/2 ready\n" {
		t.Errorf("status --check: %d %q", code, out)
	}
	if code, _ := httpGet(t, "http://"+addr+"/other"); code != 404 {
		t.Errorf("/other: %d; want 404", code)
	}
	resp, err := http.Post("http://"+addr+"/readyz", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 {
		t.Errorf("POST /readyz: %d; want 405", resp.StatusCode)
	}
}

// TestShutdownDelayFailsReadinessFirst: on TERM, /readyz is 503 at once
// while the workers still run; they get the stop signal after the delay.
func TestShutdownDelayFailsReadinessFirst(t *testing.T) {
	p := start(t, "-n", "1", "--min-uptime", "50ms", "--shutdown-delay", "1s", "--http", "127.0.0.1:0", "--", workerBin)
	addr := p.httpAddr()
	pids := p.waitReady(0, 0)
	eventually(t, waitFor, "/readyz 200", func() bool {
		code, _ := httpGet(t, "http://"+addr+"/readyz")
		return code == 200
	})
	p.signal(syscall.SIGTERM)
	eventually(t, waitFor, "/readyz 503 after TERM", func() bool {
		code, _ := httpGet(t, "http://"+addr+"/readyz")
		return code == 503
	})
	termed := time.Now()
	if strings.Contains(p.stdout.text(), "sig=TERM") {
		t.Fatal("the worker got TERM before the shutdown delay was over")
	}
	if code, body := httpGet(t, "http://"+addr+"/livez"); code != 200 {
		t.Errorf("/livez during the shutdown delay: %d %q; want 200", code, body)
	}
	st := statusOf(t, p.dir)
	if !st.Stopping || st.worker(t, 0).PID != pids[0] {
		t.Errorf("status during the shutdown delay: %+v; want stopping, the worker still there", st)
	}
	if code, out, _ := client(t, p.dir, "status", "--check"); code != 1 || !strings.HasPrefix(out, "unhealthy: stopping") {
		t.Errorf("status --check during the shutdown delay: %d %q", code, out)
	}
	p.waitStdout(`sig=TERM`)
	// Not a timing assertion: the stop signal must not come before the
	// delay, and the delay is far above any scheduling noise.
	if waited := time.Since(termed); waited < 500*time.Millisecond {
		t.Errorf("the stop signal came %s after /readyz failed; want the 1s delay first", waited)
	}
	if code := p.wait(); code != 0 {
		t.Errorf("exit code %d; want 0", code)
	}
}

// TestHTTPAddressInUseStopsStart: a bind failure is exit 1 before any
// worker starts.
func TestHTTPAddressInUseStopsStart(t *testing.T) {
	p := start(t, "-n", "1", "--http", "127.0.0.1:0", "--", workerBin)
	addr := p.httpAddr()
	code, out, errs := runOnce(t, t.TempDir(), "-n", "1", "--http", addr, "--", workerBin)
	if code != 1 || !strings.Contains(errs, fmt.Sprintf("--http %s: ", addr)) || !strings.Contains(errs, "address already in use") || out != "" {
		t.Errorf("second --http on %s: exit %d, stdout %q, stderr %q", addr, code, out, errs)
	}
}
