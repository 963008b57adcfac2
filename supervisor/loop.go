package supervisor

import (
	"errors"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"

	"github.com/slotrun/slotrun/internal/signame"
	"github.com/slotrun/slotrun/pidfile"
	"github.com/slotrun/slotrun/slots"
)

// supervisor is the state the loop goroutine owns. Other goroutines reach it
// only through post.
type supervisor struct {
	opts    Options
	log     hclog.Logger
	self    int
	pidfile *pidfile.File
	table   *slots.Table
	slots   []*slot
	byPID   map[int]*slot // running workers by main pid
	baseEnv []string
	devnull *os.File
	out     *output

	events   chan any
	done     chan struct{} // closed when the loop ends
	quitOnce sync.Once

	stopping  bool
	exitCode  int          // what slotrun exits with once stopped
	firstFail *exitStatus  // first failing exit of an ended slot (on-failure, never)
	rolling   *rollingPlan // a rolling restart in progress
}

type signalEvent struct{ sig syscall.Signal }

// timerEvent is a timer of one slot falling due. gen must still match the
// slot's, else the timer was cancelled after it fired.
type timerEvent struct {
	slot *slot
	gen  uint64
	kind timerKind
}

type timerKind int

const (
	timerRestart timerKind = iota // backoff over: start the worker
	timerKill                     // stop timeout over: SIGKILL the group
	timerRecheck                  // SIGKILLed group not gone yet: look again
	timerUp                       // rolling restart: the new worker stayed up
)

// rollingPlan is a rolling restart: one slot at a time, the next once the
// new worker has stayed up for min_uptime.
type rollingPlan struct {
	queue   []int
	current *slot
	again   bool // another restart was asked for meanwhile
}

func newSupervisor(opts Options) *supervisor {
	s := &supervisor{
		opts:   opts,
		log:    opts.Logger,
		self:   os.Getpid(),
		byPID:  map[int]*slot{},
		events: make(chan any, 64),
		done:   make(chan struct{}),
	}
	if opts.Prefix {
		s.out = newOutput(opts.Name, opts.Stdout, opts.Stderr)
	}
	return s
}

// post hands an event to the loop; after the loop has ended it is dropped.
func (s *supervisor) post(ev any) {
	select {
	case s.events <- ev:
	case <-s.done:
	}
}

func (s *supervisor) quit() { s.quitOnce.Do(func() { close(s.done) }) }

// loop handles events until the supervisor has stopped, and returns the exit
// code.
func (s *supervisor) loop() int {
	defer s.quit()
	// SIGCHLD may have come and gone while we spawned; reap once to be sure.
	s.reap()
	for !s.finished() {
		select {
		case ev := <-s.events:
			switch ev := ev.(type) {
			case signalEvent:
				s.onSignal(ev.sig)
			case timerEvent:
				if ev.gen == ev.slot.gen {
					s.onTimer(ev.slot, ev.kind)
				}
			}
		case <-s.done:
			return s.finish()
		}
	}
	return s.finish()
}

// finished reports whether the supervisor is done: stopping (or every slot
// ended by policy) and no worker left.
func (s *supervisor) finished() bool {
	for _, sl := range s.slots {
		if sl.state != slotIdle {
			return false
		}
	}
	return true
}

// finish gives back everything the supervisor held.
func (s *supervisor) finish() int {
	for _, sl := range s.slots {
		s.cancelTimer(sl)
		if sl.state == slotRunning {
			// Only when the loop is torn down from outside.
			signalGroup(sl.pid, syscall.SIGKILL)
		}
	}
	s.releaseAll()
	s.table.Close()
	if s.out != nil {
		s.out.wait()
	}
	if err := s.pidfile.Remove(); err != nil {
		s.log.Warn("cannot remove the pid file", "path", s.opts.PIDFile, "error", err)
	}
	s.devnull.Close()
	s.log.Info("stopped", "exit_code", s.exitCode)
	return s.exitCode
}

func (s *supervisor) releaseAll() {
	for _, sl := range s.slots {
		if sl.holder != 0 {
			s.release(sl)
		}
	}
}

func (s *supervisor) release(sl *slot) {
	if err := s.table.Release(sl.id, sl.holder); err != nil {
		sl.log.Warn("cannot release the slot", "error", err)
	}
	sl.holder = 0
}

// --- timers ---------------------------------------------------------------

func (s *supervisor) setTimer(sl *slot, d time.Duration, kind timerKind) {
	s.cancelTimer(sl)
	gen := sl.gen
	sl.timer = time.AfterFunc(d, func() { s.post(timerEvent{sl, gen, kind}) })
}

func (s *supervisor) cancelTimer(sl *slot) {
	if sl.timer != nil {
		sl.timer.Stop()
		sl.timer = nil
	}
	sl.gen++
}

