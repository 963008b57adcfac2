package listen

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Environment variables of the sd_listen_fds protocol.
const (
	EnvPID     = "LISTEN_PID"
	EnvFDs     = "LISTEN_FDS"
	EnvFDNames = "LISTEN_FDNAMES"
	EnvPIDFDID = "LISTEN_PIDFDID"
)

// firstFD is SD_LISTEN_FDS_START: passed sockets start after stdin, stdout
// and stderr.
const firstFD = 3

// maxInherited bounds LISTEN_FDS, as a sanity check on garbage.
const maxInherited = 1024

// Inherited reads slotrun's own socket activation, as sd_listen_fds(3)
// does: LISTEN_FDS sockets at fds 3.., named by LISTEN_FDNAMES, but only
// when LISTEN_PID is this process (the variables may have been meant for a
// parent and leaked). It returns the sockets, marked close-on-exec since
// slotrun passes them on itself, or why the variables were ignored ("" when
// there were none).
func Inherited(getenv func(string) string, pid int) (socks []*Socket, ignored string) {
	fdsText, pidText := getenv(EnvFDs), getenv(EnvPID)
	if fdsText == "" && pidText == "" {
		return nil, ""
	}
	if p, err := strconv.Atoi(pidText); err != nil || p != pid {
		return nil, fmt.Sprintf("%s=%q is not this process (%d)", EnvPID, pidText, pid)
	}
	n, err := strconv.Atoi(fdsText)
	if err != nil || n < 0 || n > maxInherited {
		return nil, fmt.Sprintf("%s=%q is not a count of file descriptors", EnvFDs, fdsText)
	}
	var names []string
	if t := getenv(EnvFDNames); t != "" {
		names = strings.Split(t, ":")
	}
	for i := range n {
		fd := firstFD + i
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
			return closeAll(socks), fmt.Sprintf("%s=%d but fd %d is not open", EnvFDs, n, fd)
		}
	}
	for i := range n {
		fd := firstFD + i
		unix.CloseOnExec(fd)
		name := "unknown" // what systemd calls a socket without a name
		if i < len(names) && names[i] != "" {
			name = names[i]
		}
		socks = append(socks, &Socket{Name: name, File: os.NewFile(uintptr(fd), name), Address: addressOf(fd), Adopted: true})
	}
	return socks, ""
}

func closeAll(socks []*Socket) []*Socket {
	for _, s := range socks {
		s.File.Close()
	}
	return nil
}

// Open binds every spec, in order, except where an inherited socket has
// the spec's name: that one is used instead, so one configuration serves
// with and without socket activation. The inherited sockets no spec names
// follow, as they are. On error everything opened so far is closed again
// (and the inherited sockets with it).
func Open(specs []Spec, inherited []*Socket) ([]*Socket, error) {
	var socks []*Socket
	used := make([]bool, len(inherited))
	for _, sp := range specs {
		adopted := false
		for i, in := range inherited {
			if !used[i] && in.Name == sp.Name {
				used[i], adopted = true, true
				socks = append(socks, in)
				break
			}
		}
		if adopted {
			continue
		}
		sock, err := Bind(sp)
		if err != nil {
			CloseAll(socks)
			CloseAll(inherited)
			return nil, err
		}
		socks = append(socks, sock)
	}
	for i, in := range inherited {
		if !used[i] {
			socks = append(socks, in)
		}
	}
	return socks, nil
}

// CloseAll closes every socket; unix socket files slotrun made are removed.
func CloseAll(socks []*Socket) {
	for _, s := range socks {
		s.Close()
	}
}

// Env is what a worker gets beside the sockets at fds 3..: their count and
// names. LISTEN_PID, which must be the worker's own pid, is set by the exec
// shim (Shim) between fork and the worker's exec.
func Env(socks []*Socket) []string {
	names := make([]string, len(socks))
	for i, s := range socks {
		names[i] = s.Name
	}
	return []string{EnvFDs + "=" + strconv.Itoa(len(socks)), EnvFDNames + "=" + strings.Join(names, ":")}
}

// Files are the sockets in fd order, for the worker's fds 3...
func Files(socks []*Socket) []*os.File {
	files := make([]*os.File, len(socks))
	for i, s := range socks {
		files[i] = s.File
	}
	return files
}
