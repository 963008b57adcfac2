package pidfile

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrOtherNamespace means the PID file's lock is held by a process in another
// PID namespace, so the PID in the file is not that process's PID here. Read
// and Signal return it as an *OtherNamespaceError.
//
// This is the container case: slotrun runs as PID 1 inside it, its PID file
// says 1, and the file is read from the host, where pid 1 is another process
// and signalling it would be a serious mistake.
//
// It is detected from the host or a parent namespace, where /proc/locks
// names the holder under another PID, and from a sibling namespace (a
// sidecar sharing the volume but not the PID namespace), where /proc/locks
// does not list the lock at all. Only where /proc/locks cannot be read do
// Read and Signal trust the file as it is.
var ErrOtherNamespace = errors.New("held by a process in another PID namespace")

// OtherNamespaceError is Read's and Signal's error when the lock holder is
// not the process the file names. errors.Is(err, ErrOtherNamespace) is true
// for it; it is not ErrNotRunning, since the holder is alive.
type OtherNamespaceError struct {
	Path    string
	FilePID int // the PID the file holds: the holder's PID in its own namespace
	Holder  int // the holder's PID here, 0 when it is not visible from here

	filePIDAlive bool // FilePID is a process here, for the message
}

func (e *OtherNamespaceError) Error() string {
	here := "which is no process here"
	if e.filePIDAlive {
		here = "which here is another process"
	}
	if e.Holder > 0 {
		return fmt.Sprintf("pid file %s is held by pid %d here, a process in another PID namespace (the file says pid %d, %s); "+
			"run slotrun signal inside that namespace (e.g. docker exec / kubectl exec)", e.Path, e.Holder, e.FilePID, here)
	}
	return fmt.Sprintf("pid file %s is held by a process this machine's /proc cannot see: in another PID namespace, or on another host (the file says pid %d, %s); "+
		"run slotrun signal where slotrun runs (e.g. docker exec / kubectl exec)", e.Path, e.FilePID, here)
}

// Is reports whether target is ErrOtherNamespace.
func (e *OtherNamespaceError) Is(target error) bool { return target == ErrOtherNamespace }

// procLocks lists the file locks of the system. For a flock lock, the kernel
// shows the PID (thread group id) of the process that took it, as seen from
// the PID namespace of this procfs mount; locks whose taker is not visible
// from there are left out.
const procLocks = "/proc/locks"

// flockHolder returns the PID, as this process sees PIDs, of the process
// holding an exclusive flock on the file st describes. known is false when
// that cannot be told: /proc/locks is unreadable, or mounted for another PID
// namespace; callers then trust the file. With known true, pid is 0 when
// /proc/locks lists no such lock: the kernel leaves out locks whose holder
// is not visible from here (a sibling PID namespace: a sidecar sharing the
// volume), and a lock held on another machine over a network filesystem is
// not listed either. Either way the PID in the file is no process here.
//
// A lock is matched by inode, and by device where the device matches too:
// on btrfs, stat's device is not the one /proc/locks lists.
func flockHolder(st *unix.Stat_t) (pid int, known bool) {
	if !procIsOurs() {
		return 0, false
	}
	f, err := os.Open(procLocks)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	major, minor := unix.Major(uint64(st.Dev)), unix.Minor(uint64(st.Dev))
	sameInode := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l, ok := parseFlockLine(sc.Text())
		if !ok || l.ino != uint64(st.Ino) {
			continue
		}
		if l.major == major && l.minor == minor {
			return l.pid, true
		}
		if sameInode == 0 {
			sameInode = l.pid
		}
	}
	if sc.Err() != nil {
		return 0, false
	}
	return sameInode, true
}

// lockHolder is flockHolder with a fast path: when pid, the PID the file
// names, is seen holding the lock through its own file descriptors, that is
// the answer. Listing /proc/locks takes a global kernel lock that may wait
// for an RCU grace period (about 8 ms here), which `slotrun signal` would
// otherwise pay on every run.
func lockHolder(pid int, st *unix.Stat_t) (holder int, known bool) {
	if pid > 0 && procIsOurs() && holdsFlock(pid, st) {
		return pid, true
	}
	return flockHolder(st)
}