func (s *supervisor) onTimer(sl *slot, kind timerKind) {
	sl.timer = nil
	switch kind {
	case timerRestart:
		s.spawn(sl)
	case timerKill:
		s.kill(sl)
	case timerRecheck:
		s.checkGroup(sl)
		if sl.state == slotDraining {
			s.setTimer(sl, recheckInterval, timerRecheck)
		}
	case timerUp:
		s.rollNext()
	}
}

// --- reaping --------------------------------------------------------------

// reap collects every child that has ended: workers go to their slots,
// anything else (orphans re-parented to us) is reaped quietly.
func (s *supervisor) reap() {
	var ended []*slot
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if pid <= 0 || err != nil {
			break
		}
		sl, ok := s.byPID[pid]
		if !ok {
			s.log.Trace("reaped an orphan", "pid", pid)
			continue
		}
		delete(s.byPID, pid)
		sl.lastExit = exitStatusOf(ws)
		ended = append(ended, sl)
	}
	for _, sl := range ended {
		s.onExit(sl)
	}
	// An orphan's exit may have emptied a draining worker's group.
	for _, sl := range s.slots {
		if sl.state == slotDraining {
			s.checkGroup(sl)
		}
	}
}

// onExit handles the end of a worker's main process.
func (s *supervisor) onExit(sl *slot) {
	uptime := time.Since(sl.started)
	args := append([]any{"pid", sl.pid, "uptime", uptime.Round(time.Millisecond).String()}, sl.lastExit.logArgs()...)
	switch {
	case s.stopping || sl.removing || sl.restartIt || sl.lastExit.success():
		sl.log.Info("worker exited", args...)
	default:
		sl.log.Warn("worker exited", args...)
	}
	// Hold the slot in our own name while it waits, so nobody else takes it.
	if sl.holder == sl.pid {
		if err := s.table.Transfer(sl.id, sl.pid, s.self); err != nil {
			// Between the worker's death and this reap the slot looked
			// free, and another process took it. Wait until it is free.
			sl.log.Warn("slot taken by another process while its worker ended; will retake it", "error", err)
			sl.holder = 0
		} else {
			sl.holder = s.self
		}
	}
	if s.rolling != nil && s.rolling.current == sl && !sl.restartIt {
		s.log.Warn("rolling restart halted: the new worker did not stay up", "slot", sl.id, "min_uptime", s.opts.MinUptime.String())
		s.rolling = nil
	}
	sl.state = slotDraining
	if groupAlive(sl.pid) {
		// What the worker left in its group is stopped like the worker —
		// again if a stop is under way, since a process may have been born
		// after the first signal (a TERM handler that starts a cleanup
		// helper). The kill deadline already running stays as it is.
		sl.log.Debug("stopping what the worker left in its process group", "signal", signame.Name(s.opts.StopSignal))
		if sl.stopSent {
			signalGroup(sl.pid, s.opts.StopSignal)
		} else {
			s.stopGroup(sl)
		}
	}
	s.checkGroup(sl)
}

// checkGroup moves a draining slot on once its process group is gone.
func (s *supervisor) checkGroup(sl *slot) {
	if sl.state != slotDraining || groupAlive(sl.pid) {
		return
	}
	s.cancelTimer(sl)
	sl.stopSent = false
	sl.state = slotWaiting
	s.afterExit(sl)
}

// afterExit decides what comes next for a slot whose worker is wholly gone.
func (s *supervisor) afterExit(sl *slot) {
	switch {
	case s.stopping || sl.removing:
		s.endSlot(sl)
	case sl.restartIt:
		sl.restartIt = false
		s.spawn(sl)
		s.rollWatch(sl)
	case s.opts.Restart == RestartNever,
		s.opts.Restart == RestartOnFailure && sl.lastExit.success():
		s.endSlot(sl)
		if !s.stopping && !s.anyActive() {
			s.exitCode = 0
			if s.firstFail != nil {
				s.exitCode = s.firstFail.Code()
				s.log.Info("every slot has ended; exiting with the first failing worker's code", "code", s.exitCode)
			} else {
				s.log.Info("every slot has ended")
			}
		}
	default:
		s.scheduleRestart(sl)
	}
}

// endSlot gives the slot up for good (until a scale-up takes it again).
func (s *supervisor) endSlot(sl *slot) {
	if !sl.lastExit.success() && s.firstFail == nil && !s.stopping {
		st := sl.lastExit
		s.firstFail = &st
	}
	s.cancelTimer(sl)
	if sl.holder != 0 {
		s.release(sl)
	}
	sl.state = slotIdle
	sl.removing = false
	sl.failures = 0
	sl.restarts = nil
}

func (s *supervisor) anyActive() bool {
	for _, sl := range s.slots {
		if sl.active() {
			return true
		}
	}
	return false
}

