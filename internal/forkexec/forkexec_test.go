package forkexec

import (
	"errors"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func skipUnsupported(t *testing.T) {
	if _, err := Start("/nonexistent", []string{"x"}, Attr{}); errors.Is(err, ErrUnsupported) {
		t.Skip(err)
	}
}

func TestChildGetsItsOwnPIDAndTheFiles(t *testing.T) {
	skipUnsupported(t)
	runtime.LockOSThread() // the parent-death signal follows this thread
	defer runtime.UnlockOSThread()
	out, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	extra, extraW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	devnull, _ := os.Open(os.DevNull)
	defer devnull.Close()
	script := `echo "$LISTEN_PID $$ $(cut -d' ' -f5 /proc/$$/stat) $(grep -E '^Sig(Blk|Ign)' /proc/$$/status | tr -d '\t' | tr '\n' ' ')"; echo fd3 >&3`
	pid, err := Start("/bin/sh", []string{"sh", "-c", script}, Attr{
		Env:   []string{"PATH=/usr/bin:/bin", "LISTEN_PID=1", "LISTEN_FDS=1"},
		Files: []*os.File{devnull, outW, os.Stderr, extraW},
	})
	outW.Close()
	extraW.Close()
	if err != nil {
		t.Fatal(err)
	}
	var ws syscall.WaitStatus
	syscall.Wait4(pid, &ws, 0, nil)
	buf := make([]byte, 4096)
	n, _ := out.Read(buf)
	f := strings.Fields(string(buf[:n]))
	if len(f) < 5 || f[0] != strconv.Itoa(pid) || f[1] != f[0] || f[2] != f[0] {
		t.Fatalf("child said %q; want LISTEN_PID, $$ and its process group all %d", buf[:n], pid)
	}
	// (The shell catches some signals itself; exec reset every handler.)
	for _, field := range f[3:5] {
		k, v, _ := strings.Cut(field, ":")
		if strings.Trim(v, "0") != "" {
			t.Errorf("%s is %s; want no signal blocked or ignored", k, v)
		}
	}
	n, _ = extra.Read(buf)
	if string(buf[:n]) != "fd3\n" {
		t.Errorf("fd 3 gave %q", buf[:n])
	}
	if !ws.Exited() || ws.ExitStatus() != 0 {
		t.Errorf("child status %v", ws)
	}
}

func TestExecErrorIsReturned(t *testing.T) {
	skipUnsupported(t)
	_, err := Start("/nonexistent/program", []string{"x"}, Attr{})
	if !errors.Is(err, syscall.ENOENT) {
		t.Errorf("error %v; want ENOENT", err)
	}
	_, err = Start("/etc/passwd", []string{"x"}, Attr{})
	if !errors.Is(err, syscall.EACCES) {
		t.Errorf("error %v; want EACCES", err)
	}
}

// Many starts from several goroutines at once, under -race: each child
// must exec (or be reaped), and the parent must stay sound.
func TestManyStarts(t *testing.T) {
	skipUnsupported(t)
	done := make(chan error)
	for range 4 {
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			for range 50 {
				pid, err := Start("/bin/true", []string{"true"}, Attr{})
				if err != nil {
					done <- err
					return
				}
				var ws syscall.WaitStatus
				syscall.Wait4(pid, &ws, 0, nil)
				if !ws.Exited() || ws.ExitStatus() != 0 {
					done <- errors.New("child did not exit 0: " + strconv.Itoa(int(ws)))
					return
				}
			}
			done <- nil
		}()
	}
	timeout := time.After(60 * time.Second)
	for range 4 {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-timeout:
			t.Fatal("starts did not finish")
		}
	}
}
