package slots

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// MaxSlots is the largest slot count a table may have. A header that claims
// more is refused rather than mapped: no one runs that many workers, and a
// corrupt count must not make us map gigabytes.
const MaxSlots = 1 << 16

// The file format, docs/slots.md section 1.
const (
	headerSize = 64
	wordSize   = 8
	magic      = "SLOTRUN1"
	version    = 1
)

var (
	// ErrNoFreeSlot: every slot of the table has a live holder.
	ErrNoFreeSlot = errors.New("no free slot")
	// ErrNotHolder: the pid named as a slot's holder does not hold it.
	ErrNotHolder = errors.New("not the holder of the slot")
	// ErrSlotHeld: the slot asked for has a live holder. The error returned
	// is a *SlotHeldError, which names the holder.
	ErrSlotHeld = errors.New("slot held by a live process")
	// ErrBadTable: the file is not a well-formed slot table.
	ErrBadTable = errors.New("not a valid slot table")
	// ErrUnsafeFile: the file could be changed by someone other than its
	// user (its owner, its mode, or a symlink that points elsewhere), so
	// its ids could be forged.
	ErrUnsafeFile = errors.New("unsafe slot table file")
	// ErrClosed: the Table was closed.
	ErrClosed = errors.New("slot table closed")
)

// SlotHeldError is returned by AcquireSlot when the slot has a live holder.
// errors.Is(err, ErrSlotHeld) reports it.
type SlotHeldError struct {
	Path string // the table file
	Slot int
	PID  int // the live holder
}

func (e *SlotHeldError) Error() string {
	return fmt.Sprintf("slot table %s: slot %d is held by live pid %d", e.Path, e.Slot, e.PID)
}

func (e *SlotHeldError) Unwrap() error { return ErrSlotHeld }

// refusal is why Open would not use a file. Its text names the file and says
// what to do; kind (ErrBadTable, ErrUnsafeFile) is for errors.Is.
type refusal struct {
	path, msg string
	kind      error
}

func (e *refusal) Error() string { return "slot table " + e.path + ": " + e.msg }
func (e *refusal) Unwrap() error { return e.kind }

func refuse(path string, kind error, format string, args ...any) error {
	return &refusal{path: path, msg: fmt.Sprintf(format, args...), kind: kind}
}

// platformErr says why this build cannot use slot tables, or is nil. Slot
// words are loaded and compare-and-swapped as native uint64s, which read the
// little-endian file correctly only on a little-endian CPU; liveness checks
// read Linux's /proc.
var platformErr = checkPlatform(runtime.GOOS, binary.NativeEndian.Uint16([]byte{1, 0}) == 1)

func checkPlatform(goos string, littleEndian bool) error {
	switch {
	case goos != "linux":
		return fmt.Errorf("slot tables need Linux, not %s", goos)
	case !littleEndian:
		return fmt.Errorf("slot tables need a little-endian CPU, not %s", runtime.GOARCH)
	}
	return nil
}

// A Table is an open slot table. Its methods may be called from any number
// of goroutines at once, except Close, which must not overlap any other call
// on the same Table (it unmaps the memory they use).
type Table struct {
	path  string
	mem   []byte          // the whole mapping; nil once closed
	slots []atomic.Uint64 // the slot words, inside mem
}

// Open opens the slot table at path, creating it with size slots if it does
// not exist, is empty or holds only zero bytes (a creation that did not
// finish), and growing it to size slots if it has fewer. It never shrinks a
// table: if the file has more slots, the Table has them all, and Size says
// how many. size must be between 1 and MaxSlots.
//
// A file that is a symlink, not a regular file, owned by another user than
// the effective uid, or group- or world-writable is refused with an error
// wrapping ErrUnsafeFile; one with a wrong magic or version, or shorter than
// its header says, with an error wrapping ErrBadTable. Each says what to do.
// A missing parent directory is created (mode 0755), as for the PID file.
//
// The disk space of every slot is allocated (fallocate) before the file is
// mapped: a table that does not fit on its file system fails to open, or to
// grow, with an error wrapping ENOSPC, and is left as it was (a table that
// could not be created is left empty), where a mapping of a sparse file
// would fault at the first touch of a slot past the room.
//
// The header is checked, written or grown under a short exclusive flock on
// the file, so that processes opening the table at once agree on its size.
func Open(path string, size int) (*Table, error) {
	if size < 1 || size > MaxSlots {
		return nil, fmt.Errorf("slot table %s: cannot have %d slots: a table has 1 to %d", path, size, MaxSlots)
	}
	t, fd, err := open(path, size, true)
	if err != nil {
		return nil, err
	}
	unix.Close(fd)
	return t, nil
}

