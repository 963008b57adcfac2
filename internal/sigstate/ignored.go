//go:build !mips && !mipsle && !mips64 && !mips64le

package sigstate

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// leftAlone are the signals whose inherited disposition Go's runtime keeps
// (runtime.initsig): HUP and INT when ignored, those it only handles once
// asked to (CONT, TSTP, TTIN, TTOU), and 32-34, which it leaves to C code.
// It installs its own handler for every other signal, and a forked child
// sets those back to the default. So only these can reach a worker ignored.
var leftAlone = []unix.Signal{
	unix.SIGHUP, unix.SIGINT,
	unix.SIGCONT, unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU,
	32, 33, 34,
}

// sigaction is the kernel's struct sigaction on every Linux port but MIPS:
// the handler comes first. Some ports have no restorer; for them the
// kernel reads and writes fewer bytes, and the handler is all this package
// looks at or sets.
type sigaction struct {
	handler  uintptr
	flags    uintptr
	restorer uintptr
	mask     uint64
}

const (
	sigDFL = 0
	sigIGN = 1
)

// resetIgnored sets every ignored signal of leftAlone back to its default.
// Only signals the runtime does not handle are touched, so its own state
// stays true.
func resetIgnored() error {
	for _, sig := range leftAlone {
		var old sigaction
		if err := rtSigaction(sig, nil, &old); err != nil {
			return fmt.Errorf("read the disposition of signal %d: %w", sig, err)
		}
		if old.handler != sigIGN {
			continue
		}
		if err := rtSigaction(sig, &sigaction{handler: sigDFL}, nil); err != nil {
			return fmt.Errorf("reset ignored signal %d to its default: %w", sig, err)
		}
	}
	return nil
}

func rtSigaction(sig unix.Signal, act, old *sigaction) error {
	// The last argument is the size of the kernel's sigset_t: 64 signals.
	_, _, errno := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig),
		uintptr(unsafe.Pointer(act)), uintptr(unsafe.Pointer(old)), 8, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}