// scheduleRestart applies max-restarts and the backoff.
func (s *supervisor) scheduleRestart(sl *slot) {
	now := time.Now()
	if k := s.opts.MaxRestarts; k > 0 {
		recent := sl.restarts[:0]
		for _, t := range sl.restarts {
			if now.Sub(t) < s.opts.RestartWindow {
				recent = append(recent, t)
			}
		}
		sl.restarts = recent
		if len(recent) >= k {
			s.giveUp(sl)
			return
		}
		sl.restarts = append(sl.restarts, now)
	}
	// A worker that never started (pid 0: exec failed) is a quick failure
	// whatever min_uptime says, so a broken binary cannot spin.
	quick := sl.pid == 0 || now.Sub(sl.started) < s.opts.MinUptime
	delay := time.Duration(0)
	if quick {
		sl.failures++
		delay = Backoff(sl.failures, s.opts.BackoffMin, s.opts.BackoffMax)
	} else {
		sl.failures = 0
	}
	sl.log.Info("restart scheduled", "delay", delay.String(), "failures", sl.failures)
	if !quick {
		s.spawn(sl)
		return
	}
	s.setTimer(sl, delay, timerRestart)
}

func (s *supervisor) giveUp(sl *slot) {
	code := sl.lastExit.Code()
	if code == 0 {
		code = 1
	}
	sl.log.Error("giving up: the slot failed too often", "rule", "max-restarts", "max_restarts", s.opts.MaxRestarts,
		"window", s.opts.RestartWindow.String(), "exit_code", code)
	s.endSlot(sl)
	s.beginStop(code)
}

// --- spawning -------------------------------------------------------------

// spawn starts a worker in sl, which the supervisor must hold (or retake).
func (s *supervisor) spawn(sl *slot) {
	if sl.holder == 0 {
		if err := s.table.AcquireSlot(sl.id, s.self); err != nil {
			sl.failures++
			delay := Backoff(sl.failures, s.opts.BackoffMin, s.opts.BackoffMax)
			sl.log.Warn("slot is held by another process; waiting for it", "error", err, "delay", delay.String())
			sl.state = slotWaiting
			s.setTimer(sl, delay, timerRestart)
			return
		}
		sl.holder = s.self
	}
	stdout, stderr := os.Stdout, os.Stderr
	var pipes *workerPipes
	if s.out != nil {
		var err error
		if pipes, err = s.out.pipes(sl.id); err != nil {
			sl.log.Error("cannot create output pipes", "error", err)
		} else {
			stdout, stderr = pipes.stdoutW, pipes.stderrW
		}
	}
	sl.started = time.Now()
	pid, err := s.fork(sl.id, stdout, stderr)
	if pipes != nil {
		pipes.afterFork(err == nil)
	}
	if err != nil {
		sl.log.Error("cannot start the worker", "error", err)
		sl.lastExit = execFailure(err)
		sl.pid = 0
		sl.state = slotWaiting
		s.afterExit(sl)
		return
	}
	// If the worker already exited (it may, before we look), the slot
	// stays in our name: it is held either way.
	if err := s.table.Transfer(sl.id, s.self, pid); err == nil {
		sl.holder = pid
	} else {
		sl.log.Debug("slot stays in the supervisor's name", "pid", pid, "error", err)
	}
	sl.pid = pid
	sl.state = slotRunning
	sl.stopSent = false
	s.byPID[pid] = sl
	sl.log.Info("worker started", "pid", pid)
}

// --- stopping -------------------------------------------------------------

// stopGroup sends the stop signal to the slot's process group and starts
// its kill deadline.
func (s *supervisor) stopGroup(sl *slot) {
	sl.stopSent = true
	if s.opts.StopTimeout <= 0 {
		s.kill(sl)
		return
	}
	if err := signalGroup(sl.pid, s.opts.StopSignal); err != nil && !errors.Is(err, unix.ESRCH) {
		sl.log.Warn("cannot signal the worker", "pid", sl.pid, "error", err)
	}
	s.setTimer(sl, s.opts.StopTimeout, timerKill)
}

// kill SIGKILLs the slot's process group: its stop timeout ran out.
func (s *supervisor) kill(sl *slot) {
	if sl.state != slotRunning && sl.state != slotDraining {
		return
	}
	sl.log.Warn("killing the worker's process group: it outlived the stop timeout", "pid", sl.pid, "stop_timeout", s.opts.StopTimeout.String())
	if s.stopping && s.exitCode == 0 {
		s.exitCode = 1
	}
	signalGroup(sl.pid, syscall.SIGKILL)
	// Our children's deaths arrive as SIGCHLD; a group member that is not
	// our child (its parent lives outside the group) does not signal us.
	if sl.state == slotDraining {
		s.setTimer(sl, recheckInterval, timerRecheck)
	}
}

