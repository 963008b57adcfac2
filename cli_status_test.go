package main

import (
	"strings"
	"testing"

	"github.com/slotrun/slotrun/control"
)

func TestFormatDuration(t *testing.T) {
	for secs, want := range map[float64]string{
		0.45: "450ms", 21: "21s", 81: "1m21s", 3600*2 + 300: "2h5m", 86400*3 + 3600*4: "3d4h",
	} {
		if got := formatDuration(secs); got != want {
			t.Errorf("formatDuration(%v) = %q; want %q", secs, got, want)
		}
	}
}

func statusForTable() *control.Status {
	code, next := 1, 0.4
	return &control.Status{
		Name: "api", PID: 4242, UptimeSeconds: 81.5, Desired: 2, Slots: 8, Ready: 1, MinReady: 1,
		IDs:       control.IDs{First: 0, Count: 8},
		Listeners: []control.Listener{{Name: "http", Address: "tcp://[::]:8080"}},
		Rolling:   &control.Rolling{Done: 1, Total: 2, Halted: "slot 1: the new worker did not stay up"},
		Workers: []control.Worker{
			{Slot: 0, ID: 0, PID: 4250, State: "ready", UptimeSeconds: 80.1, Status: "serving\x1b[2J " + strings.Repeat("x", 200)},
			{Slot: 1, ID: 1, State: "backoff", Restarts: 3, LastExit: &control.Exit{Code: &code}, NextStartInSeconds: &next},
		},
	}
}

// TestStatusTableInAPipe: every row whole, no cut, no control character.
func TestStatusTableInAPipe(t *testing.T) {
	var b strings.Builder
	writeStatus(&b, statusForTable(), 0)
	out := b.String()
	for _, want := range []string{
		"api  pid 4242  up 1m21s  ready 1/2  slots 8\n",
		"listening  http  tcp://[::]:8080\n",
		"rolling restart halted after 1/2: slot 1: the new worker did not stay up\n",
		"SLOT  ID  PID   STATE",
		"backoff (400ms)",
		"code 1",
		strings.Repeat("x", 200),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b") {
		t.Error("a worker's status text reached the terminal with an escape sequence")
	}
}

// TestStatusTableOnATerminal: long rows are cut to the terminal's width.
func TestStatusTableOnATerminal(t *testing.T) {
	var b strings.Builder
	writeStatus(&b, statusForTable(), 60)
	for _, line := range strings.Split(b.String(), "\n") {
		if len([]rune(line)) > 60 && strings.HasPrefix(line, "0 ") {
			t.Errorf("row of %d columns on a 60-column terminal: %q", len([]rune(line)), line)
		}
	}
}

// TestStatusTableHasNoTrailingSpaces: a row with an empty STATUS column
// ends at its last value (before, tabwriter's padding was left there).
func TestStatusTableHasNoTrailingSpaces(t *testing.T) {
	var b strings.Builder
	writeStatus(&b, statusForTable(), 0)
	for _, line := range strings.Split(b.String(), "\n") {
		if strings.HasSuffix(line, " ") {
			t.Errorf("line with trailing spaces: %q", line)
		}
	}
}
