// Package supervisor runs N copies of a worker, each holding its own slot in
// a shared slot table, and keeps them running.
//
// Run is the whole algorithm: take the PID file, take N slots, spawn, then
// one goroutine — locked to its OS thread, since a child's parent-death
// signal follows the thread that forked it — owns every piece of mutable
// state. It forks, reaps (wait4(-1) on SIGCHLD, never exec.Cmd.Wait), runs
// the restart policy and the stop. Other goroutines only hand it signals and
// events. Idle, nothing wakes up.
//
// docs/architecture.md says who owns what; docs/states.md draws a slot's
// life. Every event is logged once, with slot and pid where they apply.
// Durations are logged as strings ("1.5s"), so text and JSON logs read the
// same.
package supervisor

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/oklog/run"
	"golang.org/x/sys/unix"

	"github.com/slotrun/slotrun/internal/sigcatch"
	"github.com/slotrun/slotrun/pidfile"
	"github.com/slotrun/slotrun/slots"
)

// supervisor is the state the loop goroutine owns. Other goroutines reach it
// only through the inbox, childExited and post.
type supervisor struct {
	opts    Options
	sys     system
	log     hclog.Logger
	self    int
	pidfile *pidfile.File
	table   slotTable
	slots   []*slot       // one per id, 0..opts.Slots-1
	byPID   map[int]*slot // running workers by main pid
	baseEnv []string
	devnull *os.File
	out     *output // nil without --prefix

	caught      *sigcatch.Set  // the signals, until the loop takes them
	inbox       *signalInbox   // signals with actions
	childExited chan os.Signal // SIGCHLD: time to reap
	events      chan event     // timers
	done        chan struct{}  // closed when the loop must end, or has
	quitOnce    sync.Once

	stopping  bool
	exitCode  int          // what slotrun exits with once stopped
	firstFail *exitStatus  // first failing exit of a slot ended by policy
	rolling   *rollingPlan // a rolling restart in progress
	rolls     rollingRecord
	strays    *strays // processes left behind, being stopped at exit
	badMoves  int     // moves outside the state machine: bugs (see move)
	srv       serving // sockets and readiness (serving.go)
	mgr       manager // slotrun's own service manager (manager.go)

	started            time.Time // when Run began, for status
	shuttingDown       bool      // a stop was asked for and waits out --shutdown-delay
	desiredAtStop      int       // workers kept when the stop began, for status
	waiters            []waiter  // control requests waiting for an outcome
	servers            []closer  // the control socket and HTTP servers
	awaitingFirstReady int       // the start's workers not yet ready once (memory.go)
}

func newSupervisor(opts Options, sys system) *supervisor {
	if opts.LogHold == nil {
		opts.LogHold = writeAtOnce{}
	}
	s := &supervisor{
		opts:        opts,
		sys:         sys,
		log:         opts.Logger,
		self:        os.Getpid(),
		byPID:       map[int]*slot{},
		inbox:       newSignalInbox(),
		events:      make(chan event, 64),
		childExited: make(chan os.Signal, 1),
		done:        make(chan struct{}),
	}
	s.slots = make([]*slot, opts.Slots)
	for i := range s.slots {
		// The slot is this host's; the id is what the worker is told, the
		// same as the slot unless there are replicas.
		s.slots[i] = &slot{id: i, log: s.log.Named(fmt.Sprintf("slot-%d", i)).With("slot", i, "id", opts.ID(i))}
	}
	if opts.Prefix {
		s.out = newOutput(opts.Name, opts.Stdout, opts.Stderr)
	}
	return s
}

