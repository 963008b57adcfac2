package e2e

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// maxPiece is the most content one prefixed line carries (docs/output.md).
const maxPiece = 64 << 10

func TestPrefixKeepsLinesOfManyWorkersWhole(t *testing.T) {
	t.Parallel()
	const workers, size, count = 8, 10240, 50
	p := start(t, "--prefix", "-n", strconv.Itoa(workers), "--", workerBin,
		"-line-size", strconv.Itoa(size), "-lines", strconv.Itoa(count))
	for id := range workers {
		p.waitStdout(fmt.Sprintf(`^\[slotrun:%d\] written id=%d$`, id, id))
	}

	prefix := regexp.MustCompile(`^\[slotrun:(\d+)\] `)
	lines, _, _ := p.stdout.snapshot()
	got := map[int]int{}
	bad := 0
	for i, line := range lines {
		if bad == 5 {
			t.Fatalf("giving up after %d broken lines", bad)
		}
		m := prefix.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("stdout line %d has no prefix: %.60q…", i, line)
			bad++
			continue
		}
		content := line[len(m[0]):]
		if strings.Contains(content, "[slotrun:") {
			t.Errorf("stdout line %d has a prefix inside it: lines of two workers interleaved: %.60q…", i, line)
			bad++
			continue
		}
		if !strings.HasPrefix(content, "line ") {
			continue // ready and written lines
		}
		id, _ := strconv.Atoi(m[1])
		if want := workerLine(id, size); content != want {
			t.Errorf("stdout line %d from slot %d: %d bytes starting %.30q; want worker %d's line of %d bytes starting %.30q",
				i, id, len(content), content, id, len(want), want)
			bad++
			continue
		}
		got[id]++
	}
	for id := range workers {
		if got[id] != count {
			t.Errorf("worker %d: %d whole lines arrived; want %d", id, got[id], count)
		}
	}
}

func TestPrefixCutsALongLineIntoPrefixedPieces(t *testing.T) {
	t.Parallel()
	const size = 100 << 10
	p := start(t, "--prefix", "-n", "1", "--", workerBin, "-line-size", strconv.Itoa(size), "-lines", "1")
	ready, _ := waitLine(t, p.stdout, 0, `^\[slotrun:0\] ready id=0 `)
	written, _ := waitLine(t, p.stdout, ready, `^\[slotrun:0\] written id=0$`)

	lines, _, _ := p.stdout.snapshot()
	pieces := lines[ready+1 : written]
	var whole strings.Builder
	for i, piece := range pieces {
		content, ok := strings.CutPrefix(piece, "[slotrun:0] ")
		if !ok {
			t.Fatalf("piece %d of the long line has no prefix: %.40q…", i, piece)
		}
		if len(content) > maxPiece {
			t.Errorf("piece %d carries %d bytes; want at most %d", i, len(content), maxPiece)
		}
		whole.WriteString(content)
	}
	if len(pieces) < 2 {
		t.Errorf("a %d-byte line came out in %d piece(s); want it cut into pieces of at most %d", size, len(pieces), maxPiece)
	}
	if whole.String() != workerLine(0, size) {
		t.Errorf("pieces joined: %d bytes; want the worker's %d-byte line, byte for byte", whole.Len(), size)
	}
}

func TestPrefixAppliesToStderrWithTheInstanceName(t *testing.T) {
	t.Parallel()
	p := start(t, "--prefix", "--name", "api", "-n", "2", "--", workerBin, "-stderr-line", "complaint")
	for id := range 2 {
		p.waitStderr(fmt.Sprintf(`^\[api:%d\] complaint id=%d$`, id, id))
		p.waitStdout(fmt.Sprintf(`^\[api:%d\] ready id=%d `, id, id))
	}
}

// workerLine is the line the helper worker writes with -line-size: `line
// id=N ` and filler, size bytes in all (without the newline).
func workerLine(id, size int) string {
	ids := strconv.Itoa(id)
	b := []byte(strings.Repeat(string(rune('a'+len(ids)%26)), size))
	copy(b, "line id="+ids+" ")
	return string(b)
}
