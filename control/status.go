// Package control is slotrun's control plane: the HTTP/1.1 API a running
// supervisor serves on its unix control socket, the client the CLI uses to
// reach it, and the read-only HTTP server of metrics and health probes
// (docs/control.md).
//
// The package owns no supervisor state. Every request becomes a call on a
// Backend, which the supervisor implements by asking its loop and waiting
// for the answer; the server only parses, bounds and answers.
package control

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"
)

// Status is the answer to GET /v1/status and `slotrun status --json`.
// Fields may be added, never renamed. The fields marked "-" are for the
// metrics, which need absolute times and codes.
type Status struct {
	Name          string     `json:"name"`
	PID           int        `json:"pid"`
	Version       string     `json:"version"`
	UptimeSeconds float64    `json:"uptime_seconds"`
	Desired       int        `json:"desired"`
	Slots         int        `json:"slots"`
	Ready         int        `json:"ready"`
	MinReady      int        `json:"min_ready"`
	Stopping      bool       `json:"stopping"`
	IDs           IDs        `json:"ids"`
	Listeners     []Listener `json:"listeners"`
	Rolling       *Rolling   `json:"rolling"`
	Workers       []Worker   `json:"workers"`

	Started       time.Time `json:"-"`
	RollingDone   int       `json:"-"` // rolling restarts completed since start
	RollingHalted int       `json:"-"` // and halted
}

// IDs is the range of ids the workers get: slot k has id First+k.
type IDs struct {
	First int `json:"first"`
	Count int `json:"count"` // COMET_PROCESS_COUNT
}

// Listener is a socket the workers inherit.
type Listener struct {
	Name    string `json:"name"`
	Address string `json:"address"`
}

// Rolling is the rolling restart under way, or the last one if it halted.
type Rolling struct {
	Done   int    `json:"done"`
	Total  int    `json:"total"`
	Halted string `json:"halted"`
}

// Worker is one slot in use.
type Worker struct {
	Slot               int      `json:"slot"`
	ID                 int      `json:"id"`
	PID                int      `json:"pid"`
	State              string   `json:"state"` // starting, ready, stopping, backoff
	UptimeSeconds      float64  `json:"uptime_seconds"`
	Restarts           int      `json:"restarts"`
	LastExit           *Exit    `json:"last_exit"`
	Status             string   `json:"status"`
	NextStartInSeconds *float64 `json:"next_start_in_seconds,omitempty"`

	Started time.Time `json:"-"` // zero when no worker runs
	// RestartsTotal counts the slot's restarts since the supervisor
	// started, for the metrics' counter; Restarts counts those of the
	// worker since the slot was taken (at start or by a scale-up).
	RestartsTotal int `json:"-"`
}

// Exit is how a worker's last process ended: a code or a signal's name.
type Exit struct {
	Code   *int   `json:"code,omitempty"`
	Signal string `json:"signal,omitempty"`
	// ShellCode is the code a shell reports: the code, or 128+signal.
	ShellCode int `json:"-"`
}

// The states a worker shows.
const (
	StateStarting = "starting"
	StateReady    = "ready"
	StateStopping = "stopping"
	StateBackoff  = "backoff"
)

// States lists the states a worker shows, in the order of its life.
var States = []string{StateStarting, StateReady, StateStopping, StateBackoff}

// Healthy reports whether enough workers are ready and no stop is under way:
// what /readyz and `status --check` answer.
func (s *Status) Healthy() bool { return !s.Stopping && s.Ready >= s.MinReady }

// Backend is what the server asks of the supervisor. Every method may
// block until the supervisor has an answer; each returns when ctx is done,
// with ctx's error. Errors meant for the client are *Error.
type Backend interface {
	Status(ctx context.Context) (*Status, error)
	// Scale sets the number of workers, to workers if set, else to the
	// current number plus change, and returns when the new workers are
	// started and the removed ones gone.
	Scale(ctx context.Context, req ScaleRequest) error
	// Restart runs a rolling restart of every slot, or of slot when it is
	// not nil, and returns when it is done; a halt is an *Error (409).
	Restart(ctx context.Context, req RestartRequest) error
	// Signal sends sig to every worker's process group, or to slot's.
	Signal(ctx context.Context, sig syscall.Signal, slot *int) error
	// Stop begins a graceful stop and returns at once, with how long the
	// supervisor may take to exit.
	Stop(ctx context.Context) (StopAnswer, error)
	// Ping returns once the supervisor's loop has answered.
	Ping(ctx context.Context) error
}

// ScaleRequest is the body of POST /v1/scale: {"workers": N}, or
// {"change": K} to add (K > 0) or remove (K < 0) workers.
type ScaleRequest struct {
	Workers *int `json:"workers,omitempty"`
	Change  *int `json:"change,omitempty"`
	// NoWait answers once the change has begun.
	NoWait bool `json:"no_wait,omitempty"`
}

// RestartRequest is the body of POST /v1/restart: {} or {"slot": K}.
type RestartRequest struct {
	Slot *int `json:"slot,omitempty"`
	// NoWait answers once the rolling restart has begun.
	NoWait bool `json:"no_wait,omitempty"`
}

// StopAnswer is the answer to POST /v1/stop.
type StopAnswer struct {
	// ExitWithinSeconds is the longest the supervisor may take to exit
	// from now if every phase of the stop takes as long as it may (the
	// shutdown delay, then a stop timeout for the workers and for each
	// phase after them); a client that waits longer than this, and a
	// margin, waits for a supervisor that is stuck.
	ExitWithinSeconds float64 `json:"exit_within_seconds"`
}

// SignalRequest is the body of POST /v1/signal.
type SignalRequest struct {
	Signal string `json:"signal"`
	Slot   *int   `json:"slot,omitempty"`
}

// Error is an answer other than success: an HTTP status and one line.
type Error struct {
	Status int
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

// Errorf makes an *Error with the HTTP status code.
func Errorf(code int, format string, args ...any) *Error {
	return &Error{Status: code, Msg: fmt.Sprintf(format, args...)}
}

// ErrGone is what a Backend returns once the supervisor's loop has ended.
var ErrGone = &Error{Status: StatusUnavailable, Msg: "the supervisor is exiting"}

// statusOf maps an error from a Backend to an HTTP status.
func statusOf(err error) int {
	var e *Error
	switch {
	case errors.As(err, &e):
		return e.Status
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return StatusUnavailable
	}
	return StatusInternalServerError
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixMicro()) / 1e6 }
