package supervisor

import (
	"strings"
	"testing"
	"time"
)

// markHolds writes HOLD, FLUSH and RELEASE into the log stream itself, and
// the fake system writes FORK there, so a test sees which lines were held
// across what.
type markHolds struct{ logs *syncBuffer }

func (m markHolds) Hold()    { m.logs.Write([]byte("HOLD\n")) }
func (m markHolds) Flush()   { m.logs.Write([]byte("FLUSH\n")) }
func (m markHolds) Release() { m.logs.Write([]byte("RELEASE\n")) }

// The lines of a round of restarts are held, to be written together
// (docs/performance.md, "A restart"), but never across a fork: a worker's
// exit is written before its replacement can write anything. The start
// of the workers is not held.
func TestARoundOfRestartsHoldsItsLinesButNotAcrossAFork(t *testing.T) {
	h := start(t, testOptions(3), func(h *harness) {
		h.s.opts.LogHold = markHolds{h.logs}
		h.sys.onFork = func() { h.logs.Write([]byte("FORK\n")) }
	})
	h.advance(2 * time.Second) // past --min-uptime: restarts at once
	for slot := range 3 {
		h.sys.end(h.proc(slot), code(1))
	}
	h.settle()

	held, sawHold, unwritten := false, false, ""
	rounds, forks, started, exited := 0, 0, 0, 0
	for _, line := range strings.Split(strings.TrimSpace(h.logs.String()), "\n") {
		switch {
		case line == "HOLD":
			if held {
				t.Fatal("HOLD twice without a RELEASE")
			}
			held, sawHold = true, true
			rounds++
		case line == "FLUSH":
			unwritten = ""
		case line == "RELEASE":
			if !held {
				t.Error("RELEASE without a HOLD")
			}
			held, unwritten = false, ""
		case line == "FORK":
			forks++
			if unwritten != "" {
				t.Errorf("held across a fork: %s", unwritten)
			}
		case strings.Contains(line, "worker started") || strings.Contains(line, "worker exited"):
			if held {
				unwritten = line
			} else if sawHold {
				t.Errorf("a restart's line not held: %s", line)
			}
			if strings.Contains(line, "worker started") {
				started++
			} else {
				exited++
			}
		}
	}
	if held {
		t.Error("the lines were left held")
	}
	if started != 6 || exited != 3 || forks != 6 {
		t.Errorf("%d starts, %d exits and %d forks; want 6, 3 and 6", started, exited, forks)
	}
	if rounds < 1 {
		t.Error("no round of restarts held its lines")
	}
}
