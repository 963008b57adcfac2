// Command floorsignal is the least a Go command can do to have a
// supervisor signal its workers, and so the floor the bench holds
// `slotrun signal` against: read the supervisor's PID from a file and send
// it the signal.
//
//	floorsignal PIDFILE SIGNAL    SIGNAL: HUP, TERM or a number
//
// No flags, no lock check, no message beyond one line on a failure: what
// it costs is a Go program's start, one read and one kill(2). Built with
// -tags benchlibs it also links the libraries slotrun links
// (bench/internal/contractlibs), for the bench's floor-libs column.
package main

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

func main() {
	if len(os.Args) != 3 {
		fail("usage: floorsignal PIDFILE SIGNAL")
	}
	b, err := os.ReadFile(os.Args[1])
	if err != nil {
		fail(err.Error())
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid < 1 {
		fail(os.Args[1] + ": no PID in it")
	}
	sig, ok := signals[os.Args[2]]
	if !ok {
		n, err := strconv.Atoi(os.Args[2])
		if err != nil || n < 1 {
			fail("unknown signal " + os.Args[2])
		}
		sig = syscall.Signal(n)
	}
	if err := syscall.Kill(pid, sig); err != nil {
		fail("kill " + strconv.Itoa(pid) + ": " + err.Error())
	}
}

var signals = map[string]syscall.Signal{"HUP": syscall.SIGHUP, "TERM": syscall.SIGTERM}

func fail(msg string) {
	os.Stderr.WriteString("floorsignal: " + msg + "\n")
	os.Exit(1)
}