// Run supervises the workers until a requested stop, a give-up, or the end of
// every slot, and returns slotrun's exit code. A non-nil error means start-up
// failed and nothing is left behind: the code is 1 (another instance runs,
// too few free slots), or 127/126 with a *StartError.
func Run(opts Options) (int, error) {
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	if opts.Stdout == nil {
		opts.Stdout = os.Stdout
	}
	if opts.Stderr == nil {
		opts.Stderr = os.Stderr
	}
	// PIPE stays caught: a write to a log reader that went away
	// (`slotrun … 2>&1 | head`) must fail rather than kill slotrun up to
	// its exit, the last log lines included, which are written after Run
	// returns.
	caught := opts.Caught
	if caught == nil {
		// A Run that catches its own signals gives them back before it
		// returns: a caller that goes on may catch them again, and
		// internal/sighold holds a signal for one holder at a time.
		caught = sigcatch.Start(CaughtSignals(opts.Signals))
		defer caught.Release(syscall.SIGPIPE)
	} else {
		// Giving the signals back costs a round trip with the runtime's
		// signal thread for each (about 0.4 ms in all), and the CLI exits
		// right after Run: it is done on the way out, not waited for
		// (docs/performance.md).
		defer func() { go caught.Release(syscall.SIGPIPE) }()
	}
	s := newSupervisor(opts, newRealSystem())
	s.caught = caught
	s.adoptActivation()
	s.readManager()
	useOneProcessor()
	reserveThreadsUnderPidsLimit()
	s.takeSignals()

	var code int
	var startErr error
	var g run.Group
	g.Add(func() error {
		// Never unlocked: the thread dies with the loop, and only then may
		// the parent-death signal fire.
		runtime.LockOSThread()
		if startErr = s.start(); startErr != nil {
			code = 1
			var se *StartError
			if errors.As(startErr, &se) {
				code = se.Code
			}
			return startErr
		}
		s.caught.Relay(s.inbox.add, s.done, catchDelay)
		s.afterStart()
		code = s.loop()
		return errLoopDone
	}, func(error) { s.quit() })
	g.Run()
	return code, startErr
}

var errLoopDone = errors.New("supervisor loop ended")

// catchDelay is how long after the start os/signal waits to catch the
// signals held until then (internal/sigcatch). Catching them is about a
// millisecond of round trips between threads, which would take a
// processor from the workers' own start; a signal that comes meanwhile is
// acted on once it is over (docs/performance.md, "Start-up of the
// supervisor").
const catchDelay = 3 * time.Millisecond

// CaughtSignals lists the signals a supervisor with these actions catches: CHLD,
// which drives reaping; every signal with an action; and PIPE, so that a
// log reader that went away (`slotrun … 2>&1 | head`) fails a write
// instead of killing slotrun and, through the parent-death signal, every
// worker. Catching rather than ignoring it matters: an ignored signal
// stays ignored across exec, and the workers would inherit that.
func CaughtSignals(actions map[syscall.Signal]Action) []os.Signal {
	list := []os.Signal{syscall.SIGCHLD, syscall.SIGPIPE}
	for sig := range actions {
		list = append(list, sig)
	}
	return list
}

// start takes the PID file and the slots, and spawns the first workers.
// On error it leaves nothing behind.
func (s *supervisor) start() (err error) {
	// As a subreaper, orphans of workers come back to us instead of to init,
	// so a worker's whole process group can be waited for and reaped.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		s.log.Warn("cannot become a child subreaper; orphans of workers go to init", "error", err)
	}
	s.started = s.sys.now()
	if s.pidfile, err = pidfile.Create(s.opts.PIDFile); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			s.pidfile.Remove()
		}
	}()
	// The sockets are bound before any worker starts and held for life.
	if err := s.openServing(); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			s.closeServing()
		}
	}()
	// The servers come up with the PID file's lock held, which proves a
	// control socket left at the path is stale, and before any worker:
	// an address in use stops slotrun before it starts anything.
	if err := s.serve(); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			s.closeServers()
		}
	}()
	// The file may have more slots than --slots (another supervisor shares
	// it, or an earlier run had more); this supervisor uses the first
	// --slots of them, so every id it hands out is below the count.
	table, err := slots.Open(s.opts.SlotsFile, s.opts.Slots)
	if err != nil {
		return err
	}
	s.table = table
	defer func() {
		if err != nil {
			s.releaseAll()
			s.table.Close()
		}
	}()
	if err := s.takeSlots(s.opts.Workers); err != nil {
		return err
	}
	if s.devnull, err = os.Open(os.DevNull); err != nil {
		return fmt.Errorf("open %s for the workers' stdin: %w", os.DevNull, err)
	}
	ids := []any{}
	if s.opts.Replicas > 1 {
		ids = []any{"ordinal", s.opts.Ordinal, "replicas", s.opts.Replicas,
			"ids", fmt.Sprintf("%d-%d of %d", s.opts.ID(0), s.opts.ID(s.opts.Slots-1), s.opts.IDCount())}
	}
	s.log.Info("starting", append([]any{"workers", s.opts.Workers, "slots", s.opts.Slots, "command", strings.Join(s.opts.Args, " "),
		"pidfile", s.opts.PIDFile, "slots_file", s.opts.SlotsFile}, ids...)...)
	if err := s.startWorkers(); err != nil {
		s.devnull.Close()
		return err
	}
	return nil
}

