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
// are touched: their contents are the file's, so dropping a page loses
// nothing. Writable mappings (data, bss) are never touched.
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
	lines, image, err := imageMappings()
	if err != nil {
		return 0, fmt.Errorf("release image pages: %w", err)
	}
	released := 0
	for _, m := range lines {
		if !image.holds(m) {
			continue
		}
		// By address: the region is not Go memory, so no slice of it.
		_, _, errno := unix.Syscall(unix.SYS_MADVISE, uintptr(m.start), uintptr(m.end-m.start), unix.MADV_DONTNEED)
		if errno != 0 {
			return released, fmt.Errorf("release image pages at %#x: madvise: %w", m.start, errno)
		}
		released += int(m.end - m.start)
	}
	return released, nil
}

// Resident returns how much of the executable's read-only mappings is
// resident, in KiB: what Release would give back.
func Resident() (int, error) {
	_, image, err := imageMappings()
	if err != nil {
		return 0, fmt.Errorf("resident image pages: %w", err)
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return 0, fmt.Errorf("resident image pages: %w", err)
	}
	defer f.Close()
	sum, counting := 0, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Bytes()
		if m, ok := parseMapping(line); ok {
			counting = image.holds(m)
			continue
		}
		if rest, ok := bytes.CutPrefix(line, []byte("Rss:")); counting && ok {
			kb, err := strconv.Atoi(string(bytes.TrimSuffix(bytes.TrimSpace(rest), []byte(" kB"))))
			if err != nil {
				return 0, fmt.Errorf("resident image pages: smaps line %q: %w", line, err)
			}
			sum += kb
		}
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("resident image pages: read /proc/self/smaps: %w", err)
	}
	return sum, nil
}

// imageMappings reads /proc/self/maps and finds the mapping that holds the
// running code.
func imageMappings() ([]mapping, mapping, error) {
	maps, err := os.Open("/proc/self/maps")
	if err != nil {
		return nil, mapping{}, err
	}
	defer maps.Close()
	var lines []mapping
	sc := bufio.NewScanner(maps)
	for sc.Scan() {
		if m, ok := parseMapping(sc.Bytes()); ok {
			lines = append(lines, m)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, mapping{}, fmt.Errorf("read /proc/self/maps: %w", err)
	}
	image, ok := containing(lines, uint64(reflect.ValueOf(Release).Pointer()))
	if !ok || image.inode == 0 {
		return nil, mapping{}, errors.New("no file mapping holds the running code")
	}
	return lines, image, nil
}

// holds reports whether m is one of the mappings Release gives back: a
// private, read-only mapping of the same file as image.
func (image mapping) holds(m mapping) bool {
	return m.dev == image.dev && m.inode == image.inode && !m.writable && !m.shared
}

// mapping is one line of /proc/self/maps.
type mapping struct {
	start, end       uint64
	writable, shared bool
	dev              string
	inode            uint64
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
