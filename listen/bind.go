package listen

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// A Socket is one socket slotrun holds for its whole life and passes to
// every worker.
type Socket struct {
	Name    string   // its LISTEN_FDNAMES entry
	Address string   // where it listens, as a URL: tcp://127.0.0.1:41234
	File    *os.File // close-on-exec in slotrun; fork passes it on explicitly
	// Adopted sockets came from slotrun's own socket activation.
	Adopted bool
	// unixPath is the socket file slotrun created, removed at Close if it is
	// still the same file.
	unixPath string
	unixIno  uint64
}

// Close closes the socket and removes the unix socket file slotrun made.
func (s *Socket) Close() error {
	err := s.File.Close()
	if s.unixPath != "" {
		var st unix.Stat_t
		if unix.Lstat(s.unixPath, &st) == nil && st.Ino == s.unixIno {
			os.Remove(s.unixPath)
		}
	}
	return err
}

// Bind creates the socket sp describes, bound and (for a stream socket)
// listening, blocking as systemd hands sockets out.
func Bind(sp Spec) (*Socket, error) {
	var (
		fd  int
		err error
	)
	sock := &Socket{Name: sp.Name}
	switch sp.Network {
	case "unix":
		fd, err = bindUnix(sp, sock)
	default:
		fd, err = bindInet(sp)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", sp.Where(), err)
	}
	sock.File = os.NewFile(uintptr(fd), sp.Name)
	sock.Address = addressOf(fd)
	return sock, nil
}

func backlogOf(sp Spec) int {
	if sp.Backlog > 0 {
		return sp.Backlog
	}
	// The kernel caps the backlog to net.core.somaxconn: asking for the
	// most gives the system's maximum, whatever it is set to.
	return math.MaxInt32
}

func bindInet(sp Spec) (int, error) {
	host, portText, _ := net.SplitHostPort(sp.Address)
	port, _ := strconv.Atoi(portText)
	family, sa, err := inetAddr(sp.Network, host, port)
	if err != nil {
		return -1, err
	}
	typ := unix.SOCK_STREAM
	if sp.datagram() {
		typ = unix.SOCK_DGRAM
	}
	fd, err := unix.Socket(family, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil && family == unix.AF_INET6 && host == "" && sp.Network[len(sp.Network)-1] != '6' {
		// No IPv6 on this host: any address means IPv4's.
		family, sa = unix.AF_INET, &unix.SockaddrInet4{Port: port}
		fd, err = unix.Socket(family, typ|unix.SOCK_CLOEXEC, 0)
	}
	if err != nil {
		return -1, fmt.Errorf("socket: %w", err)
	}
	fail := func(what string, err error) (int, error) {
		unix.Close(fd)
		return -1, explain(what, err)
	}
	if family == unix.AF_INET6 {
		// tcp:// with no host is every address, v4 and v6, as Go's net
		// has it; tcp6:// is v6 only.
		v6only := 0
		if strings.HasSuffix(sp.Network, "6") {
			v6only = 1
		}
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, v6only); err != nil {
			return fail("IPV6_V6ONLY", err)
		}
	}
	if typ == unix.SOCK_STREAM {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
			return fail("SO_REUSEADDR", err)
		}
	}
	if err := unix.Bind(fd, sa); err != nil {
		return fail("bind", err)
	}
	if typ == unix.SOCK_STREAM {
		if err := unix.Listen(fd, backlogOf(sp)); err != nil {
			return fail("listen", err)
		}
	}
	return fd, nil
}

// inetAddr resolves host (an IP, a name, or empty for any) for network.
func inetAddr(network, host string, port int) (int, unix.Sockaddr, error) {
	want4, want6 := strings.HasSuffix(network, "4"), strings.HasSuffix(network, "6")
	if host == "" {
		if want4 {
			return unix.AF_INET, &unix.SockaddrInet4{Port: port}, nil
		}
		return unix.AF_INET6, &unix.SockaddrInet6{Port: port}, nil
	}
	ips, err := net.DefaultResolver.LookupIP(context.Background(), "ip", host)
	if err != nil {
		return 0, nil, fmt.Errorf("cannot resolve %q: %w", host, err)
	}
	for _, ip := range ips {
		if ip4 := ip.To4(); ip4 != nil && !want6 {
			sa := &unix.SockaddrInet4{Port: port}
			copy(sa.Addr[:], ip4)
			return unix.AF_INET, sa, nil
		}
		if ip.To4() == nil && !want4 {
			sa := &unix.SockaddrInet6{Port: port}
			copy(sa.Addr[:], ip.To16())
			return unix.AF_INET6, sa, nil
		}
	}
	return 0, nil, fmt.Errorf("%q has no address for %s", host, network)
}

func bindUnix(sp Spec, sock *Socket) (int, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("socket: %w", err)
	}
	fail := func(what string, err error) (int, error) {
		unix.Close(fd)
		return -1, explain(what, err)
	}
	sa := &unix.SockaddrUnix{Name: sp.Address}
	if !sp.abstract() {
		if err := removeStale(sp.Address); err != nil {
			unix.Close(fd)
			return -1, err
		}
	}
	if err := unix.Bind(fd, sa); err != nil {
		return fail("bind", err)
	}
	if !sp.abstract() {
		var st unix.Stat_t
		if err := unix.Lstat(sp.Address, &st); err == nil {
			sock.unixPath, sock.unixIno = sp.Address, st.Ino
		}
		// Before listen, so no client connects under the wrong mode.
		if sp.HasMode {
			if err := os.Chmod(sp.Address, sp.Mode); err != nil {
				os.Remove(sp.Address)
				return fail("chmod", err)
			}
		}
	}
	if err := unix.Listen(fd, backlogOf(sp)); err != nil {
		if sock.unixPath != "" {
			os.Remove(sp.Address)
		}
		return fail("listen", err)
	}
	return fd, nil
}

// removeStale removes a socket file nobody listens on any more (left by a
// process that died), and refuses to touch anything else.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return explain("stat", err)
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("%s exists and is not a socket; remove it or choose another path", path)
	}
	probe, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	defer unix.Close(probe)
	err = unix.Connect(probe, &unix.SockaddrUnix{Name: path})
	if err == nil {
		return fmt.Errorf("bind: address already in use (a live process listens on %s)", path)
	}
	if !errors.Is(err, unix.ECONNREFUSED) {
		return explain("connect to the existing socket", err)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("remove the stale socket: %w", err)
	}
	return nil
}

// explain words the errors a user can fix.
func explain(what string, err error) error {
	switch {
	case errors.Is(err, unix.EADDRINUSE):
		return fmt.Errorf("%s: address already in use (another process listens there)", what)
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
		return fmt.Errorf("%s: permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE; a socket file needs a writable directory)", what)
	case errors.Is(err, unix.EADDRNOTAVAIL):
		return fmt.Errorf("%s: the address is not one of this host's", what)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// addressOf writes where fd is bound as a URL, with the real port of a
// port-0 bind.
func addressOf(fd int) string {
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return "unknown"
	}
	typ, _ := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	scheme := "tcp"
	if typ == unix.SOCK_DGRAM {
		scheme = "udp"
	}
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return scheme + "://" + net.JoinHostPort(net.IP(a.Addr[:]).String(), strconv.Itoa(a.Port))
	case *unix.SockaddrInet6:
		return scheme + "://" + net.JoinHostPort(net.IP(a.Addr[:]).String(), strconv.Itoa(a.Port))
	case *unix.SockaddrUnix:
		if typ == unix.SOCK_DGRAM {
			return "unixgram://" + a.Name
		}
		return "unix://" + a.Name
	}
	return "unknown"
}
