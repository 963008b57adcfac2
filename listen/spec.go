// Package listen holds the sockets slotrun binds once, or adopts from its
// own socket activation, and hands to every worker by the sd_listen_fds
// protocol (docs/sockets.md): fds 3.., LISTEN_FDS, LISTEN_FDNAMES and
// LISTEN_PID. slotrun never accepts on them and never changes their flags;
// it only keeps them open, so a worker that dies or restarts never closes
// the socket and connections wait in the kernel's queue for the next accept.
package listen

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// A Spec is one socket to listen on, as the user wrote it:
// `[NAME=]SCHEME://ADDRESS[?backlog=N&mode=0660]`.
type Spec struct {
	Name    string // LISTEN_FDNAMES entry; unique
	URL     string // as written, for messages
	Network string // tcp, tcp4, tcp6, udp, udp4, udp6 or unix
	Address string // host:port, or the unix path ("@name" for an abstract socket)
	Backlog int    // listen(2) backlog; 0: the system's maximum
	Mode    os.FileMode
	HasMode bool // Mode was given (unix path sockets only)
	// Origin names where the user wrote it, for errors: "--listen
	// http=tcp://:80", or `listen.http (app.hcl:12:10)`. Parse sets the
	// flag form; the config file replaces it.
	Origin string
}

// maxUnixPath is the room for a path in sockaddr_un (108 bytes on Linux),
// less the terminating NUL.
const maxUnixPath = 107

// maxBacklog bounds backlog=N; the kernel caps it to net.core.somaxconn
// anyway.
const maxBacklog = 1 << 20

// DefaultName is the name of the k-th (from 0) socket written without one.
func DefaultName(k int) string { return "listen" + strconv.Itoa(k) }

// ParseEntry reads `[NAME=]URL`; a missing NAME is left empty for the
// caller to number.
func ParseEntry(entry string) (Spec, error) {
	name, rawURL := "", entry
	if eq, scheme := strings.IndexByte(entry, '='), strings.Index(entry, "://"); eq >= 0 && (scheme < 0 || eq < scheme) {
		name, rawURL = entry[:eq], entry[eq+1:]
		if err := CheckName(name); err != nil {
			return Spec{}, err
		}
	}
	sp, err := ParseURL(rawURL)
	if err != nil {
		return Spec{}, err
	}
	sp.Name = name
	return sp, nil
}

// CheckName accepts what LISTEN_FDNAMES can carry and a config key can
// spell: letters, digits, '.', '_' and '-', at most 255 of them.
func CheckName(name string) error {
	if name == "" {
		return fmt.Errorf("the name before = is empty (write NAME=URL, or just URL)")
	}
	if len(name) > 255 {
		return fmt.Errorf("the name %.20q... is longer than 255 bytes", name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("the name %q may hold only letters, digits, '.', '_' and '-'", name)
		}
	}
	return nil
}

// ParseURL reads a socket URL: tcp://:8080, tcp4://127.0.0.1:0,
// tcp6://[::1]:8080, udp://:5353, unix:///run/api.sock or unix://@api
// (abstract), with the options backlog=N and mode=0660.
func ParseURL(raw string) (Spec, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return Spec{}, fmt.Errorf("%q is not a socket URL (write tcp://:8080, udp://:5353 or unix:///path/to.sock)", raw)
	}
	sp := Spec{URL: raw, Network: strings.ToLower(scheme)}
	rest, query, _ := strings.Cut(rest, "?")
	switch sp.Network {
	case "tcp", "tcp4", "tcp6", "udp", "udp4", "udp6":
		host, port, err := net.SplitHostPort(rest)
		if err != nil {
			return Spec{}, fmt.Errorf("%q: the address must be HOST:PORT, as in tcp://127.0.0.1:8080 or tcp://:8080", raw)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			return Spec{}, fmt.Errorf("%q: port %q is not a number from 0 to 65535", raw, port)
		}
		if strings.ContainsAny(host, "/?#@ ") {
			return Spec{}, fmt.Errorf("%q: %q is not a host name or IP address", raw, host)
		}
		if ip := net.ParseIP(host); ip != nil {
			v4 := ip.To4() != nil
			if strings.HasSuffix(sp.Network, "6") && v4 || strings.HasSuffix(sp.Network, "4") && !v4 {
				return Spec{}, fmt.Errorf("%q: %s is not an address for %s", raw, host, sp.Network)
			}
		}
		sp.Address = net.JoinHostPort(host, port)
	case "unix":
		if rest == "" || rest == "@" {
			return Spec{}, fmt.Errorf("%q: name the socket file, as in unix:///run/api.sock, or unix://@name for an abstract socket", raw)
		}
		if strings.IndexByte(rest, 0) >= 0 {
			return Spec{}, fmt.Errorf("%q: the path holds a NUL byte", raw)
		}
		if len(rest) > maxUnixPath {
			return Spec{}, fmt.Errorf("%q: the path is %d bytes long; a unix socket address holds 108 bytes with the final NUL, so at most %d", raw, len(rest), maxUnixPath)
		}
		sp.Address = rest
	default:
		return Spec{}, fmt.Errorf("%q: unknown scheme %q (use tcp, tcp4, tcp6, udp, udp4, udp6 or unix)", raw, scheme)
	}
	if err := sp.parseOptions(query); err != nil {
		return Spec{}, fmt.Errorf("%q: %w", raw, err)
	}
	return sp, nil
}

func (sp *Spec) parseOptions(query string) error {
	if query == "" {
		return nil
	}
	opts, err := url.ParseQuery(query)
	if err != nil {
		return fmt.Errorf("options: %w", err)
	}
	for key, vals := range opts {
		if len(vals) != 1 {
			return fmt.Errorf("option %s is given %d times", key, len(vals))
		}
		v := vals[0]
		switch key {
		case "backlog":
			if sp.datagram() {
				return fmt.Errorf("backlog: a %s socket has no connection queue", sp.Network)
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > maxBacklog {
				return fmt.Errorf("backlog=%s: want a whole number from 1 to %d", v, maxBacklog)
			}
			sp.Backlog = n
		case "mode":
			if sp.Network != "unix" || sp.abstract() {
				return fmt.Errorf("mode=%s: only a unix socket file has a mode", v)
			}
			m, err := strconv.ParseUint(v, 8, 32)
			if err != nil || m > 0o777 {
				return fmt.Errorf("mode=%s: want octal permission bits such as 0660", v)
			}
			sp.Mode, sp.HasMode = os.FileMode(m), true
		default:
			return fmt.Errorf("unknown option %q (use backlog or mode)", key)
		}
	}
	return nil
}

func (sp *Spec) datagram() bool { return strings.HasPrefix(sp.Network, "udp") }

func (sp *Spec) abstract() bool { return sp.Network == "unix" && strings.HasPrefix(sp.Address, "@") }

// Where names the spec in an error: its origin, or else the flag.
func (sp *Spec) Where() string {
	if sp.Origin != "" {
		return sp.Origin
	}
	if sp.Name != "" {
		return "--listen " + sp.Name + "=" + sp.URL
	}
	return "--listen " + sp.URL
}
