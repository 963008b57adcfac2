package slots

import (
	"os/exec"
	"testing"
)

// The start time the clock tells for a child matches the one /proc shows,
// for many children in a row: the clock is trusted, and every word it
// gives is the word /proc would give.
func TestChildWordMatchesProc(t *testing.T) {
	told := 0
	for range 50 {
		f := BeforeFork()
		cmd := exec.Command("/bin/sleep", "5")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		w, err := childWord(cmd.Process.Pid, f)
		fromProc, err2 := wordFor(cmd.Process.Pid)
		cmd.Process.Kill()
		cmd.Wait()
		if err != nil || err2 != nil {
			t.Fatalf("childWord: %v; wordFor: %v", err, err2)
		}
		if w != fromProc {
			t.Fatalf("pid %d: word %#x from the clock, %#x from /proc", cmd.Process.Pid, w, fromProc)
		}
		if clockTrusted.Load() == 1 {
			told++
		}
	}
	if clockTrusted.Load() != 1 {
		t.Fatalf("the clock was not trusted after 50 children (state %d)", clockTrusted.Load())
	}
	t.Logf("%d of 50 words from the clock", told)
}

// A clock found wrong once is not used again: every word comes from /proc.
func TestChildWordAfterAMismatchReadsProc(t *testing.T) {
	old := clockTrusted.Load()
	t.Cleanup(func() { clockTrusted.Store(old) })
	clockTrusted.Store(-1)
	f := BeforeFork()
	cmd := exec.Command("/bin/sleep", "5")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	w, err := childWord(cmd.Process.Pid, f)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := wordFor(cmd.Process.Pid); w != want {
		t.Fatalf("word %#x, want /proc's %#x", w, want)
	}
	if clockTrusted.Load() != -1 {
		t.Fatal("a distrusted clock was trusted again")
	}
}

// A clock whose ticks are not /proc's would be caught by the first check:
// the word from a clock counted at another rate differs from /proc's.
func TestChildWordCheckCatchesAnotherTickRate(t *testing.T) {
	f := BeforeFork()
	cmd := exec.Command("/bin/sleep", "5")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	after := bootClock()
	if f.before/tick != after/tick {
		t.Skip("the fork crossed a tick")
	}
	const wrongTick = tick / 10 // a USER_HZ of 1000
	w := holderWord(cmd.Process.Pid, uint32(after/wrongTick))
	if got, _ := wordFor(cmd.Process.Pid); got == w {
		t.Fatalf("a start time counted at 1000 Hz matched /proc's (%#x)", w)
	}
}

func BenchmarkChildWordFromTheClock(b *testing.B) {
	clockTrusted.Store(1)
	for b.Loop() {
		f := BeforeFork()
		childWord(1, f)
	}
}

// Which reading childWord goes by: the child's own when there is one,
// and /proc whenever the two readings straddle a tick. The pid is one no
// process has, so a read of /proc fails and shows.
func TestChildWordGoesByTheChildsReading(t *testing.T) {
	old := clockTrusted.Load()
	t.Cleanup(func() { clockTrusted.Store(old) })
	clockTrusted.Store(1)
	const gone = maxPID // above /proc/sys/kernel/pid_max: no such process
	start := 40 * tick
	for _, tc := range []struct {
		name  string
		f     Fork
		word  uint64 // 0: /proc is read
		trust int32
	}{
		{"child's reading in the same tick", Fork{before: start + 1, child: start + tick - 1}, holderWord(gone, 40), 1},
		{"child's reading a tick later", Fork{before: start + tick - 1, child: start + tick + 1}, 0, 1},
		{"no child's reading: the parent's, now, is ticks later", Fork{before: start + 1}, 0, 1},
		{"a clock found wrong", Fork{before: start + 1, child: start + 2}, 0, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clockTrusted.Store(tc.trust)
			w, err := childWord(gone, tc.f)
			switch {
			case tc.word != 0 && (err != nil || w != tc.word):
				t.Errorf("word %#x, error %v; want %#x from the clock", w, err, tc.word)
			case tc.word == 0 && err == nil:
				t.Errorf("word %#x without reading /proc; want /proc read", w)
			}
		})
	}
}
