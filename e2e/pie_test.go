package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// A position-independent build (`go build -buildmode=pie`, as some
// packagers build) gives back its start-up memory and the memory of its
// requests like any other, and goes on: its relocated read-only pages
// are left alone (internal/imagepages).
func TestAPIEBuildGivesMemoryBackAndGoesOn(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "slotrun-pie")
	build := exec.Command("go", "build", "-buildmode=pie", "-o", bin, "..")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build -buildmode=pie: %v\n%s", err, out)
	}
	p := startCmd(t, t.TempDir(), exec.Command(bin, "--log-level", "debug", "-n", "1", "--min-uptime", "0s", "--", workerBin), true)
	p.waitStderr(`start-up memory given back`)
	// The first client's leaving gives memory back at once; the second
	// finds the server still up.
	for range 2 {
		mustClient(t, p.dir, "status")
	}
	p.signal(syscall.SIGTERM)
	if code := p.wait(); code != 0 {
		t.Fatalf("exit code %d after TERM; want 0", code)
	}
}
