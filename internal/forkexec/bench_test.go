package forkexec

import (
	"os"
	"runtime"
	"syscall"
	"testing"
)

// The cost of a worker start with LISTEN_PID set, against syscall.ForkExec
// (which cannot set it): fork/exec of /bin/true and its wait.
func BenchmarkStart(b *testing.B) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	files := []*os.File{os.Stdin, os.Stdout, os.Stderr}
	for b.Loop() {
		child, err := Start("/bin/true", []string{"true"}, Attr{Env: []string{"LISTEN_FDS=1"}, Files: files, ListenPID: true})
		if err != nil {
			b.Fatal(err)
		}
		var ws syscall.WaitStatus
		syscall.Wait4(child.PID, &ws, 0, nil)
	}
}

func BenchmarkForkExec(b *testing.B) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for b.Loop() {
		pid, err := syscall.ForkExec("/bin/true", []string{"true"}, &syscall.ProcAttr{
			Env: []string{"LISTEN_FDS=1"}, Files: []uintptr{0, 1, 2},
			Sys: &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL},
		})
		if err != nil {
			b.Fatal(err)
		}
		var ws syscall.WaitStatus
		syscall.Wait4(pid, &ws, 0, nil)
	}
}
