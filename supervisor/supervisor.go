// Package supervisor runs N copies of a worker, each holding its own slot in
// a shared slot table, and keeps them running.
//
// Run is the whole algorithm: take the PID file, take N slots, spawn, then
// one goroutine — locked to its OS thread, since a child's parent-death
// signal follows the thread that forked it — owns every piece of mutable
// state. It forks, reaps (wait4(-1) on SIGCHLD, never exec.Cmd.Wait), runs
// the restart policy and the stop. Other goroutines only send it events:
// signals, and timers that fall due. Idle, nothing wakes up.
//
// Every event is logged once, with slot and pid where they apply. Durations
// are logged as strings ("1.5s"), so text and JSON logs read the same.
package supervisor

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"

	"github.com/hashicorp/go-hclog"
	"github.com/oklog/run"
	"golang.org/x/sys/unix"

	"github.com/slotrun/slotrun/pidfile"
	"github.com/slotrun/slotrun/slots"
)

// Run supervises the workers until a requested stop, a give-up, or the end of
// every slot, and returns slotrun's exit code. A non-nil error means start-up
// failed (another instance runs, too few free slots): nothing is left behind
// and the code is 1.
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

	// Catch signals first: one that arrives while we start is queued and
	// acted on once the workers exist.
	sigs := make(chan os.Signal, 64)
	signal.Notify(sigs, caught(opts.Signals)...)
	defer signal.Stop(sigs)

	s := newSupervisor(opts)
	var code int
	var startErr error
	var g run.Group
	g.Add(func() error {
		// Never unlocked: the thread dies with the loop, and only then may
		// the parent-death signal fire.
		runtime.LockOSThread()
		if startErr = s.start(); startErr != nil {
			code = 1
			return startErr
		}
		code = s.loop()
		return errLoopDone
	}, func(error) { s.quit() })
	g.Add(func() error {
		for {
			select {
			case sig := <-sigs:
				s.post(signalEvent{sig.(syscall.Signal)})
			case <-s.done:
				return nil
			}
		}
	}, func(error) { s.quit() })
	g.Run()
	return code, startErr
}

var errLoopDone = errors.New("supervisor loop ended")

// caught lists the signals the supervisor takes over: every one with an
// action, CHLD for reaping, and PIPE, so that a log reader that went away
// (`slotrun … 2>&1 | head`) fails a write instead of killing slotrun and,
// through the parent-death signal, every worker. Catching rather than
// ignoring it matters: an ignored signal stays ignored across exec, and the
// workers would inherit that.
func caught(actions map[syscall.Signal]Action) []os.Signal {
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
	s.pidfile, err = pidfile.Create(s.opts.PIDFile)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			s.pidfile.Remove()
		}
	}()
	s.table, err = slots.Open(s.opts.SlotsFile, s.opts.Slots)
	if err != nil {
		return err
	}
	// The file may hold more slots than asked for (never fewer): its size is
	// the id space every worker is told about.
	s.slots = make([]*slot, s.table.Size())
	for i := range s.slots {
		s.slots[i] = &slot{id: i, log: s.log.Named(fmt.Sprintf("slot-%d", i)).With("slot", i)}
	}
	s.baseEnv = workerEnv(os.Environ(), s.opts.Env, s.table.Size())
	if err := s.takeSlots(s.opts.Workers); err != nil {
		s.table.Close()
		return err
	}
	if s.devnull, err = os.Open(os.DevNull); err != nil {
		s.releaseAll()
		s.table.Close()
		return fmt.Errorf("open %s for the workers' stdin: %w", os.DevNull, err)
	}
	s.log.Info("starting", "workers", s.opts.Workers, "slots", s.table.Size(), "command", strings.Join(s.opts.Args, " "),
		"pidfile", s.opts.PIDFile, "slots_file", s.opts.SlotsFile)
	for _, sl := range s.slots {
		if sl.holder != 0 {
			s.spawn(sl)
		}
	}
	return nil
}

// takeSlots holds the lowest n free slots in the supervisor's name, or none.
func (s *supervisor) takeSlots(n int) error {
	taken := 0
	for i := 0; i < s.table.Size() && taken < n; i++ {
		if s.table.AcquireSlot(i, s.self) == nil {
			s.slots[i].holder = s.self
			taken++
		}
	}
	if taken == n {
		return nil
	}
	s.releaseAll()
	var holders []string
	for _, h := range s.table.Snapshot() {
		if h.Alive && h.PID != s.self {
			holders = append(holders, fmt.Sprintf("%d (pid %d)", h.Slot, h.PID))
		}
	}
	return fmt.Errorf("slot table %s: %d of %d slots are free, %d needed; held: %s (stop them, or use --slots-file or a larger --slots)",
		s.opts.SlotsFile, taken, s.table.Size(), n, strings.Join(holders, ", "))
}
