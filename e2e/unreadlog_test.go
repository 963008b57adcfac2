package e2e

import (
	"strings"
	"syscall"
	"testing"
)

// crashLoop runs a few workers that exit at once and are restarted within
// milliseconds: log lines in a stream, and a ready line on stdout for every
// start. The long instance name, in every log line, makes the lines long.
func crashLoop(extra ...string) []string {
	return append(append([]string{"--name", longName, "--control", "none", "-n", "4", "--backoff-min", "1ms", "--backoff-max", "2ms", "--stop-timeout", "2s"}, extra...),
		"--", workerBin, "-exit", "3")
}

var longName = strings.Repeat("n", 200)

// A restart logs three lines (worker exited, restart scheduled, worker
// started) of more than 250 bytes each with longName: this many log twice
// the 256 KiB slotrun buffers.
const overflow = 700

// waitRestarts waits for n more workers to start.
func waitRestarts(t *testing.T, p *proc, n int) {
	t.Helper()
	from := p.lineCount()
	for range n {
		i, _ := waitLine(t, p.stdout, from, `^ready id=\d `)
		from = i + 1
	}
}

func TestWorkersAreStillRestartedWhileNobodyReadsTheLog(t *testing.T) {
	t.Parallel()
	logs := newHeldPipe(t, 4096)
	p := startHeld(t, nil, logs, crashLoop()...)
	eventually(t, waitFor, "slotrun's stderr pipe is full", func() bool { return logs.full(t) })

	// Writing one more log line would block now; restarts go on, until
	// more is logged than slotrun buffers.
	waitRestarts(t, p, overflow)

	// The reader comes back: what was dropped is counted, in the log's
	// format, and the stop is logged to its end.
	stopAndReadDrops(t, p, logs)
}

// stopAndReadDrops stops slotrun, starts reading its held stderr, and
// checks that what was dropped is counted in the log's format and that
// the stop is logged to its end.
func stopAndReadDrops(t *testing.T, p *proc, logs *heldPipe) {
	t.Helper()
	p.signal(syscall.SIGTERM)
	p.stderr = logs.release()
	if code := p.wait(); code != 0 {
		t.Errorf("exit code %d after TERM; want 0", code)
	}
	p.waitEOF()
	waitLine(t, p.stderr, 0, `^\S+ \[WARN\] +`+longName+`: \d+ log lines dropped$`)
	waitLine(t, p.stderr, 0, `\[INFO\] +`+longName+`: stopped: exit_code=0$`)
}

func TestTERMStopsSlotrunWhileNobodyReadsTheLog(t *testing.T) {
	t.Parallel()
	logs := newHeldPipe(t, 4096)
	p := startHeld(t, nil, logs, crashLoop()...)
	eventually(t, waitFor, "slotrun's stderr pipe is full", func() bool { return logs.full(t) })
	p.waitStdout(`^ready id=3 `)

	p.signal(syscall.SIGTERM)
	if code := p.wait(); code != 0 {
		t.Errorf("exit code %d after TERM with a stderr nobody reads; want 0", code)
	}
}

func TestDroppedLogLinesAreCountedInJSON(t *testing.T) {
	t.Parallel()
	logs := newHeldPipe(t, 4096)
	p := startHeld(t, nil, logs, crashLoop("--log-format", "json")...)
	eventually(t, waitFor, "slotrun's stderr pipe is full", func() bool { return logs.full(t) })
	waitRestarts(t, p, overflow)
	p.signal(syscall.SIGTERM)
	p.stderr = logs.release()
	if code := p.wait(); code != 0 {
		t.Errorf("exit code %d after TERM; want 0", code)
	}
	p.waitEOF()
	waitLine(t, p.stderr, 0, `^\{.*"@message":"\d+ log lines dropped".*\}$`)
	lines, _, _ := p.stderr.snapshot()
	for i, line := range lines {
		if !strings.HasPrefix(line, `{"@level":`) || !strings.HasSuffix(line, "}") {
			t.Fatalf("stderr line %d is not one whole JSON object: %.200q", i+1, line)
		}
	}
}