// holdsFlock reports whether process pid has the file st describes open and
// holds an exclusive flock through that open file: /proc/PID/fdinfo lists
// the locks of each file descriptor's open file.
func holdsFlock(pid int, st *unix.Stat_t) bool {
	dir := "/proc/" + strconv.Itoa(pid)
	fds, err := os.ReadDir(dir + "/fd")
	if err != nil {
		return false
	}
	for _, fd := range fds {
		var fst unix.Stat_t
		if unix.Stat(dir+"/fd/"+fd.Name(), &fst) != nil || fst.Dev != st.Dev || fst.Ino != st.Ino {
			continue
		}
		info, ok := readProcFile(dir + "/fdinfo/" + fd.Name())
		if !ok {
			continue
		}
		for line := range strings.Lines(info) {
			if rest, ok := strings.CutPrefix(line, "lock:"); ok {
				if l, ok := parseFlockLine(strings.TrimSpace(rest)); ok && l.ino == uint64(st.Ino) {
					return true
				}
			}
		}
	}
	return false
}

// readProcFile reads a small file of /proc with bare system calls.
// os.ReadFile would first set up Go's poller, which /proc files do not
// use, at a dozen system calls on the way of every `slotrun signal`.
func readProcFile(path string) (string, bool) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", false
	}
	defer unix.Close(fd)
	var buf [4096]byte
	n := 0
	for n < len(buf) {
		m, err := unix.Read(fd, buf[n:])
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return "", false
		}
		if m == 0 {
			return string(buf[:n]), true
		}
		n += m
	}
	return "", false // larger than any fdinfo of a flock-held file
}

// inOtherNamespace reports whether holder, a PID from /proc/locks, is a
// process outside this PID namespace: visible but in a namespace nested in
// ours, where /proc/PID/status lists more than one NSpid (its PID here, then
// in each nested namespace), or not visible at all (0, which kernels that
// list such locks show). When that cannot be told (an old kernel, the holder
// gone since) it says false: the caller still refuses to trust the file,
// without blaming namespaces.
func inOtherNamespace(holder int) bool {
	if holder <= 0 {
		return true
	}
	status, err := os.ReadFile("/proc/" + strconv.Itoa(holder) + "/status")
	if err != nil {
		return false
	}
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "NSpid:"); ok {
			return len(strings.Fields(rest)) > 1
		}
	}
	return false
}

// procIsOurs reports whether /proc belongs to this process's PID namespace,
// so that the PIDs in /proc/locks are PIDs here. A container started with a
// new PID namespace but the host's /proc would otherwise see its own
// supervisor's lock under a host PID and refuse to signal it.
func procIsOurs() bool {
	self, err := os.Readlink("/proc/self")
	return err == nil && self == strconv.Itoa(os.Getpid())
}

// flockLine is what flockHolder needs of one line of /proc/locks.
type flockLine struct {
	pid          int
	major, minor uint32
	ino          uint64
}

// parseFlockLine reads one line of /proc/locks, as the kernel's
// lock_get_status writes it:
//
//	1: FLOCK  ADVISORY  WRITE 2630 fe:00:9978000 0 EOF
//	1: -> FLOCK  ADVISORY  WRITE 2748 fe:00:9978000 0 EOF
//
// ID, type, ADVISORY or MANDATORY, READ or WRITE, PID, MAJ:MIN:INODE (MAJ and
// MIN in hex, INODE in decimal), range. ok is true only for a granted (not
// "->" waiting) exclusive (WRITE) flock: the lock lockHeld found. POSIX and
// OFD locks are another mechanism, which lockHeld does not see.
func parseFlockLine(line string) (l flockLine, ok bool) {
	f := strings.Fields(line)
	if len(f) < 6 || !strings.HasSuffix(f[0], ":") || f[1] != "FLOCK" || f[3] != "WRITE" {
		return flockLine{}, false // includes waiters, whose f[1] is "->"
	}
	pid, err := strconv.Atoi(f[4])
	if err != nil {
		return flockLine{}, false
	}
	id := strings.SplitN(f[5], ":", 3)
	if len(id) != 3 {
		return flockLine{}, false
	}
	major, err1 := strconv.ParseUint(id[0], 16, 32)
	minor, err2 := strconv.ParseUint(id[1], 16, 32)
	ino, err3 := strconv.ParseUint(id[2], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return flockLine{}, false
	}
	return flockLine{pid: pid, major: uint32(major), minor: uint32(minor), ino: ino}, true
}
