package logwriter

import (
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// A direct writer writes a line from the caller, in a way that cannot wait
// for a reader: either the stream takes the line at once, or write says so
// and the line goes through the queue. See docs/output.md.
type direct struct {
	fd    int    // owned: a description of its own or a duplicate, closed by close
	kind  string // pipe, socket, file or null
	write func(fd int, p []byte) (int, error)
	// longest is the longest line written directly: a pipe takes a write
	// of up to PIPE_BUF bytes whole or not at all, and a longer one in part.
	longest int
}

// pipeBuf is PIPE_BUF on Linux.
const pipeBuf = 4096

// batchMax is the most bytes of lines held to be written together (Hold):
// what a pipe takes in one piece, so another writer of the stream (worker
// output) cannot land inside it, and never more than the stream takes.
func (d *direct) batchMax() int { return min(d.longest, pipeBuf) }

// newDirect returns a direct writer for the stream out writes to, or nil
// when out has no file descriptor or the stream may make a write wait:
// a terminal, a file on a network or FUSE file system, anything unknown.
// It does not change out's file descriptor or the description it shares
// with the processes that inherited it.
func newDirect(out any) *direct {
	conn, ok := out.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := conn.SyscallConn()
	if err != nil {
		return nil
	}
	var d *direct
	if err := raw.Control(func(fd uintptr) { d = directFor(int(fd)) }); err != nil {
		if d != nil {
			d.close()
		}
		return nil
	}
	return d
}

// directFor picks the direct writer for the stream fd refers to, by its
// file type, as docs/output.md explains.
func directFor(fd int) *direct {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil
	}
	if flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0); err != nil || flags&unix.O_ACCMODE == unix.O_RDONLY {
		return nil // not for writing: the reopened pipe would be
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFIFO:
		// O_NONBLOCK on fd itself would change the description the
		// parent shell and the workers share. Opened through /proc, a
		// pipe or FIFO gets a description of its own.
		own, err := unix.Open(fmt.Sprintf("/proc/self/fd/%d", fd), unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil // no /proc, or no reader: the queue will do
		}
		if !samePipe(fd, own) {
			unix.Close(own)
			return nil
		}
		return &direct{fd: own, kind: "pipe", write: writeFd, longest: pipeBuf}
	case unix.S_IFSOCK:
		// MSG_DONTWAIT makes one send non-blocking, with the flags of the
		// shared description left alone. A stream socket may take part of
		// a line; the rest goes through the queue, first.
		return dup(fd, "socket", sendNow, pipeBuf)
	case unix.S_IFREG:
		// A file has no reader to wait for. A local file system takes a
		// write into the page cache; one over a network or FUSE may wait
		// on a server or a daemon, so those keep the queue.
		var fs unix.Statfs_t
		if err := unix.Fstatfs(fd, &fs); err != nil || !localFS[int64(fs.Type)] {
			return nil
		}
		return dup(fd, "file", writeFd, 1<<30)
	case unix.S_IFCHR:
		if st.Rdev == unix.Mkdev(1, 3) { // /dev/null
			return dup(fd, "null", writeFd, 1<<30)
		}
	}
	return nil // a terminal can be stopped or flow-controlled
}

// localFS lists the file systems whose writes never wait on another
// process or host (statfs(2) magic numbers).
var localFS = map[int64]bool{
	unix.EXT4_SUPER_MAGIC:      true, // also ext2 and ext3
	unix.XFS_SUPER_MAGIC:       true,
	unix.BTRFS_SUPER_MAGIC:     true,
	unix.TMPFS_MAGIC:           true,
	unix.OVERLAYFS_SUPER_MAGIC: true,
	unix.F2FS_SUPER_MAGIC:      true,
	unix.RAMFS_MAGIC:           true,
	0x2fc12fc1:                 true, // ZFS
	unix.BCACHEFS_SUPER_MAGIC:  true,
}

// samePipe reports whether b is the pipe a is: /proc/self/fd/N names the
// file a refers to, unless something replaced a meanwhile.
func samePipe(a, b int) bool {
	var sa, sb unix.Stat_t
	return unix.Fstat(a, &sa) == nil && unix.Fstat(b, &sb) == nil && sa.Dev == sb.Dev && sa.Ino == sb.Ino
}

func dup(fd int, kind string, write func(int, []byte) (int, error), longest int) *direct {
	own, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	return &direct{fd: own, kind: kind, write: write, longest: longest}
}

func writeFd(fd int, p []byte) (int, error) {
	for {
		n, err := unix.Write(fd, p)
		if err != unix.EINTR {
			return n, err
		}
	}
}

func sendNow(fd int, p []byte) (int, error) {
	for {
		n, err := unix.SendmsgN(fd, p, nil, nil, unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL)
		if err != unix.EINTR {
			return n, err
		}
	}
}

func (d *direct) close() { unix.Close(d.fd) }
