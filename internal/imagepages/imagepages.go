// Package imagepages gives back the page mappings of slotrun's own
// executable once its start-up is over (docs/memory.md).
//
// A process keeps every page of its executable it has touched mapped, and
// its PSS counts them, for as long as it runs. slotrun touches much of its
// image once, to start: every package's initialisation, flag and config
// parsing, the HCL decoder. After that the supervisor runs a few paths.
// Release unmaps the image's read-only pages (code, read-only data, the
// function tables); what runs afterwards maps its pages back from the page
// cache on first use, as it would after the kernel reclaimed them. The
// kernel does the same with its own init sections after boot.
//
// Only private, read-only mappings of the file the running code comes from
// are touched, and only those whose every page is still the file's: a
// dropped page comes back from the file as it was, so nothing is lost.
// Writable mappings (data, bss) are never touched, nor is a read-only
// mapping the process wrote to before it was made read-only: the RELRO
// segment of a position-independent build (`go build -buildmode=pie`)
// holds addresses the loader relocated, and the file's copy of them
// would crash the process.
package imagepages

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strconv"

	"golang.org/x/sys/unix"
)

// Release unmaps the pages of the executable's read-only mappings, and
// returns how many bytes of mappings it released (mapped size, not
// resident pages).
func Release() (int, error) {
	maps, err := imageMappings()
	if err != nil {
		return 0, fmt.Errorf("release image pages: %w", err)
	}
	released := 0
	for _, m := range maps {
		// By address: the region is not Go memory, so no slice of it.
		_, _, errno := unix.Syscall(unix.SYS_MADVISE, uintptr(m.start), uintptr(m.end-m.start), unix.MADV_DONTNEED)
		if errno != 0 {
			return released, fmt.Errorf("release image pages at %#x: madvise: %w", m.start, errno)
		}
		released += int(m.end - m.start)
	}
	return released, nil
}

// Resident returns how much of the mappings Release gives back is
// resident, in KiB.
func Resident() (int, error) {
	maps, err := imageMappings()
	if err != nil {
		return 0, fmt.Errorf("resident image pages: %w", err)
	}
	sum := 0
	for _, m := range maps {
		sum += m.rssKiB
	}
	return sum, nil
}

// imageMappings lists the mappings Release gives back: the private,
// read-only mappings of the file that holds the running code, with no
// page the process has written (none anonymous).
func imageMappings() ([]mapping, error) {
	all, err := readSmaps()
	if err != nil {
		return nil, err
	}
	image, ok := containing(all, uint64(reflect.ValueOf(Release).Pointer()))
	if !ok || image.inode == 0 {
		return nil, errors.New("no file mapping holds the running code")
	}
	var maps []mapping
	for _, m := range all {
		if m.dev == image.dev && m.inode == image.inode && !m.writable && !m.shared && m.anonKiB == 0 {
			maps = append(maps, m)
		}
	}
	return maps, nil
}

// readSmaps reads every mapping of /proc/self/smaps, with the sizes that
// follow its line.
func readSmaps() ([]mapping, error) {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var maps []mapping
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Bytes()
		if m, ok := parseMapping(line); ok {
			maps = append(maps, m)
			continue
		}
		if len(maps) == 0 {
			continue
		}
		last := &maps[len(maps)-1]
		if kb, ok := sizeField(line, "Rss:"); ok {
			last.rssKiB = kb
		} else if kb, ok := sizeField(line, "Anonymous:"); ok {
			last.anonKiB = kb
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read /proc/self/smaps: %w", err)
	}
	return maps, nil
}

// sizeField reads a "Name:   123 kB" line of smaps.
func sizeField(line []byte, name string) (int, bool) {
	rest, ok := bytes.CutPrefix(line, []byte(name))
	if !ok {
		return 0, false
	}
	kb, err := strconv.Atoi(string(bytes.TrimSuffix(bytes.TrimSpace(rest), []byte(" kB"))))
	return kb, err == nil
}

// mapping is one mapping of /proc/self/smaps: its line, and two of the
// sizes that follow it.
type mapping struct {
	start, end       uint64
	writable, shared bool
	dev              string
	inode            uint64
	rssKiB, anonKiB  int
}

// parseMapping reads "start-end perms offset dev inode [path]".
func parseMapping(line []byte) (mapping, bool) {
	f := bytes.Fields(line)
	if len(f) < 5 {
		return mapping{}, false
	}
	start, end, ok := bytes.Cut(f[0], []byte("-"))
	if !ok || len(f[1]) != 4 {
		return mapping{}, false
	}
	var m mapping
	var err1, err2, err3 error
	m.start, err1 = strconv.ParseUint(string(start), 16, 64)
	m.end, err2 = strconv.ParseUint(string(end), 16, 64)
	m.inode, err3 = strconv.ParseUint(string(f[4]), 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || m.end <= m.start {
		return mapping{}, false
	}
	m.writable = f[1][1] == 'w'
	m.shared = f[1][3] == 's'
	m.dev = string(f[3])
	return m, true
}

func containing(ms []mapping, addr uint64) (mapping, bool) {
	for _, m := range ms {
		if m.start <= addr && addr < m.end {
			return m, true
		}
	}
	return mapping{}, false
}
