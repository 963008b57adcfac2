package imagepages

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Release unmaps the image's read-only pages: what stays resident right
// after is what ran since, far less than the start-up had touched. The
// process goes on running its code, which maps back in.
func TestReleaseUnmapsTheImagesReadOnlyPages(t *testing.T) {
	before, err := Resident()
	if err != nil {
		t.Fatal(err)
	}
	released, err := Release()
	if err != nil {
		t.Fatalf("Release: %v", err)
	}
	after, err := Resident()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("image resident: %d KiB before, %d KiB after; %d KiB of mappings released", before, after, released/1024)
	if released == 0 {
		t.Fatal("Release released no mapping")
	}
	if after >= before {
		t.Fatalf("image resident %d KiB after Release, %d KiB before: nothing was unmapped", after, before)
	}
	// Code that had not run since the release still runs: it maps back in.
	if got := strconv.Quote("still runs"); got != `"still runs"` {
		t.Fatalf("Quote after Release = %s", got)
	}
}

func TestParseMapping(t *testing.T) {
	for _, tc := range []struct {
		line string
		want mapping
		ok   bool
	}{
		{"00400000-006c7000 r-xp 00000000 fe:01 1234 /usr/bin/slotrun",
			mapping{start: 0x400000, end: 0x6c7000, dev: "fe:01", inode: 1234}, true},
		{"0097f000-009c7000 rw-p 0057f000 fe:01 1234 /usr/bin/slotrun",
			mapping{start: 0x97f000, end: 0x9c7000, writable: true, dev: "fe:01", inode: 1234}, true},
		{"7f0000000000-7f0000001000 rw-s 00000000 00:1a 99 /run/x/slotrun.slots",
			mapping{start: 0x7f0000000000, end: 0x7f0000001000, writable: true, shared: true, dev: "00:1a", inode: 99}, true},
		{"7fff85620000-7fff85641000 rw-p 00000000 00:00 0 [stack]",
			mapping{start: 0x7fff85620000, end: 0x7fff85641000, writable: true, dev: "00:00"}, true},
		{"00400000-006c7000 r-xp 00000000 fe:01 1234 /path with spaces/slotrun (deleted)",
			mapping{start: 0x400000, end: 0x6c7000, dev: "fe:01", inode: 1234}, true},
		{"", mapping{}, false},
		{"00400000 r-xp 00000000 fe:01 1234", mapping{}, false},
		{"006c7000-00400000 r-xp 00000000 fe:01 1234", mapping{}, false},
		{"zz-006c7000 r-xp 00000000 fe:01 1234", mapping{}, false},
		{"00400000-006c7000 r-x 00000000 fe:01 1234", mapping{}, false},
		{"00400000-006c7000 r-xp 00000000 fe:01 -1", mapping{}, false},
	} {
		got, ok := parseMapping([]byte(tc.line))
		if ok != tc.ok || got != tc.want {
			t.Errorf("parseMapping(%q) = %+v, %v; want %+v, %v", tc.line, got, ok, tc.want, tc.ok)
		}
	}
}

func FuzzParseMapping(f *testing.F) {
	f.Add("00400000-006c7000 r-xp 00000000 fe:01 1234 /usr/bin/slotrun")
	f.Add("7fff85620000-7fff85641000 rw-p 00000000 00:00 0 [stack]")
	f.Add("ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0 [vsyscall]")
	f.Add("-")
	f.Fuzz(func(t *testing.T, line string) {
		m, ok := parseMapping([]byte(line))
		if ok && m.end <= m.start {
			t.Fatalf("parseMapping(%q) accepted an empty range %+v", line, m)
		}
	})
}

// A position-independent build keeps addresses the loader relocated in a
// read-only mapping of the file (RELRO); Release must leave them, or the
// next collection reads the file's unrelocated copy and crashes.
func TestReleaseKeepsTheRelocatedPagesOfAPIEBuild(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "pie")
	build := exec.Command("go", "build", "-buildmode=pie", "-o", bin, "./testdata/pie")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build -buildmode=pie: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin).CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "ok ") {
		t.Fatalf("a PIE build after Release: %v\n%.2000s", err, out)
	}
}

// What one Release costs: reading /proc/self/smaps and one madvise per
// mapping. slotrun pays it twice at the start and at most once a second
// after requests to its servers.
func BenchmarkRelease(b *testing.B) {
	for b.Loop() {
		if _, err := Release(); err != nil {
			b.Fatal(err)
		}
	}
}
