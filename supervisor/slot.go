package supervisor

import (
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"
)

// slotState is where a slot is in its life. docs/states.md draws the
// machine; transitions below is its list of edges, and move refuses any
// other.
type slotState int

const (
	stateIdle     slotState = iota // not in use by this supervisor
	stateStarting                  // its worker runs, not yet ready
	stateReady                     // its worker runs and is ready
	stateStopping                  // the stop signal went to its worker, which still runs
	stateDraining                  // its worker's main process ended; its process group has not
	stateBackoff                   // waiting to start again (the backoff, or the slot held by another process)
)

var stateNames = [...]string{"idle", "starting", "ready", "stopping", "draining", "backoff"}

func (st slotState) String() string {
	if int(st) < len(stateNames) {
		return stateNames[st]
	}
	return fmt.Sprintf("slotState(%d)", int(st))
}

// running reports whether a worker's main process is alive in this state.
func (st slotState) running() bool {
	return st == stateStarting || st == stateReady || st == stateStopping
}

// transitions lists every move a slot may make. Each edge is taken by one
// function, named beside it.
var transitions = map[slotState][]slotState{
	stateIdle: {
		stateStarting, // startWorker: taken at start or by a scale-up
		stateBackoff,  // a start that failed for now (EAGAIN)
	},
	stateStarting: {
		stateReady,    // becameReady: up for min_uptime, or READY=1
		stateStopping, // stopWorker: a stop, scale-down or rolling restart
		stateDraining, // workerExited
	},
	stateReady: {
		stateStarting, // onNotify: RELOADING=1
		stateStopping, // stopWorker, or the worker said STOPPING=1
		stateDraining, // workerExited
	},
	stateStopping: {
		stateDraining, // workerExited
	},
	stateDraining: {
		stateIdle,     // groupGone: removed, or ended by the policy
		stateStarting, // groupGone: restarted at once
		stateBackoff,  // groupGone: restarted after the backoff
	},
	stateBackoff: {
		stateStarting, // the delay is over
		stateBackoff,  // the slot is still held by another process
		stateIdle,     // a stop or scale-down while waiting
	},
}

// afterGone is what becomes of a slot once its worker's process group is
// gone. A stop request can only raise it: removing beats restarting, which
// beats the restart policy, whatever order the requests came in.
type afterGone int

const (
	thenByPolicy afterGone = iota // a crash: the restart policy and backoff decide
	thenRestart                   // a rolling restart: start again at once
	thenRemove                    // a stop or scale-down: give the slot up
)

var afterGoneNames = [...]string{"by-policy", "restart", "remove"}

func (a afterGone) String() string { return afterGoneNames[a] }

// slot is the supervisor's record of one id. Only the loop goroutine
// touches it.
type slot struct {
	id    int
	log   hclog.Logger
	state slotState
	then  afterGone
	// holder is the pid the slot table names for this slot: the worker's,
	// ours while the slot waits, or 0 when we do not hold it.
	holder int

	pid      int // the worker's main process, and its process group; 0 if none was started
	started  time.Time
	lastExit exitStatus

	failures int         // consecutive quick failures, for the backoff
	restarts []time.Time // restarts within the window, for max-restarts

	// For status and metrics (docs/control.md): restarts by the policy
	// since the slot was taken (at start, or by a scale-up), and since
	// slotrun started, never reset (a metric's counter); whether lastExit
	// holds an exit; when a slot in backoff starts again.
	restartCount  int
	restartsTotal int
	exited        bool
	nextStart     time.Time

	awaitedReady bool // a worker of the start not yet ready once (memory.go)

	timer     slotTimer     // ready watch, backoff, or kill deadline
	poll      slotTimer     // looks at a draining group
	pollEvery time.Duration // the poll's current interval
	// killAt is when SIGKILL follows the stop signal; zero until the stop
	// signal went to this worker.
	killAt time.Time

	// Readiness (readiness.go).
	status       string    // the worker's last STATUS=
	watchdog     slotTimer // WATCHDOG=1 overdue
	failedReady  bool      // not ready in time, or its watchdog expired: a failure
	saidStopping bool      // it said STOPPING=1; no stop signal was sent yet

	// retaken: a scale-up took the slot back while its worker was
	// stopping; the next worker is a new one (retake).
	retaken bool
}

// active reports whether the slot counts as one of the supervisor's workers:
// in use and not on its way out.
func (sl *slot) active() bool { return sl.state != stateIdle && sl.then != thenRemove }

// takenAgain readies a slot that a scale-up takes after a scale-down (or
// after it ended by the policy) for a new worker: what status shows of
// the worker before it, and its failures, are that worker's and not the
// new one's. restartsTotal goes on.
func (sl *slot) takenAgain() {
	sl.retaken = false
	sl.restartCount = 0
	sl.exited, sl.lastExit = false, exitStatus{}
	sl.status = ""
	sl.nextStart = time.Time{}
	sl.failures, sl.restarts = 0, nil
}

// retake undoes a scale-down whose worker is still on its way out: once
// it is gone, a new worker starts in the slot (groupGone), which is then
// takenAgain. The only move that lowers then: a stop of slotrun itself
// ends the slot whatever then says.
func (sl *slot) retake() {
	sl.then = thenRestart
	sl.retaken = true
}

// stopAsked raises what happens to the slot once its worker is gone.
func (sl *slot) stopAsked(then afterGone) { sl.then = max(sl.then, then) }
