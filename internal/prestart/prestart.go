// Package prestart does, while Go initialises slotrun's packages, the two
// things a supervisor does before anything else: it gives the process a
// clean signal state (internal/sigstate) and begins catching the
// supervisor's signals (internal/sigcatch).
//
// Catching them here, they are held from the first moments of the process
// for two system calls each (internal/sighold); os/signal catches them
// once the workers are started (docs/performance.md, "Start-up of the
// supervisor"). This package depends only on those and the standard
// library, so its init runs early; the client commands (`slotrun signal`,
// `status`, ...) catch nothing and pay nothing.
package prestart

import (
	"os"
	"slices"
	"syscall"

	// The exec shim's init goes first: in a shim process nothing else runs.
	_ "github.com/slotrun/slotrun/internal/execshim"
	"github.com/slotrun/slotrun/internal/sigcatch"
	"github.com/slotrun/slotrun/internal/sigstate"
)

// ClientCommands are slotrun's subcommands that are not a supervisor: the
// first argument that names one of them.
var ClientCommands = []string{"signal", "status", "scale", "restart", "stop", "help", "version", "--version"}

// DefaultSignals are the signals a supervisor catches with the default
// settings (supervisor.DefaultActions; a test keeps the two the same), but
// TERM, INT and QUIT: Run holds those, with what the settings add,
// before the PID file exists. Until then they end slotrun at once, as a
// user who presses Ctrl-C while it reads its settings (a config file on a
// FIFO, or a hung mount) expects; caught here, they would wait for the
// start and stop the workers it had just started.
var DefaultSignals = []os.Signal{
	syscall.SIGCHLD, syscall.SIGPIPE, syscall.SIGHUP,
	syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH,
	syscall.SIGTTIN, syscall.SIGTTOU, syscall.SIGTSTP, syscall.SIGCONT,
}

var (
	// CleanErr is what sigstate.Clean could not reset, for main to report.
	CleanErr error
	// signals is being caught for a supervisor; nil for a client command.
	signals *sigcatch.Set
)

// TakeSignals hands the signals being caught to the one supervisor that
// runs in this process; nil if none are, or they were taken already.
func TakeSignals() *sigcatch.Set {
	s := signals
	signals = nil
	return s
}

func init() {
	// Before anything else: workers get the signal state slotrun has, and
	// a parent may have blocked or ignored signals (docs/output.md). With
	// signals blocked this execs slotrun again, with the same PID.
	CleanErr = sigstate.Clean()
	if Supervises(os.Args[1:]) {
		signals = sigcatch.Start(DefaultSignals)
	}
}

// Supervises reports whether slotrun run with args is a supervisor.
func Supervises(args []string) bool {
	return len(args) == 0 || !slices.Contains(ClientCommands, args[0])
}
