// Package signame converts between signal names as people type them
// ("HUP", "SIGHUP", "hup", "1") and signal numbers.
//
// It is the one place slotrun parses a signal, so every flag, config key and
// subcommand accepts the same spellings and rejects the same mistakes.
package signame

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// ErrUnknown is wrapped by Parse for a name or number that is not a signal.
var ErrUnknown = errors.New("unknown signal")

// Parse accepts a signal name with or without the SIG prefix, in any case,
// or a signal number. Realtime signals are named RTMIN+n or by number.
func Parse(s string) (syscall.Signal, error) {
	name := strings.ToUpper(strings.TrimSpace(s))
	if name == "" {
		return 0, fmt.Errorf("%w: empty name (try TERM, HUP or 15)", ErrUnknown)
	}
	if n, err := strconv.Atoi(name); err == nil {
		if n < 1 || n > maxSignal {
			return 0, fmt.Errorf("%w %q: numbers run from 1 to %d", ErrUnknown, s, maxSignal)
		}
		return syscall.Signal(n), nil
	}
	name = strings.TrimPrefix(name, "SIG")
	if rest, ok := strings.CutPrefix(name, "RTMIN+"); ok {
		if n, err := strconv.Atoi(rest); err == nil && n >= 0 && rtmin+n <= maxSignal {
			return syscall.Signal(rtmin + n), nil
		}
	}
	if sig := unix.SignalNum("SIG" + name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("%w %q (try TERM, HUP, USR1 or a number)", ErrUnknown, s)
}

// Name returns the short name of sig without the SIG prefix ("HUP"), or its
// number when it has no name.
func Name(sig syscall.Signal) string {
	if n := unix.SignalName(sig); n != "" {
		return strings.TrimPrefix(n, "SIG")
	}
	if int(sig) >= rtmin && int(sig) <= maxSignal {
		return fmt.Sprintf("RTMIN+%d", int(sig)-rtmin)
	}
	return strconv.Itoa(int(sig))
}

// Linux numbers realtime signals from 34 (glibc reserves 32 and 33) to 64.
const (
	rtmin     = 34
	maxSignal = 64
)
