package supervisor

import (
	"syscall"
	"testing"
	"time"
)

// Memory is settled firstSettleDelay after the start has returned, not
// while the workers start, and once more the first time every worker is
// ready; never again, whatever happens after.
func TestMemoryIsSettledAfterStartAndWhenAllAreFirstReady(t *testing.T) {
	tests := []struct {
		name      string
		minUptime time.Duration
		steps     func(h *harness)
		want      int
	}{
		{"not while the workers start", time.Second, func(h *harness) {
			h.advance(firstSettleDelay - time.Millisecond)
		}, 0},
		{"started, not yet ready", time.Second, func(h *harness) {
			h.advance(firstSettleDelay)
		}, 1},
		{"all ready after --min-uptime", time.Second, func(h *harness) {
			h.advance(time.Second)
		}, 2},
		{"ready at once with --min-uptime 0", 0, func(h *harness) {
			h.advance(firstSettleDelay)
		}, 1},
		{"one of two crash-loops: never all ready", time.Second, func(h *harness) {
			for range 3 {
				h.exit(1, code(1))
				h.advance(time.Second)
			}
		}, 1},
		{"a worker added before the start's were ready is not waited for", time.Second, func(h *harness) {
			h.signal(syscall.SIGTTIN)
			h.advance(time.Second)
			h.wantStates("ready ready ready")
		}, 2},
		{"nor does it count for one of the start's", time.Second, func(h *harness) {
			h.signal(syscall.SIGTTIN) // slot 2, ready at 1s with slot 0
			h.advance(500 * time.Millisecond)
			h.exit(1, code(1)) // slot 1 starts again after its backoff
			h.advance(500 * time.Millisecond)
			if h.sys.settled != 1 {
				h.t.Fatalf("settled %d times before slot 1 was ready (states %s)", h.sys.settled, h.states())
			}
			h.advance(time.Second)
		}, 2},
		{"a crash after all were ready settles nothing more", time.Second, func(h *harness) {
			h.advance(time.Second)
			h.exit(0, code(1))
			h.advance(2 * time.Second)
			h.wantStates("ready ready idle")
		}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := testOptions(2)
			opts.Slots = 3
			opts.MinUptime = tt.minUptime
			h := start(t, opts)
			tt.steps(h)
			if h.sys.settled != tt.want {
				t.Fatalf("memory settled %d times, want %d (states %s)", h.sys.settled, tt.want, h.states())
			}
		})
	}
}