// takeSignals makes sure every signal with an action is caught before the
// PID file and the first worker exist: a signal that arrives while we
// start is held, and acted on once the workers exist. Most have been held
// since the packages were initialised (internal/prestart); the loop has
// them relayed to the inbox once the start is over (catchDelay).
func (s *supervisor) takeSignals() {
	s.caught.Match(CaughtSignals(s.opts.Signals))
	s.childExited = s.caught.Take(syscall.SIGCHLD)
}

// startWorkers starts a worker in every slot taken. If one cannot be
// started for a reason that only the program can cause (not found, not
// executable), those already started are killed: a restart would only find
// the same. A transient failure (EAGAIN under a pids limit) is a failed
// start of that slot, restarted with the backoff.
func (s *supervisor) startWorkers() error {
	s.baseEnv = append(workerEnv(os.Environ(), s.opts.Env, s.opts.IDCount()), s.servingEnv()...)
	for _, sl := range s.slots {
		if sl.holder == 0 {
			continue
		}
		err := s.startWorker(sl)
		if err == nil {
			continue
		}
		if f := classifyStartError(s.opts.Path, err); f.permanent {
			s.abortStart()
			return &StartError{Code: f.status.Code(), Err: f.why}
		}
		s.startFailed(sl, err)
	}
	return nil
}

// StartError is Run's error when the first worker could not be started; Code
// is 127 or 126, as a shell would exit.
type StartError struct {
	Code int
	Err  error
}

func (e *StartError) Error() string { return e.Err.Error() }
func (e *StartError) Unwrap() error { return e.Err }

// abortStart kills and reaps the workers already started, and forgets the
// slots that wait for a restart.
func (s *supervisor) abortStart() {
	for pid, sl := range s.byPID {
		s.signalGroup(sl, syscall.SIGKILL)
		for {
			if _, change, ok := s.sys.wait(pid, true); !ok || change.ended() {
				break
			}
		}
		delete(s.byPID, pid)
	}
	for _, sl := range s.slots {
		s.stopTimers(sl)
		sl.state = stateIdle
	}
}

// takeSlots holds the lowest n free slots in the supervisor's name, or none.
func (s *supervisor) takeSlots(n int) error {
	taken := 0
	for _, sl := range s.slots {
		if taken == n {
			break
		}
		if s.table.AcquireSlot(sl.id, s.self) == nil {
			sl.holder = s.self
			taken++
		}
	}
	if taken == n {
		return nil
	}
	s.releaseAll()
	var holders []string
	for _, h := range s.table.Snapshot()[:len(s.slots)] {
		if h.Alive && h.PID != s.self {
			holders = append(holders, fmt.Sprintf("slot %d by pid %d", h.Slot, h.PID))
		}
	}
	return fmt.Errorf("slot table %s: %d of the %d slots are free, %d needed; held: %s (stop those processes, or use another --slots-file or a larger --slots)",
		s.opts.SlotsFile, taken, len(s.slots), n, strings.Join(holders, ", "))
}

// finish gives back everything the supervisor held.
func (s *supervisor) finish() int {
	s.reportToManager() // a stop that ended at once was not reported yet
	for _, sl := range s.slots {
		s.stopTimers(sl)
	}
	s.releaseAll()
	s.table.Close()
	s.dropWaiters()
	s.closeServers()
	if s.out != nil {
		s.out.drain(s.opts.StopTimeout, s.log)
	}
	if err := s.pidfile.Remove(); err != nil {
		s.log.Warn("cannot remove the pid file", "path", s.opts.PIDFile, "error", err)
	}
	s.devnull.Close()
	s.closeServing()
	s.mgr.tick.stop()
	s.log.Info("stopped", "exit_code", s.exitCode)
	return s.exitCode
}
