package slots

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// maxPID is Linux's PID_MAX_LIMIT. No process has a larger pid, so a word
// naming one has no live holder, and kill is never called with it (a pid
// above 2^31 would turn negative and address a process group).
const maxPID = 1 << 22

// holderWord is the slot word that names pid as holder: the pid and the low
// 32 bits of its start time.
func holderWord(pid int, tag uint32) uint64 { return uint64(uint32(pid)) | uint64(tag)<<32 }

func pidOf(w uint64) int    { return int(uint32(w)) }
func tagOf(w uint64) uint32 { return uint32(w >> 32) }

// self is the word this process writes as a holder. A process's pid and
// start time never change, so it is read from /proc once; Acquire and
// Release for one's own pid, the common case, then touch no file.
var self = sync.OnceValues(func() (uint64, error) {
	pid := os.Getpid()
	st, err := readStat(pid)
	if err != nil {
		return 0, fmt.Errorf("cannot read this process's start time: %w", err)
	}
	return holderWord(pid, uint32(st.start)), nil
})

// wordFor returns the word that records the running process pid as a holder.
func wordFor(pid int) (uint64, error) {
	if pid < 1 || pid > maxPID {
		return 0, fmt.Errorf("%d is not a process id", pid)
	}
	if w, err := self(); err == nil && pidOf(w) == pid {
		return w, nil
	}
	st, err := readStat(pid)
	if err != nil {
		return 0, fmt.Errorf("pid %d: cannot read its start time: %w", pid, err)
	}
	if st.dead() {
		return 0, fmt.Errorf("pid %d has exited (state %c)", pid, st.state)
	}
	return holderWord(pid, uint32(st.start)), nil
}

// alive reports whether the holder that w names is running: its pid exists,
// some thread of it has not finished exiting (see procStat.dead), and it
// started at the time w's tag records — otherwise the pid now belongs to a
// later process. When the answer cannot be known, it is yes: taking a live
// holder's slot would give one id to two processes, while keeping a dead
// holder's costs one slot until the next look.
func alive(w uint64) bool {
	if w == 0 {
		return false
	}
	if s, err := self(); err == nil && w == s {
		return true
	}
	pid := pidOf(w)
	if pid < 1 || pid > maxPID {
		return false
	}
	// Signal 0 checks existence only; EPERM means it exists under another
	// user. ESRCH settles it without reading /proc.
	if unix.Kill(pid, 0) == unix.ESRCH {
		return false
	}
	st, err := readStat(pid)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ESRCH) {
			// Either it exited since kill, or /proc does not show it (a
			// /proc mounted with hidepid, or of another PID namespace):
			// ask kill again to tell which.
			return unix.Kill(pid, 0) != unix.ESRCH
		}
		return true
	}
	return !st.dead() && uint32(st.start) == tagOf(w)
}

// procStat is what the package needs from /proc/PID/stat.
type procStat struct {
	state   byte   // field 3, of the main thread: R, S, D, Z, X, ...
	threads int64  // field 20: threads in the thread group, the main one included
	start   uint64 // field 22: start time, in clock ticks after boot
}

// dead reports a process whose whole thread group has exited: its main
// thread is a zombie or being torn down ('x' on kernels before 3.14), and
// no other thread is left.
//
// The main thread's state alone is not enough. A main thread that called
// pthread_exit is a zombie while the other threads run on; and when a
// multi-threaded process exits, its main thread is often a zombie before
// the others have finished exiting. Until then the process still runs, or
// still holds what it had open. The kernel counts a thread out of the group
// (field 20) only at the very end of its exit, after its memory and files
// are gone, while the main thread, zombie or not, stays counted until it is
// reaped: so a count of 1 with the main thread a zombie means the whole
// group has exited, and an unreaped zombie counts as dead.
func (s procStat) dead() bool {
	return (s.state == 'Z' || s.state == 'X' || s.state == 'x') && s.threads <= 1
}

// statSize is enough for any /proc/PID/stat: 52 numeric fields of at most
// 20 digits each, and a command name of at most 64 bytes.
const statSize = 1280

// readStat reads /proc/PID/stat with bare system calls into a buffer on the
// stack. A supervisor does this for every worker it starts (Transfer), and
// os.ReadFile costs 10 system calls for it (fcntl, epoll_ctl, fstat, ...)
// where open, read and close do (docs/performance.md).
func readStat(pid int) (procStat, error) {
	name := "/proc/" + strconv.Itoa(pid) + "/stat"
	fd, err := openRetry(name)
	if err != nil {
		return procStat{}, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	var buf [statSize]byte
	n := 0
	for n < len(buf) {
		m, err := unix.Read(fd, buf[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			unix.Close(fd)
			return procStat{}, &fs.PathError{Op: "read", Path: name, Err: err}
		}
		n += m
		// The kernel hands the whole file to one read big enough for it;
		// its last byte is a newline. Only a short read needs another.
		if m == 0 || buf[n-1] == '\n' {
			break
		}
	}
	unix.Close(fd)
	if n == len(buf) {
		return procStat{}, errStatFormat
	}
	return parseStat(buf[:n])
}

func openRetry(path string) (int, error) {
	for {
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

var errStatFormat = errors.New("unexpected /proc/PID/stat format")

// parseStat reads the state, thread count and start time from the contents
// of /proc/PID/stat. Field 2 is the command name in parentheses, which may
// itself hold spaces and parentheses: the fields are counted from after the
// last ')'. It allocates nothing.
func parseStat(b []byte) (procStat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, errStatFormat
	}
	const first = 3 // the first field after the name
	const state, threads, start = 3, 20, 22
	var st procStat
	rest := b[i+1:]
	for field := first; field <= start; field++ {
		f, tail, ok := nextField(rest)
		if !ok {
			return procStat{}, errStatFormat
		}
		rest = tail
		var err error
		switch field {
		case state:
			if len(f) != 1 {
				return procStat{}, errStatFormat
			}
			st.state = f[0]
		case threads:
			var n uint64
			n, err = parseDecimal(f)
			st.threads = int64(n)
			if n > 1<<62 {
				err = errStatFormat
			}
		case start:
			st.start, err = parseDecimal(f)
		}
		if err != nil {
			return procStat{}, errStatFormat
		}
	}
	return st, nil
}

// nextField splits off the first space-separated field of b.
func nextField(b []byte) (field, rest []byte, ok bool) {
	i := 0
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	j := i
	for j < len(b) && !isSpace(b[j]) {
		j++
	}
	return b[i:j], b[j:], j > i
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\t' }

// parseDecimal parses an unsigned decimal number of at most 19 digits.
func parseDecimal(b []byte) (uint64, error) {
	if len(b) == 0 || len(b) > 19 {
		return 0, errStatFormat
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, errStatFormat
		}
		n = n*10 + uint64(c-'0')
	}
	return n, nil
}
