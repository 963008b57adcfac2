package e2e

import (
	"os"
	"regexp"
	"testing"

	"golang.org/x/sys/unix"
)

// newHeldSocket puts slotrun's stderr on a stream socket whose reader
// holds off, as a log collector that stopped reading would (systemd's
// journal takes a service's stderr on a socket).
func newHeldSocket(t *testing.T) *heldPipe {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	// The least the kernel allows: a few log lines fill it.
	if err := unix.SetsockoptInt(fds[1], unix.SOL_SOCKET, unix.SO_SNDBUF, 1); err != nil {
		t.Fatal(err)
	}
	r, w := os.NewFile(uintptr(fds[0]), "log reader"), os.NewFile(uintptr(fds[1]), "log socket")
	t.Cleanup(func() { r.Close(); w.Close() })
	return &heldPipe{r: r, w: w}
}

var (
	logLine   = regexp.MustCompile(`^\S+ \[[A-Z]+\] +` + longName + `(\.slot-\d+)?: \S`)
	timestamp = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d`)
)

func TestWorkersAreStillRestartedWhileNobodyReadsTheLogSocket(t *testing.T) {
	t.Parallel()
	logs := newHeldSocket(t)
	p := startHeld(t, nil, logs, crashLoop()...)
	// More is logged than the socket and slotrun's buffer hold.
	waitRestarts(t, p, overflow)

	stopAndReadDrops(t, p, logs)
	lines, _, _ := p.stderr.snapshot()
	for i, line := range lines {
		if !logLine.MatchString(line) || len(timestamp.FindAllString(line, -1)) != 1 {
			t.Fatalf("stderr line %d is not one whole log line: %.200q", i+1, line)
		}
	}
}
