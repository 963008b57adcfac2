package supervisor_test

import (
	"errors"
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

func TestCheckSignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGSTOP, syscall.SIGCHLD} {
		if err := supervisor.CheckSignal(sig); !errors.Is(err, supervisor.ErrUncatchable) {
			t.Errorf("CheckSignal(%v) = %v; want ErrUncatchable", sig, err)
		}
	}
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGTERM, syscall.SIGUSR1} {
		if err := supervisor.CheckSignal(sig); err != nil {
			t.Errorf("CheckSignal(%v) = %v", sig, err)
		}
	}
}
