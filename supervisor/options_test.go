package supervisor_test

import (
	"errors"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/slotrun/slotrun/supervisor"
)

func TestParseAction(t *testing.T) {
	tests := []struct {
		in   string
		want supervisor.Action
	}{
		{"forward", supervisor.Action{Kind: supervisor.ActForward}},
		{"forward:USR2", supervisor.Action{Kind: supervisor.ActForward, Signal: syscall.SIGUSR2}},
		{"forward:sigterm", supervisor.Action{Kind: supervisor.ActForward, Signal: syscall.SIGTERM}},
		{"stop", supervisor.Action{Kind: supervisor.ActStop}},
		{"restart", supervisor.Action{Kind: supervisor.ActRestart}},
		{"scale-up", supervisor.Action{Kind: supervisor.ActScaleUp}},
		{"scale-down", supervisor.Action{Kind: supervisor.ActScaleDown}},
		{"ignore", supervisor.Action{Kind: supervisor.ActIgnore}},
		{"Forward:usr2", supervisor.Action{Kind: supervisor.ActForward, Signal: syscall.SIGUSR2}},
		{"SCALE-UP", supervisor.Action{Kind: supervisor.ActScaleUp}},
	}
	for _, tt := range tests {
		got, err := supervisor.ParseAction(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseAction(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
		if err == nil && tt.in == strings.ToLower(tt.in) && tt.in != "forward:sigterm" && got.String() != tt.in {
			t.Errorf("ParseAction(%q).String() = %q", tt.in, got.String())
		}
	}
	for _, bad := range []string{"", "explode", "forward:", "forward:NOPE", "scale_up"} {
		if got, err := supervisor.ParseAction(bad); err == nil {
			t.Errorf("ParseAction(%q) = %v; want an error", bad, got)
		}
	}
}

func TestParsePolicy(t *testing.T) {
	for _, p := range []supervisor.Policy{supervisor.RestartAlways, supervisor.RestartOnFailure, supervisor.RestartNever} {
		got, err := supervisor.ParsePolicy(p.String())
		if err != nil || got != p {
			t.Errorf("ParsePolicy(%q) = %v, %v", p.String(), got, err)
		}
	}
	if got, err := supervisor.ParsePolicy("On-Failure"); got != supervisor.RestartOnFailure || err != nil {
		t.Errorf("ParsePolicy(On-Failure) = %v, %v", got, err)
	}
	if _, err := supervisor.ParsePolicy("sometimes"); err == nil {
		t.Error("ParsePolicy(sometimes) succeeded")
	}
}

// reserved are the signals the Go runtime (URG, PROF) and the C library
// (32, 33) keep for themselves.
var reserved = []syscall.Signal{syscall.SIGURG, syscall.SIGPROF, 32, 33}

func TestCheckSignal(t *testing.T) {
	refused := append([]syscall.Signal{syscall.SIGKILL, syscall.SIGSTOP, syscall.SIGCHLD}, reserved...)
	for _, sig := range refused {
		if err := supervisor.CheckSignal(sig); !errors.Is(err, supervisor.ErrUncatchable) {
			t.Errorf("CheckSignal(%v) = %v; want ErrUncatchable", sig, err)
		}
	}
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGTERM, syscall.SIGUSR1, syscall.SIGWINCH, 34, 64} {
		if err := supervisor.CheckSignal(sig); err != nil {
			t.Errorf("CheckSignal(%v) = %v", sig, err)
		}
	}
}

// TestCheckSendable: a worker's Go runtime or C library would take a
// reserved signal as its own, so none can be the stop signal or a forward
// target; KILL can (a stop without grace period).
func TestCheckSendable(t *testing.T) {
	for _, sig := range reserved {
		if err := supervisor.CheckSendable(sig); !errors.Is(err, supervisor.ErrReserved) {
			t.Errorf("CheckSendable(%v) = %v; want ErrReserved", sig, err)
		}
		if act, err := supervisor.ParseAction("forward:" + strconv.Itoa(int(sig))); !errors.Is(err, supervisor.ErrReserved) {
			t.Errorf("ParseAction(forward:%d) = %v, %v; want ErrReserved", int(sig), act, err)
		}
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL, syscall.SIGWINCH, syscall.SIGQUIT, 34} {
		if err := supervisor.CheckSendable(sig); err != nil {
			t.Errorf("CheckSendable(%v) = %v", sig, err)
		}
	}
}
