package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"syscall"
	"testing"
)

func TestJSONLogsAreOneObjectPerLineUnderLoad(t *testing.T) {
	t.Parallel()
	// 8 workers crashing in a loop: many log lines from one process at once.
	p := start(t, "-n", "8", "--log-format", "json", "--backoff-min", "1ms", "--backoff-max", "5ms",
		"--", workerBin, "-exit", "3")
	from := 0
	for range 200 {
		i, _ := waitLine(t, p.stderr, from, `"@message":"worker exited"`)
		from = i + 1
	}
	p.signal(syscall.SIGTERM)
	if code := p.wait(); code != 0 {
		t.Errorf("exit code %d; want 0", code)
	}
	p.waitEOF()
	lines, _, _ := p.stderr.snapshot()
	messages := map[string]int{}
	for i, line := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("stderr line %d is not JSON: %v\n%s", i+1, err, line)
		}
		for _, key := range []string{"@timestamp", "@level", "@message"} {
			if _, ok := rec[key]; !ok {
				t.Fatalf("stderr line %d has no %s: %s", i+1, key, line)
			}
		}
		msg := rec["@message"].(string)
		messages[msg]++
		switch msg {
		case "worker exited":
			// A crash says code=3; a worker stopped before it could
			// handle TERM says signal=TERM.
			crashed := rec["code"] == float64(3)
			stopped := rec["signal"] == "TERM" || rec["code"] == float64(0)
			if rec["slot"] == nil || rec["pid"] == nil || rec["uptime"] == nil || !(crashed || stopped) {
				t.Errorf("worker exited without slot, pid, uptime and code=3 or signal=TERM: %s", line)
			}
		case "restart scheduled":
			if _, ok := rec["delay"].(string); rec["slot"] == nil || !ok {
				t.Errorf("restart scheduled without slot and delay: %s", line)
			}
		case "worker started":
			if rec["slot"] == nil || rec["pid"] == nil {
				t.Errorf("worker started without slot and pid: %s", line)
			}
		}
	}
	for _, want := range []string{"starting", "worker started", "worker exited", "restart scheduled", "signal received", "stopping", "stopped"} {
		if messages[want] == 0 {
			t.Errorf("no %q event in the log", want)
		}
	}
}

func TestLogLevelFilters(t *testing.T) {
	t.Parallel()
	p := start(t, "-n", "1", "--log-level", "warn", "--backoff-min", "1ms", "--", workerBin, "-exit", "3")
	p.waitStderr(`\[WARN\].*worker exited`)
	p.signal(syscall.SIGTERM)
	p.wait()
	p.waitEOF()
	if log := p.stderr.text(); strings.Contains(log, "[INFO]") {
		t.Errorf("--log-level warn let info lines through:\n%s", log)
	}
}

func TestSupervisorOutlivesItsLogReader(t *testing.T) {
	t.Parallel()
	// `slotrun … 2>&1 | head`: once the reader is gone, a log write must
	// fail quietly, not kill slotrun by SIGPIPE (and with it every worker).
	p := start(t, "-n", "2", "--", workerBin)
	pids := p.waitReady(0, 0, 1)
	p.stderrPipe.Close()
	p.signal(syscall.SIGHUP) // logged: the first write to the closed pipe
	for id := range 2 {
		p.waitStdout(fmt.Sprintf(`^signal id=%d .*sig=HUP`, id))
	}
	for id, pid := range pids {
		if !alive(pid) {
			t.Errorf("worker %d died with the log reader", id)
		}
	}
	p.signal(syscall.SIGTERM)
	if code := p.wait(); code != 0 {
		t.Errorf("exit code %d; want 0", code)
	}
}