// open is Open, except that with grow false an existing table keeps its size
// and size applies only to a new one. It also returns the file's descriptor
// (close-on-exec), which the caller closes.
func open(path string, size int, grow bool) (t *Table, fd int, err error) {
	if platformErr != nil {
		return nil, -1, fmt.Errorf("slot table %s: %w", path, platformErr)
	}
	fd, err = openFile(path)
	if err != nil {
		return nil, -1, err
	}
	defer func() {
		if err != nil {
			unix.Close(fd)
			fd = -1
		}
	}()
	if err := checkFile(path, fd); err != nil {
		return nil, -1, err
	}

	if err := flock(fd, unix.LOCK_EX); err != nil {
		return nil, -1, fmt.Errorf("slot table %s: cannot lock: %w", path, err)
	}
	// The flock lasts only while the header is looked at or changed.
	defer flock(fd, unix.LOCK_UN)

	count, err := prepare(path, fd, size, grow)
	if err != nil {
		return nil, -1, err
	}
	// prepare checked, under the lock, that the file is at least this long
	// with its space allocated, and no one shortens a table: no access to
	// the mapping can fault.
	mem, err := unix.Mmap(fd, 0, int(tableLen(count)), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, -1, fmt.Errorf("slot table %s: cannot map: %w", path, err)
	}
	// The mapping is page-aligned, so each word at 64+8*i is 8-aligned, as
	// 64-bit atomic operations need.
	words := unsafe.Slice((*atomic.Uint64)(unsafe.Pointer(&mem[headerSize])), count)
	return &Table{path: path, mem: mem, slots: words}, fd, nil
}

// openFile opens or creates path without following a symlink at its end:
// a link could make us write the table into another file.
func openFile(path string) (int, error) {
	// O_NONBLOCK and O_NOCTTY: a path naming a FIFO or a device must not
	// block or become our terminal before checkFile refuses it. Neither flag
	// changes anything for a regular file.
	const flags = unix.O_RDWR | unix.O_CREAT | unix.O_NOFOLLOW | unix.O_CLOEXEC | unix.O_NOCTTY | unix.O_NONBLOCK
	fd, err := unix.Open(path, flags, 0o644)
	if errors.Is(err, unix.ENOENT) {
		// With O_CREAT, ENOENT means a missing directory.
		if mkErr := os.MkdirAll(filepath.Dir(path), 0o755); mkErr != nil {
			return -1, fmt.Errorf("slot table %s: cannot create its directory: %w", path, mkErr)
		}
		fd, err = unix.Open(path, flags, 0o644)
	}
	if errors.Is(err, unix.ELOOP) {
		if target, lerr := os.Readlink(path); lerr == nil {
			return -1, refuse(path, ErrUnsafeFile, "is a symbolic link (to %s); slot tables are never opened through a link: use the path of the file itself", target)
		}
	}
	if err != nil {
		return -1, fmt.Errorf("slot table %s: cannot open: %w", path, err)
	}
	return fd, nil
}

// checkFile refuses a file that another user could have written: its slot
// words could be forged to hold slots for ever or to hand one id to two
// processes.
func checkFile(path string, fd int) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("slot table %s: cannot stat: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return refuse(path, ErrUnsafeFile, "is not a regular file (file type %#o); use a path to a regular file", st.Mode&unix.S_IFMT)
	}
	if euid := unix.Geteuid(); int(st.Uid) != euid {
		return refuse(path, ErrUnsafeFile, "is owned by uid %d, not by uid %d that runs this program; remove it, or chown it to uid %d", st.Uid, euid, euid)
	}
	perm := st.Mode & 0o777
	if perm&0o002 != 0 {
		return refuse(path, ErrUnsafeFile, "is world-writable (mode %04o); run chmod 644 on it", perm)
	}
	if perm&0o020 != 0 {
		return refuse(path, ErrUnsafeFile, "is group-writable (mode %04o); run chmod 644 on it", perm)
	}
	return nil
}

