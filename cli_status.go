package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/sys/unix"

	"github.com/slotrun/slotrun/control"
)

// writeStatus prints the status for people: a header, then one row per
// slot. width is the terminal's, where long STATUS texts are cut to fit
// a line; 0 (a pipe, a file) cuts nothing.
func writeStatus(w io.Writer, st *control.Status, width int) {
	fmt.Fprintf(w, "%s  pid %d  up %s  ready %d/%d", st.Name, st.PID, formatDuration(st.UptimeSeconds), st.Ready, st.Desired)
	if st.MinReady != 1 {
		fmt.Fprintf(w, " (min %d)", st.MinReady)
	}
	fmt.Fprintf(w, "  slots %d", st.Slots)
	if st.IDs.First != 0 || st.IDs.Count != st.Slots {
		fmt.Fprintf(w, "  ids %d..%d of %d", st.IDs.First, st.IDs.First+st.Slots-1, st.IDs.Count)
	}
	if st.Stopping {
		fmt.Fprint(w, "  STOPPING")
	}
	fmt.Fprintln(w)
	for _, l := range st.Listeners {
		fmt.Fprintf(w, "listening  %s  %s\n", l.Name, l.Address)
	}
	if r := st.Rolling; r != nil {
		if r.Halted != "" {
			fmt.Fprintf(w, "rolling restart halted after %d/%d: %s\n", r.Done, r.Total, r.Halted)
		} else {
			fmt.Fprintf(w, "rolling restart  %d/%d done\n", r.Done, r.Total)
		}
	}
	fmt.Fprintln(w)

	var table strings.Builder
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SLOT\tID\tPID\tSTATE\tUPTIME\tRESTARTS\tLAST-EXIT\tSTATUS")
	for _, wk := range st.Workers {
		pid, uptime := "-", "-"
		if wk.PID != 0 {
			pid = strconv.Itoa(wk.PID)
			uptime = formatDuration(wk.UptimeSeconds)
		}
		state := wk.State
		if wk.NextStartInSeconds != nil {
			state += " (" + formatDuration(*wk.NextStartInSeconds) + ")"
		}
		fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\t%d\t%s\t%s\n", wk.Slot, wk.ID, pid, state, uptime, wk.Restarts, formatExit(wk.LastExit), oneLine(wk.Status))
	}
	tw.Flush()
	for _, line := range strings.SplitAfter(table.String(), "\n") {
		if line == "" {
			continue
		}
		// An empty last column leaves tabwriter's padding behind.
		line = strings.TrimRight(line, " \n") + "\n"
		if width > 0 && len(line) > width+1 {
			line = line[:width-1] + "…\n"
		}
		io.WriteString(w, line)
	}
}

func formatExit(e *control.Exit) string {
	switch {
	case e == nil:
		return "-"
	case e.Signal != "":
		return "signal " + e.Signal
	case e.Code != nil:
		return "code " + strconv.Itoa(*e.Code)
	}
	return "-"
}

// oneLine keeps a worker's STATUS text from breaking the table: control
// characters (newlines, escapes) show as spaces.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// formatDuration writes seconds as people read them: 450ms, 21s, 1m21s,
// 2h5m, 3d4h.
func formatDuration(seconds float64) string {
	d := time.Duration(seconds * float64(time.Second))
	switch {
	case d < time.Second:
		return strconv.Itoa(int(d.Milliseconds())) + "ms"
	case d < time.Minute:
		return strconv.Itoa(int(d.Seconds())) + "s"
	case d < time.Hour:
		return fmt.Sprintf("%dm%ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%dh", int(d.Hours())/24, int(d.Hours())%24)
}

// terminalWidth is the width of the terminal w writes to, or 0 if w is
// not a terminal.
func terminalWidth(w io.Writer) int {
	f, ok := w.(*os.File)
	if !ok {
		return 0
	}
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return 0
	}
	return int(ws.Col)
}
