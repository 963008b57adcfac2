package notify

import (
	"errors"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Message
		err  bool
	}{
		{in: "READY=1", want: Message{Ready: true}},
		{in: "READY=1\nSTATUS=up: 3 of 4\n", want: Message{Ready: true, Status: "up: 3 of 4", HasStatus: true}},
		{in: "RELOADING=1\nMONOTONIC_USEC=42", want: Message{Reloading: true}},
		{in: "STOPPING=1", want: Message{Stopping: true}},
		{in: "WATCHDOG=1\nMAINPID=7\nX_CUSTOM=y", want: Message{Watchdog: true}},
		{in: "READY=0", want: Message{}},
		{in: "STATUS=", want: Message{HasStatus: true}},
		{in: "", err: true},
		{in: "READY", err: true},
		{in: "=1", err: true},
		{in: "READY=1\x00", err: true},
		{in: "READY=\xff", err: true},
		{in: strings.Repeat("X", MaxMessage+1), err: true},
	} {
		got, err := Parse([]byte(tc.in))
		if tc.err {
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("Parse(%q) = %+v, %v; want ErrMalformed", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"READY=1", "STATUS=x\nWATCHDOG=1", "a\nb", "\n\n=", "READY=1\x00"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) { Parse(b) })
}

// A datagram sent with Send arrives with the sender's pid; fds sent with a
// message are closed on receipt; oversized datagrams are marked.
func TestSocketAttributesAndClosesPassedFDs(t *testing.T) {
	s, err := Listen()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !strings.HasPrefix(s.Addr, "@") {
		t.Fatalf("address %q; want an abstract one", s.Addr)
	}
	if err := Send(s.Addr, Format("READY", "1", "STATUS", "ok")); err != nil {
		t.Fatal(err)
	}
	d, err := s.Receive()
	if err != nil {
		t.Fatal(err)
	}
	if d.PID != os.Getpid() || string(d.Data) != "READY=1\nSTATUS=ok\n" || d.Truncated {
		t.Fatalf("got %+v (%q)", d, d.Data)
	}

	// BARRIER=1 as systemd-notify sends it: with the write end of a pipe,
	// whose read end sees EOF once the receiver closed it.
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	sendWithFD(t, s.Addr, []byte("BARRIER=1"), p[1])
	unix.Close(p[1])
	if d, err = s.Receive(); err != nil || d.FDs != 1 {
		t.Fatalf("got %+v, %v; want one fd", d, err)
	}
	buf := make([]byte, 1)
	if n, err := unix.Read(p[0], buf); n != 0 || err != nil {
		t.Fatalf("read from the barrier pipe: %d, %v; want EOF (the passed fd closed)", n, err)
	}

	if err := Send(s.Addr, []byte(strings.Repeat("Y", MaxMessage+100))); err != nil {
		t.Fatal(err)
	}
	if d, err = s.Receive(); err != nil || !d.Truncated {
		t.Fatalf("got truncated=%v, %v; want an oversized datagram marked", d.Truncated, err)
	}
}

func sendWithFD(t *testing.T, addr string, msg []byte, fd int) {
	t.Helper()
	c, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(c)
	if err := unix.Sendmsg(c, msg, unix.UnixRights(fd), &unix.SockaddrUnix{Name: addr}, 0); err != nil {
		t.Fatal(err)
	}
}
