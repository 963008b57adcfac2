package e2e

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Each worker writes this much and exits: it fits in the worker's own pipe
// (64 KiB), so the worker is gone long before a paused reader takes it,
// and only slotrun holds it then.
const (
	relayWorkers = 8
	relayLines   = 600
	relayLine    = 100
)

func relayArgs(extra ...string) []string {
	return append(append([]string{"--prefix", "-n", strconv.Itoa(relayWorkers), "--restart", "never"}, extra...),
		"--", workerBin, "-line-size", strconv.Itoa(relayLine), "-lines", strconv.Itoa(relayLines), "-exit-after", "1ms")
}

func TestPrefixedOutputAllArrivesWhenTheReaderPauses(t *testing.T) {
	t.Parallel()
	out := newHeldPipe(t, 0)
	p := startHeld(t, out, nil, relayArgs()...)
	// Every worker has ended, its lines in slotrun's hands.
	for id := range relayWorkers {
		p.waitStderr(fmt.Sprintf(`slot-%d: worker exited: .*code=0`, id))
	}
	time.Sleep(3 * time.Second) // the reader's pause: the condition under test, not a wait for anything
	p.stdout = out.release()
	if code := p.wait(); code != 0 {
		t.Errorf("exit code %d; want 0 (every worker exited 0)", code)
	}
	p.waitEOF()

	got := map[int]int{}
	written := map[int]bool{}
	prefix := regexp.MustCompile(`^\[slotrun:(\d+)\] (.*)$`)
	lines, _, _ := p.stdout.snapshot()
	for _, line := range lines {
		m := prefix.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("a line without a prefix: %.60q", line)
		}
		id, _ := strconv.Atoi(m[1])
		switch {
		case m[2] == workerLine(id, relayLine):
			got[id]++
		case m[2] == fmt.Sprintf("written id=%d", id):
			written[id] = true
		}
	}
	for id := range relayWorkers {
		if got[id] != relayLines || !written[id] {
			t.Errorf("worker %d: %d of its %d lines arrived (its last line arrived: %v)", id, got[id], relayLines, written[id])
		}
	}
	if log := p.stderr.text(); strings.Contains(log, "not relayed") {
		t.Errorf("slotrun says output was lost:\n%s", log)
	}
}

func TestAStuckReaderOfPrefixedOutputCannotHoldUpTheExit(t *testing.T) {
	t.Parallel()
	const stopTimeout = 2 * time.Second
	out := newHeldPipe(t, 0) // never read
	p := startHeld(t, out, nil, relayArgs("--stop-timeout", stopTimeout.String())...)
	for id := range relayWorkers {
		p.waitStderr(fmt.Sprintf(`slot-%d: worker exited: .*code=0`, id))
	}
	ended := time.Now()
	if code := p.wait(); code != 0 {
		t.Errorf("exit code %d; want 0 (every worker exited 0)", code)
	}
	if took := time.Since(ended); took > stopTimeout+5*time.Second {
		t.Errorf("slotrun exited %s after its last worker; want about the stop timeout, %s", took, stopTimeout)
	}
	waitEnd(t, p.stderr)
	f := p.waitStderr(`\[WARN\] +slotrun: \d+ bytes of worker output not relayed: .* bytes=\d+ stop_timeout=2s$`)
	total := relayWorkers * (relayLines*(relayLine+1) + 60)
	if lost := f.int(t, "bytes"); lost <= 0 || lost > total {
		t.Errorf("bytes=%d not relayed; want between 1 and the %d the workers wrote", lost, total)
	}
}
