package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/slotrun/slotrun/slots"
)

// A supervisor hands a slot to its worker just after the fork. A wrapper's
// program (`sh -c ./server`) that asks for its id before that handover must
// still get the slot's id, not a free slot of its own. The test plays a
// supervisor that hands over only once the program has the table open.
func TestWrapperProgramThatAsksBeforeTheHandoverGetsTheID(t *testing.T) {
	t.Parallel()
	bin := slotuserBin(t)
	dir := t.TempDir()
	table, locks := filepath.Join(dir, "ids.slots"), t.TempDir()
	tbl, err := slots.Open(table, 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tbl.Close() })
	if err := tbl.AcquireSlot(2, os.Getpid()); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", "-c", `"$0" -table "$1" -locks "$2" -getid; exec sleep 600`, bin, table, locks)
	cmd.Env = append(os.Environ(), slots.EnvProcessID+"=2", slots.EnvProcessCount+"=4")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = outW
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	outW.Close()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
		outR.Close()
	})
	out := newOutput(outR)
	shell := cmd.Process.Pid

	// The program has mapped the table: it is about to ask, or asking.
	eventually(t, waitFor, "the wrapper's program maps the slot table", func() bool {
		for _, pid := range childrenOf(shell) {
			if maps, err := os.ReadFile("/proc/" + itoa(pid) + "/maps"); err == nil && strings.Contains(string(maps), table) {
				return true
			}
		}
		return false
	})
	if err := tbl.Transfer(2, os.Getpid(), shell); err != nil {
		t.Fatal(err)
	}
	for _, f := range waitIDLines(t, out, 1, nil) {
		if f["id"] != "2" {
			t.Errorf("the wrapper's program got id %s before the handover; want 2", f["id"])
		}
	}
}
