package supervisor

import (
	"slices"
	"testing"
)

func TestWorkerEnv(t *testing.T) {
	inherited := []string{
		"PATH=/bin", "HOME=/root",
		"NOTIFY_SOCKET=/run/systemd/notify", "LISTEN_PID=1", "LISTEN_FDS=2", "LISTEN_FDNAMES=a:b",
		"COMET_PROCESS_ID=7", "COMET_PROCESS_COUNT=9", "SLOTRUN_SLOT=3", "LOG=info",
	}
	got := workerEnv(inherited, []string{"LOG=debug", "NEW=1"}, 4)
	want := []string{"PATH=/bin", "HOME=/root", "LOG=debug", "NEW=1", "COMET_PROCESS_COUNT=4"}
	if !slices.Equal(got, want) {
		t.Errorf("workerEnv = %q\nwant %q", got, want)
	}
}
