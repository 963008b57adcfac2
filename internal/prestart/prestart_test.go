package prestart

import (
	"os"
	"slices"
	"syscall"
	"testing"

	"github.com/slotrun/slotrun/supervisor"
)

// A test binary is no supervisor: give back what init began to catch, or
// go test could neither interrupt it nor dump it on a timeout.
func TestMain(m *testing.M) {
	if s := TakeSignals(); s != nil {
		s.Release()
	}
	os.Exit(m.Run())
}

func TestSupervises(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want bool
	}{
		{nil, true},
		{[]string{"-n", "4", "--", "./worker"}, true},
		{[]string{"run", "--", "./worker"}, true},
		{[]string{"--", "signal"}, true}, // a worker called signal
		{[]string{"signal", "HUP"}, false},
		{[]string{"status"}, false},
		{[]string{"version"}, false},
		{[]string{"--version"}, false},
		{[]string{"help"}, false},
	} {
		if got := Supervises(tt.args); got != tt.want {
			t.Errorf("Supervises(%q) = %v, want %v", tt.args, got, tt.want)
		}
	}
}

// What init catches is what a supervisor with the default settings
// catches, but TERM, INT and QUIT, which Run catches: anything else Run
// would have to catch or give back on the start's critical path.
func TestDefaultSignalsAreTheSupervisorsDefaults(t *testing.T) {
	order := func(sigs []os.Signal) []os.Signal {
		sigs = slices.Clone(sigs)
		slices.SortFunc(sigs, func(a, b os.Signal) int { return int(a.(syscall.Signal)) - int(b.(syscall.Signal)) })
		return sigs
	}
	got := order(append(slices.Clone(DefaultSignals), syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT))
	want := order(supervisor.CaughtSignals(supervisor.DefaultActions()))
	if !slices.Equal(got, want) {
		t.Fatalf("DefaultSignals with TERM, INT and QUIT: %v; a supervisor with the defaults catches %v", got, want)
	}
}
