package e2e

import (
	"net"
	"testing"
)

// TestIdleConnectionsDoNotLockOutTheLivenessProbe: 300 idle TCP
// connections to --http (more than the server's 256) must not make /livez
// unreachable, or anyone who can reach the port could get the pod
// restarted by its liveness probe. Before, connections past the limit
// were closed as soon as accepted, the probe's among them.
func TestIdleConnectionsDoNotLockOutTheLivenessProbe(t *testing.T) {
	t.Parallel()
	p := start(t, "-n", "1", "--http", "127.0.0.1:0", "--", workerBin)
	addr := p.httpAddr()
	p.waitReady(0, 0)
	for range 300 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
	}
	p.waitStderr(`too many connections`)
	if code, body := httpGet(t, "http://"+addr+"/livez"); code != 200 {
		t.Errorf("/livez with 300 idle connections open: %d %q; want 200", code, body)
	}
}
