package listen

import (
	"strings"
	"testing"
)

func TestParseEntry(t *testing.T) {
	for _, tc := range []struct {
		in      string
		name    string
		network string
		address string
		backlog int
		mode    uint32
		err     string // part of the error; "" for none
	}{
		{in: "tcp://:8080", network: "tcp", address: ":8080"},
		{in: "http=tcp://127.0.0.1:0", name: "http", network: "tcp", address: "127.0.0.1:0"},
		{in: "tcp4://127.0.0.1:80?backlog=128", network: "tcp4", address: "127.0.0.1:80", backlog: 128},
		{in: "tcp6://[::1]:8080", network: "tcp6", address: "[::1]:8080"},
		{in: "UDP://:5353", network: "udp", address: ":5353"},
		{in: "unix:///run/api.sock?mode=0660", network: "unix", address: "/run/api.sock", mode: 0o660},
		{in: "unix://@api", network: "unix", address: "@api"},
		{in: "q=tcp://:80?x=a=b", err: `unknown option "x"`},
		{in: "tcp://:8080?backlog=0", err: "backlog=0"},
		{in: "tcp://:8080?backlog=1&backlog=2", err: "given 2 times"},
		{in: "unix://@api?mode=0600", err: "only a unix socket file"},
		{in: "unix://", err: "name the socket"},
		{in: "unix://" + strings.Repeat("a", 108), err: "108 bytes"},
		{in: "tcp://:http", err: "port"},
		{in: "tcp://:-1", err: "port"},
		{in: "=tcp://:80", err: "empty"},
		{in: "a b=tcp://:80", err: "name"},
		{in: "tcp6://127.0.0.1:80", err: "not an address for tcp6"},
		{in: "udp4://[::1]:53", err: "not an address for udp4"},
		{in: "ftp://x:1", err: "unknown scheme"},
		{in: ":8080", err: "not a socket URL"},
	} {
		sp, err := ParseEntry(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseEntry(%q) = %+v, %v; want an error with %q", tc.in, sp, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseEntry(%q): %v", tc.in, err)
			continue
		}
		if sp.Name != tc.name || sp.Network != tc.network || sp.Address != tc.address || sp.Backlog != tc.backlog || uint32(sp.Mode) != tc.mode {
			t.Errorf("ParseEntry(%q) = %+v", tc.in, sp)
		}
	}
}

// FuzzParseEntry: any text is parsed or refused, never a panic, and what
// is accepted has a known network and an address a sockaddr can hold.
func FuzzParseEntry(f *testing.F) {
	for _, s := range []string{"tcp://:8080", "a=unix://@x?mode=0600", "udp6://[::]:0", "unix:///a?backlog=1&mode=7", "x=y=tcp://:1", "tcp://[::1%eth0]:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		sp, err := ParseEntry(in)
		if err != nil {
			return
		}
		if sp.Network == "" || sp.Address == "" || len(sp.Address) > maxUnixPath && sp.Network == "unix" {
			t.Fatalf("accepted %q as %+v", in, sp)
		}
	})
}
