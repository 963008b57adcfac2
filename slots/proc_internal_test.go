package slots

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"
)

func TestParseStat(t *testing.T) {
	// Fields 3 to 22 after the name; field 20 (threads) is 1, field 22
	// (start time) is 4242.
	tail := " S 1 1 1 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 4242 1000 200 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
	threads := func(n string) string { return strings.Replace(tail, " 20 0 1 0 4242 ", " 20 0 "+n+" 0 4242 ", 1) }
	tests := []struct {
		name, stat string
		state      byte
		threads    int64
		start      uint64
		ok         bool
	}{
		{"plain", "123 (sleep)" + tail, 'S', 1, 4242, true},
		{"spaces in name", "123 (my worker)" + tail, 'S', 1, 4242, true},
		{"parens in name", "123 (a) Z 1 (b))" + tail, 'S', 1, 4242, true},
		{"name is ')'", "123 ())" + tail, 'S', 1, 4242, true},
		{"newline in name", "123 (a\nb)" + tail, 'S', 1, 4242, true},
		{"zombie", "123 (x) Z" + tail[2:], 'Z', 1, 4242, true},
		{"zombie main thread, 3 threads", "123 (x) Z" + threads("3")[2:], 'Z', 3, 4242, true},
		{"start time past 32 bits", "1 (x)" + strings.Replace(tail, " 4242 ", " 4294971538 ", 1), 'S', 1, 4294971538, true},
		{"no parens", "123 sleep" + tail, 0, 0, 0, false},
		{"too few fields", "123 (sleep) S 1 1 1", 0, 0, 0, false},
		{"empty", "", 0, 0, 0, false},
		{"state too long", "123 (x) SS" + tail[2:], 0, 0, 0, false},
		{"start time not a number", "1 (x)" + strings.Replace(tail, " 4242 ", " 42x2 ", 1), 0, 0, 0, false},
		{"threads not a number", "1 (x)" + threads("two"), 0, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := parseStat([]byte(tt.stat))
			if (err == nil) != tt.ok || st.state != tt.state || st.threads != tt.threads || st.start != tt.start {
				t.Errorf("parseStat = {%q %d %d}, %v; want {%q %d %d}, ok %v", st.state, st.threads, st.start, err, tt.state, tt.threads, tt.start, tt.ok)
			}
		})
	}
}

func TestDeadMeansTheWholeThreadGroupExited(t *testing.T) {
	tests := []struct {
		state   byte
		threads int64
		dead    bool
	}{
		{'R', 1, false},
		{'S', 8, false},
		{'D', 2, false},
		{'Z', 2, false}, // main thread exited, another runs or is exiting
		{'Z', 1, true},  // every thread exited; not reaped yet
		{'X', 1, true},
		{'x', 1, true},
	}
	for _, tt := range tests {
		if got := (procStat{state: tt.state, threads: tt.threads}).dead(); got != tt.dead {
			t.Errorf("state %c with %d threads: dead() = %v, want %v", tt.state, tt.threads, got, tt.dead)
		}
	}
}

func TestSelfWordIsPIDAndStartTime(t *testing.T) {
	w, err := self()
	if err != nil {
		t.Fatal(err)
	}
	st, err := readStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if want := holderWord(os.Getpid(), uint32(st.start)); w != want {
		t.Errorf("self() = %#x, want %#x", w, want)
	}
	if !alive(w) {
		t.Errorf("this process is not alive by its own word")
	}
}

func TestCheckPlatform(t *testing.T) {
	if err := checkPlatform("linux", true); err != nil {
		t.Errorf("linux, little-endian: %v", err)
	}
	if err := checkPlatform("linux", false); err == nil || !strings.Contains(err.Error(), "little-endian") {
		t.Errorf("big-endian: %v, want an error about byte order", err)
	}
	if err := checkPlatform("darwin", true); err == nil || !strings.Contains(err.Error(), "Linux") {
		t.Errorf("darwin: %v, want an error saying Linux", err)
	}
}

// BenchmarkReadStat: one read of a live process's /proc/PID/stat, as
// Transfer does for every worker started.
func BenchmarkReadStat(b *testing.B) {
	pid := os.Getppid()
	for b.Loop() {
		if _, err := readStat(pid); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzParseStat checks the allocation-free parser against a plain one
// built from bytes.Fields and strconv.
func FuzzParseStat(f *testing.F) {
	f.Add([]byte("123 (my worker) S 1 1 1 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 4242 1000 200 1 1 0\n"))
	f.Add([]byte("1 ())) Z 1 1 1 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 3 0 4294971538\n"))
	f.Add([]byte("1 (x) S\t1 1 1 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 -1 0 42"))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, gotErr := parseStat(b)
		want, ok := plainParseStat(b)
		if (gotErr == nil) != ok || (ok && got != want) {
			t.Fatalf("parseStat(%q) = %+v, %v; the plain parser: %+v, ok %v", b, got, gotErr, want, ok)
		}
	})
}

func plainParseStat(b []byte) (procStat, bool) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, false
	}
	f := strings.FieldsFunc(string(b[i+1:]), func(r rune) bool { return r == ' ' || r == '\n' || r == '\t' })
	if len(f) < 20 || len(f[0]) != 1 {
		return procStat{}, false
	}
	digits := func(s string) bool {
		return len(s) > 0 && len(s) <= 19 && strings.Trim(s, "0123456789") == ""
	}
	if !digits(f[17]) || !digits(f[19]) {
		return procStat{}, false
	}
	n, err1 := strconv.ParseUint(f[17], 10, 64)
	s, err2 := strconv.ParseUint(f[19], 10, 64)
	if err1 != nil || err2 != nil || n > 1<<62 {
		return procStat{}, false
	}
	return procStat{state: f[0][0], threads: int64(n), start: s}, true
}
