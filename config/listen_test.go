package config_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/slotrun/slotrun/config"
	"github.com/slotrun/slotrun/supervisor"
)

func TestListenKeepsTheWrittenOrderAndNames(t *testing.T) {
	inTempDir(t)
	writeFile(t, "app.hcl", `listen {
  web   = "tcp://:8080"
  admin = "unix://@admin"
  dns   = "udp://127.0.0.1:5353"
}
ready {
  mode     = "notify"
  timeout  = "5s"
  watchdog = "2s"
}
`)
	// A flag replaces the file's socket of the same name, in its place; an
	// unnamed one is numbered by its place in the list.
	s, err := config.Load([]string{"-c", "app.hcl", "--listen", "admin=unix:///run/a.sock?mode=0660", "--listen", "tcp6://[::1]:0?backlog=64", "--", worker(t)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, sp := range s.Listen {
		got = append(got, sp.Name+"="+sp.Network+" "+sp.Address)
	}
	want := []string{"web=tcp :8080", "admin=unix /run/a.sock", "dns=udp 127.0.0.1:5353", "listen3=tcp6 [::1]:0"}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("sockets %q; want %q", got, want)
	}
	if s.Listen[1].Mode != 0o660 || !s.Listen[1].HasMode || s.Listen[3].Backlog != 64 {
		t.Errorf("options: mode %v backlog %d", s.Listen[1].Mode, s.Listen[3].Backlog)
	}
	if s.Ready != supervisor.ReadyNotify || s.ReadyTimeout != 5*time.Second || s.Watchdog != 2*time.Second {
		t.Errorf("ready %v timeout %v watchdog %v", s.Ready, s.ReadyTimeout, s.Watchdog)
	}
	if !strings.HasPrefix(s.Listen[0].Origin, `listen.web = "tcp://:8080" (app.hcl:2:11)`) {
		t.Errorf("origin of the file's socket: %q", s.Listen[0].Origin)
	}
}

func TestBadListenInTheFileNamesItsPlace(t *testing.T) {
	inTempDir(t)
	writeFile(t, "app.hcl", "listen {\n  web = \"tcp://:80?backlog=0\"\n}\n")
	_, err := config.Load([]string{"-c", "app.hcl", "--", worker(t)}, nil)
	if !errors.Is(err, config.ErrUsage) || !strings.HasPrefix(err.Error(), "app.hcl:2:9: ") || !strings.Contains(err.Error(), "listen.web") || !strings.Contains(err.Error(), "backlog=0") {
		t.Errorf("error %v; want a usage error at app.hcl:2:9 naming listen.web and backlog=0", err)
	}
}

func TestWatchdogNeedsNotify(t *testing.T) {
	inTempDir(t)
	writeFile(t, "app.hcl", "ready {\n  watchdog = \"1s\"\n}\n")
	_, err := config.Load([]string{"-c", "app.hcl", "--", worker(t)}, nil)
	if !errors.Is(err, config.ErrUsage) || !strings.Contains(err.Error(), "ready.watchdog") || !strings.Contains(err.Error(), "--ready notify") {
		t.Errorf("error %v; want a usage error naming ready.watchdog and --ready notify", err)
	}
}
