package supervisor

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/slotrun/slotrun/internal/sigcatch"
	"github.com/slotrun/slotrun/internal/signame"
	"github.com/slotrun/slotrun/listen"
)

// Options say what to run and how to keep it running. Run validates nothing
// that the caller could have validated (the config package does that); it
// trusts Path to be an executable and Workers ≤ Slots.
type Options struct {
	Name      string   // instance name, used in log lines and prefixes
	Path      string   // resolved executable of the worker
	Args      []string // argv of the worker, Args[0] as the user typed it
	Env       []string // KEY=VALUE added to every worker's environment
	Workers   int      // workers started at once
	Slots     int      // size of the id space; COMET_PROCESS_COUNT
	PIDFile   string
	SlotsFile string

	// Ordinal and Replicas make ids unique across Replicas copies of
	// slotrun, each with its own slot table: slot k of copy Ordinal is
	// worker id Ordinal·Slots + k, of Replicas·Slots (see ID, IDCount, and
	// docs/replicas.md).
	Ordinal  int // 0..Replicas-1
	Replicas int // at least 1

	Restart       Policy
	MinUptime     time.Duration // a worker up this long restarts at once
	BackoffMin    time.Duration
	BackoffMax    time.Duration
	MaxRestarts   int           // 0: no limit
	RestartWindow time.Duration // the window MaxRestarts counts in

	StopSignal  syscall.Signal
	StopTimeout time.Duration

	// Signals maps a signal to what the supervisor does with it. Signals not
	// in the map keep Go's default disposition. DefaultActions is the usual
	// base to merge user choices over.
	Signals map[syscall.Signal]Action

	// Listen are the sockets bound once and passed to every worker
	// (docs/sockets.md).
	Listen []listen.Spec

	// Ready says when a worker counts as ready; ReadyTimeout (0: none)
	// bounds how long a notify worker may take; Watchdog (0: off) is how
	// long a notify worker may go without WATCHDOG=1 (docs/readiness.md).
	Ready        ReadyMode
	ReadyTimeout time.Duration
	Watchdog     time.Duration

	// Prefix routes each worker's stdout and stderr through pipes and writes
	// every line with a "[NAME:SLOT] " prefix.
	Prefix bool
	Stdout io.Writer // where prefixed lines go; os.Stdout when nil
	Stderr io.Writer // os.Stderr when nil

	Logger hclog.Logger // hclog.NewNullLogger() when nil
	// LogHold, if set, is the stream under Logger: the supervisor holds its
	// lines through a round of restarts, and writes what it holds before
	// each fork (internal/logwriter; docs/performance.md, "A restart").
	LogHold LineHolder

	// Caught holds the signals the process began to catch before it read
	// its settings (internal/prestart); Run catches exactly CaughtSignals(Signals).
	// nil: Run catches them itself.
	Caught *sigcatch.Set

	// Control is the control socket's path; "" serves none.
	Control string
	// HTTP is the address of the metrics and health server; "" serves none.
	HTTP string
	// MinReady is how many ready workers /readyz and `status --check` want.
	MinReady int
	// ShutdownDelay is how long a requested stop waits, with /readyz
	// already failing, before the stop signal goes to the workers.
	ShutdownDelay time.Duration
	// Version is what status and slotrun_build_info report.
	Version string
}

// Policy says which worker exits lead to a restart.
type Policy int

const (
	RestartAlways    Policy = iota // every exit is restarted
	RestartOnFailure               // exit 0 ends the slot
	RestartNever                   // every exit ends the slot
)

var policyNames = []string{"always", "on-failure", "never"}

func (p Policy) String() string {
	if int(p) < len(policyNames) {
		return policyNames[p]
	}
	return fmt.Sprintf("Policy(%d)", int(p))
}

// ParsePolicy reads "always", "on-failure" or "never", in any case, as
// signal names and log levels are read.
func ParsePolicy(s string) (Policy, error) {
	for i, name := range policyNames {
		if strings.EqualFold(strings.TrimSpace(s), name) {
			return Policy(i), nil
		}
	}
	return 0, fmt.Errorf("%q is not a restart policy (use always, on-failure or never)", s)
}

// ActionKind is what the supervisor does when a signal arrives.
type ActionKind int

const (
	ActForward   ActionKind = iota // send it (or Action.Signal) to every worker's group
	ActStop                        // graceful stop
	ActRestart                     // rolling restart, one slot at a time
	ActScaleUp                     // one more worker
	ActScaleDown                   // one fewer worker
	ActIgnore                      // nothing
)

var actionNames = []string{"forward", "stop", "restart", "scale-up", "scale-down", "ignore"}

// Action is one entry of the signal table.
type Action struct {
	Kind   ActionKind
	Signal syscall.Signal // for ActForward: the signal to send; 0 sends the one received
}

func (a Action) String() string {
	name := actionNames[a.Kind]
	if a.Kind == ActForward && a.Signal != 0 {
		return name + ":" + signame.Name(a.Signal)
	}
	return name
}

