package signame_test

import (
	"errors"
	"syscall"
	"testing"

	"github.com/slotrun/slotrun/internal/signame"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want syscall.Signal
	}{
		{"HUP", syscall.SIGHUP},
		{"SIGHUP", syscall.SIGHUP},
		{"hup", syscall.SIGHUP},
		{"sigterm", syscall.SIGTERM},
		{"1", syscall.SIGHUP},
		{" 15 ", syscall.SIGTERM},
		{"USR1", syscall.SIGUSR1},
		{"WINCH", syscall.SIGWINCH},
		{"RTMIN+2", syscall.Signal(36)},
		{"64", syscall.Signal(64)},
	}
	for _, tt := range tests {
		got, err := signame.Parse(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("Parse(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseRejects(t *testing.T) {
	for _, in := range []string{"", "EXPLODE", "SIG", "0", "65", "-1", "RTMIN+40", "HUP2"} {
		if sig, err := signame.Parse(in); !errors.Is(err, signame.ErrUnknown) {
			t.Errorf("Parse(%q) = %v, %v; want ErrUnknown", in, sig, err)
		}
	}
}

func TestNameRoundTrips(t *testing.T) {
	for sig := syscall.Signal(1); sig <= 64; sig++ {
		name := signame.Name(sig)
		back, err := signame.Parse(name)
		if err != nil || back != sig {
			t.Errorf("Parse(Name(%d) = %q) = %v, %v", int(sig), name, back, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"HUP", "sigterm", "9", "RTMIN+3", "", "SIGSIG"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sig, err := signame.Parse(s)
		if err == nil && (sig < 1 || sig > 64) {
			t.Fatalf("Parse(%q) = %d without error", s, sig)
		}
	})
}
