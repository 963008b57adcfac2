package supervisor

import (
	"strings"
	"testing"
	"time"
)

// markHolds writes HOLD and RELEASE into the log stream itself, so a test
// sees which lines fell between them.
type markHolds struct{ logs *syncBuffer }

func (m markHolds) Hold()    { m.logs.Write([]byte("HOLD\n")) }
func (m markHolds) Release() { m.logs.Write([]byte("RELEASE\n")) }

// The lines of a round of starts or restarts are held, to be written
// together (docs/performance.md, "A restart"); none is left held after it.
func TestARoundOfRestartsHoldsItsLogLines(t *testing.T) {
	h := start(t, testOptions(3), func(h *harness) { h.s.opts.LogHold = markHolds{h.logs} })
	h.advance(2 * time.Second) // past --min-uptime: restarts at once
	for slot := range 3 {
		h.sys.end(h.proc(slot), code(1))
	}
	h.settle()

	held, rounds, started, exited := false, 0, 0, 0
	for _, line := range strings.Split(strings.TrimSpace(h.logs.String()), "\n") {
		switch {
		case line == "HOLD":
			if held {
				t.Fatal("HOLD twice without a RELEASE")
			}
			held = true
		case line == "RELEASE":
			held = false
			rounds++
		case strings.Contains(line, "worker started") || strings.Contains(line, "worker exited"):
			if !held {
				t.Errorf("line not held: %s", line)
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
	if started != 6 || exited != 3 {
		t.Errorf("%d starts and %d exits logged; want 6 and 3", started, exited)
	}
	if rounds < 2 {
		t.Errorf("%d held rounds; want the start's and the restarts'", rounds)
	}
}
