// Package notify speaks the sd_notify protocol (sd_notify(3)) on both ends:
// the socket slotrun gives its workers as NOTIFY_SOCKET, whose datagrams it
// attributes to the sending process by its credentials, and the client
// side slotrun uses to report to its own service manager.
//
// A message is one datagram of KEY=VALUE lines, at most MaxMessage bytes.
// docs/readiness.md says what slotrun does with each key.
package notify

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// MaxMessage is the largest datagram accepted, as systemd has it.
const MaxMessage = 4096

// A Message is what one datagram said. Keys slotrun does not act on are
// dropped.
type Message struct {
	Ready     bool   // READY=1
	Reloading bool   // RELOADING=1
	Stopping  bool   // STOPPING=1
	Watchdog  bool   // WATCHDOG=1
	Status    string // STATUS=...
	HasStatus bool
}

// ErrMalformed marks a datagram that is not sd_notify text.
var ErrMalformed = errors.New("malformed notification")

// Parse reads one datagram. Lines without '=' are an error, as are NUL
// bytes and text that is not UTF-8; unknown keys and values other than "1"
// for the flags are ignored, as systemd ignores them.
func Parse(b []byte) (Message, error) {
	var m Message
	if len(b) == 0 {
		return m, fmt.Errorf("%w: empty", ErrMalformed)
	}
	if len(b) > MaxMessage {
		return m, fmt.Errorf("%w: %d bytes, more than %d", ErrMalformed, len(b), MaxMessage)
	}
	if bytes.IndexByte(b, 0) >= 0 || !utf8.Valid(b) {
		return m, fmt.Errorf("%w: not text", ErrMalformed)
	}
	for line := range bytes.SplitSeq(b, []byte{'\n'}) {
		if len(line) == 0 {
			continue
		}
		key, val, ok := bytes.Cut(line, []byte{'='})
		if !ok || len(key) == 0 {
			return Message{}, fmt.Errorf("%w: line %q is not KEY=VALUE", ErrMalformed, truncate(line))
		}
		flag := string(val) == "1"
		switch string(key) {
		case "READY":
			m.Ready = m.Ready || flag
		case "RELOADING":
			m.Reloading = m.Reloading || flag
		case "STOPPING":
			m.Stopping = m.Stopping || flag
		case "WATCHDOG":
			m.Watchdog = m.Watchdog || flag
		case "STATUS":
			m.Status, m.HasStatus = string(val), true
		}
	}
	return m, nil
}

func truncate(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}

// Format writes key/value pairs as one message, in order.
func Format(pairs ...string) []byte {
	var b bytes.Buffer
	for i := 0; i+1 < len(pairs); i += 2 {
		b.WriteString(pairs[i])
		b.WriteByte('=')
		b.WriteString(pairs[i+1])
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// MonotonicUsec is CLOCK_MONOTONIC in microseconds, for RELOADING=1's
// MONOTONIC_USEC.
func MonotonicUsec() string {
	return strconv.FormatInt(monotonicNow()/1000, 10)
}