// prepare creates the table in a new file, or checks the header of an
// existing one and grows it to size slots if grow is set and it has fewer.
// Either way the file's blocks are reserved for every slot before anyone
// maps them. It returns the slot count. The caller holds the flock.
func prepare(path string, fd, size int, grow bool) (int, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return 0, fmt.Errorf("slot table %s: cannot stat: %w", path, err)
	}
	n := st.Size
	unfinished, err := zeroFilled(fd, n)
	if err != nil {
		return 0, fmt.Errorf("slot table %s: cannot read it: %w", path, err)
	}
	if unfinished {
		return size, create(path, fd, size, n)
	}

	if n < headerSize {
		return 0, refuse(path, ErrBadTable, "is %d bytes, shorter than the %d-byte header; remove it if no process uses it", n, headerSize)
	}
	hdr := make([]byte, headerSize)
	if err := preadAll(fd, hdr, 0); err != nil {
		return 0, fmt.Errorf("slot table %s: cannot read its header: %w", path, err)
	}
	if string(hdr[:8]) != magic {
		return 0, refuse(path, ErrBadTable, "does not start with the magic %q, so it is not a slot table; point the slots file elsewhere, or remove it", magic)
	}
	if v := binary.LittleEndian.Uint32(hdr[8:]); v != version {
		return 0, refuse(path, ErrBadTable, "has format version %d, but this program reads version %d; use the matching slotrun, or remove the file when no process uses it", v, version)
	}
	// The 48 reserved bytes are not checked: a later version that uses them
	// changes the version number.
	count := int(binary.LittleEndian.Uint32(hdr[12:]))
	if count < 1 || count > MaxSlots {
		return 0, refuse(path, ErrBadTable, "has a header that claims %d slots, but a table has 1 to %d; remove it", count, MaxSlots)
	}
	if want := tableLen(count); n < want {
		return 0, refuse(path, ErrBadTable, "is %d bytes, but its header says %d slots (%d bytes): it was truncated; remove it when no process uses it", n, count, want)
	}
	if !grow || size <= count {
		// A table made by an older version, or on a file system that was
		// full, may have holes in its slots: fill them now, or fail here
		// rather than fault later.
		if err := reserve(fd, tableLen(count), tableLen(count)); err != nil {
			return 0, fmt.Errorf("slot table %s: cannot allocate the disk space of its %d slots: %w%s", path, count, err, spaceHint(err))
		}
		return count, nil
	}

	// Grow. Bytes past the old count belong to no slot and no one maps
	// them (a crash mid-grow, or a hand edit): cut them off, so that every
	// new slot starts as zeros, free.
	if n > tableLen(count) {
		if err := unix.Ftruncate(fd, tableLen(count)); err != nil {
			return 0, fmt.Errorf("slot table %s: cannot trim it before growing: %w", path, err)
		}
	}
	if err := reserve(fd, tableLen(size), tableLen(count)); err != nil {
		// Give back what part was allocated; the table keeps its size.
		unix.Ftruncate(fd, tableLen(count))
		return 0, fmt.Errorf("slot table %s: cannot grow it from %d to %d slots (%d bytes): %w%s", path, count, size, tableLen(size), err, spaceHint(err))
	}
	// The count goes in last, so it never names a slot the file lacks.
	var c [4]byte
	binary.LittleEndian.PutUint32(c[:], uint32(size))
	if err := pwriteAll(fd, c[:], 12); err != nil {
		return 0, fmt.Errorf("slot table %s: cannot write its new slot count: %w", path, err)
	}
	return size, nil
}