// ParseAction reads "forward", "forward:SIG", "stop", "restart", "scale-up",
// "scale-down" or "ignore", in any case.
func ParseAction(s string) (Action, error) {
	word := strings.ToLower(strings.TrimSpace(s))
	if strings.HasPrefix(word, "forward:") {
		target := strings.TrimSpace(s)[len("forward:"):]
		sig, err := signame.Parse(target)
		if err == nil {
			err = CheckSendable(sig)
		}
		if err != nil {
			return Action{}, fmt.Errorf("action %q: %w", s, err)
		}
		return Action{Kind: ActForward, Signal: sig}, nil
	}
	for i, name := range actionNames {
		if word == name {
			return Action{Kind: ActionKind(i)}, nil
		}
	}
	return Action{}, fmt.Errorf("%q is not an action (use forward, forward:SIG, stop, restart, scale-up, scale-down or ignore)", s)
}

var (
	// ErrUncatchable is returned by CheckSignal for signals the supervisor
	// cannot or must not take over.
	ErrUncatchable = errors.New("cannot be given an action")
	// ErrReserved is returned by CheckSendable for the signals the Go
	// runtime and the C library keep for themselves.
	ErrReserved = errors.New("is reserved")
)

// reservedSignals are kept by the Go runtime and the C library, in slotrun
// and in most workers, and say why. Caught by slotrun, URG would fire its
// action all the time (every goroutine preemption) and PROF never (the
// runtime drops it when it is not profiling); 32 and 33 are glibc's
// SIGCANCEL and SIGSETXID. Sent to a worker, each reaches its runtime or
// libc rather than its code: a stop by one of them always ends in SIGKILL.
var reservedSignals = map[syscall.Signal]string{
	syscall.SIGURG:  "the Go runtime sends it to its own threads to preempt them",
	syscall.SIGPROF: "the Go runtime takes it for its profiler and never passes it on",
	32:              "the C library keeps it for its threads (real-time signals for programs start at RTMIN, 34)",
	33:              "the C library keeps it for its threads (real-time signals for programs start at RTMIN, 34)",
}

// CheckSignal reports whether sig may be given an action: KILL and STOP
// cannot be caught, CHLD drives reaping, and the reserved signals belong to
// the Go runtime and the C library.
func CheckSignal(sig syscall.Signal) error {
	switch sig {
	case syscall.SIGKILL, syscall.SIGSTOP:
		return fmt.Errorf("%s %w: the kernel does not let a process catch it", signame.Name(sig), ErrUncatchable)
	case syscall.SIGCHLD:
		return fmt.Errorf("%s %w: slotrun reaps workers with it", signame.Name(sig), ErrUncatchable)
	}
	if why, ok := reservedSignals[sig]; ok {
		return fmt.Errorf("%s %w: %s", signame.Name(sig), ErrUncatchable, why)
	}
	return nil
}

// CheckSendable reports whether sig may be sent to workers, as the stop
// signal or by forward:SIG. Any signal may, KILL included (a stop without
// grace period), but the reserved ones.
func CheckSendable(sig syscall.Signal) error {
	if why, ok := reservedSignals[sig]; ok {
		return fmt.Errorf("%s %w: %s", signame.Name(sig), ErrReserved, why)
	}
	return nil
}

// DefaultActions returns the default signal table (README.md, "Signals").
func DefaultActions() map[syscall.Signal]Action {
	return map[syscall.Signal]Action{
		syscall.SIGTERM:  {Kind: ActStop},
		syscall.SIGINT:   {Kind: ActStop},
		syscall.SIGHUP:   {Kind: ActForward},
		syscall.SIGQUIT:  {Kind: ActForward},
		syscall.SIGUSR1:  {Kind: ActForward},
		syscall.SIGUSR2:  {Kind: ActForward},
		syscall.SIGWINCH: {Kind: ActForward},
		syscall.SIGTTIN:  {Kind: ActScaleUp},
		syscall.SIGTTOU:  {Kind: ActScaleDown},
		// Job control: Ctrl-Z stops the workers and then slotrun, and
		// CONT (fg, bg) continues them (see onSignal).
		syscall.SIGTSTP: {Kind: ActForward},
		syscall.SIGCONT: {Kind: ActForward},
	}
}

// ID is the worker id of slot: COMET_PROCESS_ID, unique across replicas.
func (o *Options) ID(slot int) int { return o.Ordinal*o.Slots + slot }

// IDCount is the size of the id space of all replicas together:
// COMET_PROCESS_COUNT.
func (o *Options) IDCount() int { return max(o.Replicas, 1) * o.Slots }

// LineHolder keeps the lines a logger writes between Hold and Release, and
// writes them together at Flush and Release (*logwriter.Writer does).
type LineHolder interface {
	Hold()
	Flush() // writes what is held, and goes on holding
	Release()
}

// writeAtOnce is the LineHolder of a logger whose lines are not held.
type writeAtOnce struct{}

func (writeAtOnce) Hold()    {}
func (writeAtOnce) Flush()   {}
func (writeAtOnce) Release() {}
