package e2e

import (
	"os/exec"
	"strconv"
	"syscall"
	"testing"
)

// A worker gets the open-file limit slotrun was started with, with or
// without sockets, although Go raises slotrun's own soft limit as it
// starts: a program that uses select(2) breaks on descriptors above 1023
// (docs/sockets.md, "The open-file limit").
func TestWorkersGetTheOpenFileLimitSlotrunWasStartedWith(t *testing.T) {
	t.Parallel()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Max < 256 {
		t.Skipf("hard limit %d: too low to lower the soft one and still run slotrun", lim.Max)
	}
	soft := strconv.FormatUint(lim.Max/2, 10)
	for _, tc := range []struct {
		name  string
		extra []string
	}{
		{"plain", nil},
		{"with sockets", []string{"--listen", "tcp://127.0.0.1:0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"-c", `ulimit -Sn "$1" && shift && exec "$0" "$@"`, slotrunBin, soft, "-n", "2"}, tc.extra...)
			args = append(args, "--", "/bin/sh", "-c", `echo "nofile id=$COMET_PROCESS_ID soft=$(ulimit -Sn)"; exec sleep 60`)
			p := startCmd(t, t.TempDir(), exec.Command("/bin/sh", args...), true)
			for _, id := range []string{"0", "1"} {
				if f := p.waitStdout(`^nofile id=` + id + ` `); f["soft"] != soft {
					t.Errorf("worker %s has a soft limit of %s; want %s, slotrun's at its start", id, f["soft"], soft)
				}
			}
		})
	}
}
