package e2e

import (
	"fmt"
	"syscall"
	"testing"
)

// A flood of forwarded signals must not crowd out the stop signal behind
// it: os/signal drops what does not fit its channel, and forwarding each HUP
// to every worker is work that a TERM must overtake.
func TestStopSignalIsNotLostInASignalFlood(t *testing.T) {
	for _, n := range []int{16, 256} {
		for trial := range 2 {
			t.Run(fmt.Sprintf("%d workers, trial %d", n, trial), func(t *testing.T) {
				p := start(t, "-n", fmt.Sprint(n), "--", workerBin)
				p.waitReady(0, seq(n)...)
				for range 20000 {
					if err := syscall.Kill(p.pid(), syscall.SIGHUP); err != nil {
						t.Fatalf("HUP: %v", err)
					}
				}
				p.signal(syscall.SIGTERM)
				if code := p.wait(); code != 0 {
					t.Errorf("exit code %d; want 0", code)
				}
			})
		}
	}
}
