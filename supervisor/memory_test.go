package supervisor

import (
	"testing"
	"time"
)

// Memory is settled once the start has returned, and once more the first
// time every worker is ready; never again, whatever happens after.
func TestMemoryIsSettledAfterStartAndWhenAllAreFirstReady(t *testing.T) {
	tests := []struct {
		name      string
		minUptime time.Duration
		steps     func(h *harness)
		want      int
	}{
		{"started, not yet ready", time.Second, func(h *harness) {}, 1},
		{"all ready after --min-uptime", time.Second, func(h *harness) {
			h.advance(time.Second)
		}, 2},
		{"ready at once with --min-uptime 0", 0, func(h *harness) {}, 1},
		{"one of two crash-loops: never all ready", time.Second, func(h *harness) {
			for range 3 {
				h.exit(1, code(1))
				h.advance(time.Second)
			}
		}, 1},
		{"a crash after all were ready settles nothing more", time.Second, func(h *harness) {
			h.advance(time.Second)
			h.exit(0, code(1))
			h.advance(2 * time.Second)
			h.wantStates("ready ready")
		}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := testOptions(2)
			opts.MinUptime = tt.minUptime
			h := start(t, opts)
			tt.steps(h)
			if h.sys.settled != tt.want {
				t.Fatalf("memory settled %d times, want %d (states %s)", h.sys.settled, tt.want, h.states())
			}
		})
	}
}