// recheckInterval paces the look at a SIGKILLed group whose end we cannot be
// told of. It runs only in that rare case.
const recheckInterval = 20 * time.Millisecond

// beginStop starts a graceful stop that ends with exit code code.
func (s *supervisor) beginStop(code int) {
	if s.stopping {
		return
	}
	s.stopping = true
	s.exitCode = code
	s.rolling = nil
	s.log.Info("stopping", "signal", signame.Name(s.opts.StopSignal), "timeout", s.opts.StopTimeout.String(), "workers", len(s.byPID))
	for _, sl := range s.slots {
		switch sl.state {
		case slotWaiting:
			s.endSlot(sl)
		case slotRunning:
			s.stopGroup(sl)
		}
	}
}

// killAll is the answer to a second stop request: no more waiting.
func (s *supervisor) killAll() {
	s.log.Warn("second stop request: killing every worker now")
	for _, sl := range s.slots {
		s.kill(sl)
	}
}

// --- signals --------------------------------------------------------------

func (s *supervisor) onSignal(sig syscall.Signal) {
	if sig == syscall.SIGCHLD {
		s.reap()
		return
	}
	act, ok := s.opts.Signals[sig]
	if !ok {
		return
	}
	s.log.Info("signal received", "signal", signame.Name(sig), "action", act.String())
	switch act.Kind {
	case ActForward:
		target := sig
		if act.Signal != 0 {
			target = act.Signal
		}
		s.forward(target)
	case ActStop:
		if s.stopping {
			s.killAll()
			return
		}
		s.beginStop(0)
	case ActRestart:
		s.rollStart()
	case ActScaleUp:
		s.scaleUp()
	case ActScaleDown:
		s.scaleDown()
	case ActIgnore:
	}
}

func (s *supervisor) forward(sig syscall.Signal) {
	for _, sl := range s.slots {
		if sl.state == slotRunning {
			if err := signalGroup(sl.pid, sig); err != nil && !errors.Is(err, unix.ESRCH) {
				sl.log.Warn("cannot forward the signal", "signal", signame.Name(sig), "pid", sl.pid, "error", err)
			}
		}
	}
}

func (s *supervisor) scaleUp() {
	if s.stopping {
		return
	}
	for _, sl := range s.slots {
		if sl.state != slotIdle {
			continue
		}
		if err := s.table.AcquireSlot(sl.id, s.self); err != nil {
			continue // held by a process outside this supervisor
		}
		sl.holder = s.self
		sl.log.Info("scaling up")
		s.spawn(sl)
		return
	}
	s.log.Warn("scale-up: no free slot; start with --slots larger than --workers to leave room", "slots", len(s.slots))
}

func (s *supervisor) scaleDown() {
	if s.stopping {
		return
	}
	var last *slot
	n := 0
	for _, sl := range s.slots {
		if sl.active() {
			last = sl
			n++
		}
	}
	if n <= 1 {
		s.log.Warn("scale-down: one worker is the minimum")
		return
	}
	last.removing = true
	last.log.Info("scaling down", "pid", last.pid)
	switch last.state {
	case slotRunning:
		s.stopGroup(last)
	case slotWaiting:
		s.endSlot(last)
	}
}

// --- rolling restart ------------------------------------------------------

func (s *supervisor) rollStart() {
	if s.stopping {
		return
	}
	if s.rolling != nil {
		s.rolling.again = true
		s.log.Info("rolling restart in progress; another round will follow")
		return
	}
	plan := &rollingPlan{}
	for _, sl := range s.slots {
		if sl.active() {
			plan.queue = append(plan.queue, sl.id)
		}
	}
	s.rolling = plan
	s.log.Info("rolling restart", "workers", len(plan.queue))
	s.rollNext()
}

// rollNext restarts the next running slot of the plan.
func (s *supervisor) rollNext() {
	plan := s.rolling
	if plan == nil {
		return
	}
	for len(plan.queue) > 0 {
		sl := s.slots[plan.queue[0]]
		plan.queue = plan.queue[1:]
		if sl.state != slotRunning || sl.removing {
			continue // not running now: its next start is fresh anyway
		}
		plan.current = sl
		sl.restartIt = true
		s.stopGroup(sl)
		return
	}
	s.rolling = nil
	s.log.Info("rolling restart done")
	if plan.again {
		s.rollStart()
	}
}

// rollWatch waits for a restarted worker to stay up before the next slot.
func (s *supervisor) rollWatch(sl *slot) {
	if s.rolling == nil || s.rolling.current != sl || sl.state != slotRunning {
		return
	}
	if s.opts.MinUptime <= 0 {
		s.rollNext()
		return
	}
	s.setTimer(sl, s.opts.MinUptime, timerUp)
}