// create makes a table of size slots in a file of n bytes that holds
// nothing yet: it is empty, or all zeros because an earlier creation
// stopped before its header (a crash, a full disk). The caller holds the
// flock. The space is reserved before the header is written, and a
// failure empties the file again: whatever happens, the next Open finds a
// table, or a file it creates one in, never one it has to refuse.
func create(path string, fd, size int, n int64) error {
	if n > tableLen(size) {
		if err := unix.Ftruncate(fd, tableLen(size)); err != nil {
			return fmt.Errorf("slot table %s: cannot size it for %d slots: %w", path, size, err)
		}
	}
	err := reserve(fd, tableLen(size), 0)
	if err != nil {
		err = fmt.Errorf("slot table %s: cannot create it with %d slots (%d bytes): %w%s", path, size, tableLen(size), err, spaceHint(err))
	} else if err = pwriteAll(fd, header(size), 0); err != nil {
		err = fmt.Errorf("slot table %s: cannot write its header: %w", path, err)
	}
	if err != nil {
		unix.Ftruncate(fd, 0)
	}
	return err
}

// zeroFilled reports whether the file of n bytes is empty or holds nothing
// but zero bytes: an unfinished creation. A file larger than the largest
// table is not one.
func zeroFilled(fd int, n int64) (bool, error) {
	if n > tableLen(MaxSlots) {
		return false, nil
	}
	// The first chunk holds the header: a table's magic ends the look there.
	var b [4096]byte
	for off := int64(0); off < n; off += int64(len(b)) {
		chunk := b[:min(int64(len(b)), n-off)]
		if err := preadAll(fd, chunk, off); err != nil {
			return false, err
		}
		for _, c := range chunk {
			if c != 0 {
				return false, nil
			}
		}
	}
	return true, nil
}

// reserve makes the file length bytes long, with disk space allocated for
// all of them, so that no store through a mapping of it can fault for want
// of space (a sparse file on a full tmpfs raises SIGBUS on the first touch
// of a hole). Bytes below old are table content already; above it, the
// file is extended with zeros. Where the file system cannot allocate ahead
// (no fallocate), new bytes are written as zeros instead, which fails the
// same way when there is no room; old ones are left alone.
func reserve(fd int, length, old int64) error {
	err := fallocate(fd, 0, length)
	if !errors.Is(err, unix.EOPNOTSUPP) && !errors.Is(err, unix.ENOSYS) {
		return err
	}
	if length <= old {
		return nil
	}
	if err := unix.Ftruncate(fd, length); err != nil {
		return err
	}
	return pwriteAll(fd, make([]byte, length-old), old)
}

// spaceHint says what to do about a file system without room.
func spaceHint(err error) string {
	if errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EDQUOT) {
		return "; free some space on its file system, or use fewer slots"
	}
	return ""
}

func fallocate(fd int, off, length int64) error {
	for {
		err := unix.Fallocate(fd, 0, off, length)
		if err != unix.EINTR {
			return err
		}
	}
}

func tableLen(count int) int64 { return headerSize + wordSize*int64(count) }

func header(count int) []byte {
	h := make([]byte, headerSize)
	copy(h, magic)
	binary.LittleEndian.PutUint32(h[8:], version)
	binary.LittleEndian.PutUint32(h[12:], uint32(count))
	return h
}

func flock(fd, how int) error {
	for {
		err := unix.Flock(fd, how)
		if err != unix.EINTR {
			return err
		}
	}
}

func preadAll(fd int, b []byte, off int64) error {
	for len(b) > 0 {
		n, err := unix.Pread(fd, b, off)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return err
		case n == 0:
			return fmt.Errorf("file ended at byte %d", off)
		}
		b, off = b[n:], off+int64(n)
	}
	return nil
}

func pwriteAll(fd int, b []byte, off int64) error {
	for len(b) > 0 {
		n, err := unix.Pwrite(fd, b, off)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		b, off = b[n:], off+int64(n)
	}
	return nil
}

// Size returns the number of slots this Table maps: what the file had or was
// grown to when it was opened. Another process may since have grown the file;
// reopen to see its new slots.
func (t *Table) Size() int { return len(t.slots) }

// Close unmaps the table. The slots this process holds stay held: a holder
// gives a slot back with Release, or by exiting.
func (t *Table) Close() error {
	if t.mem == nil {
		return fmt.Errorf("slot table %s: %w", t.path, ErrClosed)
	}
	mem := t.mem
	t.mem, t.slots = nil, nil
	if err := unix.Munmap(mem); err != nil {
		return fmt.Errorf("slot table %s: cannot unmap: %w", t.path, err)
	}
	return nil
}
