package main

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// These tests cover the bench's parsers and arithmetic only; they start no
// process and assert nothing about timing.

func TestParseStatCountsFieldsFromTheLastParen(t *testing.T) {
	// A command name with spaces and a ')' must not shift the fields.
	line := "42 (a) b (c) S 7 42 42 0 -1 4194560 100 0 0 0 30 12 0 0 20 0 3 0 123456 1000 50"
	st, err := parseStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if st.state != 'S' || st.ppid != 7 || st.startTime != 123456 {
		t.Fatalf("got %+v, want state S, ppid 7, start 123456", st)
	}
}

func TestParseRollupReadsRssAndPss(t *testing.T) {
	text := "55d0-7ffd ---p 00000000 00:00 0 [rollup]\nRss:                1234 kB\nPss:                 567 kB\nPss_Anon:            100 kB\n"
	m, err := parseRollup(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if m.rss != 1234 || m.pss != 567 {
		t.Fatalf("got %+v, want rss 1234 pss 567", m)
	}
	if _, err := parseRollup(strings.NewReader("nothing here\n")); err == nil {
		t.Fatal("want an error for a rollup without Rss/Pss")
	}
}

func TestParseSwitchesSumsBothKinds(t *testing.T) {
	status := "Name:\tx\nvoluntary_ctxt_switches:\t7\nnonvoluntary_ctxt_switches:\t3\n"
	if got := parseSwitches([]byte(status)); got != 10 {
		t.Fatalf("got %d, want 10", got)
	}
}

func TestParseEvent(t *testing.T) {
	ev, err := parseEvent("start 123 w_04 987654321")
	if err != nil {
		t.Fatal(err)
	}
	if ev != (event{kind: "start", pid: 123, slot: "w_04", at: 987654321}) {
		t.Fatalf("got %+v", ev)
	}
	for _, bad := range []string{"", "start 1 2", "boom 1 2 3", "hup x 2 3", "hup 1 2 y"} {
		if _, err := parseEvent(bad); err == nil {
			t.Errorf("parseEvent(%q): want an error", bad)
		}
	}
}

func TestMedian(t *testing.T) {
	cases := []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
	}
	for _, c := range cases {
		in := slices.Clone(c.in)
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
		if !slices.Equal(in, c.in) {
			t.Errorf("median reordered its input: %v", c.in)
		}
	}
}

func TestSeriesKeepsMedianAndRange(t *testing.T) {
	var s series
	for _, v := range []float64{4, 2, 9, 3, 5} {
		s.add(v, nil)
	}
	if s.Median != 4 || s.Min != 2 || s.Max != 9 {
		t.Fatalf("got median %v min %v max %v, want 4, 2, 9", s.Median, s.Min, s.Max)
	}
}

func TestReadSlotTable(t *testing.T) {
	b := make([]byte, slotHeader+8*3)
	copy(b, "SLOTRUN1")
	binary.LittleEndian.PutUint32(b[8:], 1)
	binary.LittleEndian.PutUint32(b[12:], 3)
	binary.LittleEndian.PutUint64(b[slotHeader+8:], 77|9<<32)
	path := filepath.Join(t.TempDir(), "t.slots")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	words, err := readSlotTable(path)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(words, []uint64{0, 77 | 9<<32, 0}) {
		t.Fatalf("got %x", words)
	}
	if err := os.WriteFile(path, b[:slotHeader+8], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readSlotTable(path); err == nil {
		t.Fatal("want an error for a table shorter than its header says")
	}
}

func TestCensusCountsFreeAndDeadSlots(t *testing.T) {
	// Slot 0 free, slot 1 names a pid that cannot exist (above pid_max).
	c := census([]uint64{0, 1<<31 - 1}, os.Getpid())
	if c.Free != 1 || c.Dead != 1 || c.ok(2) {
		t.Fatalf("got %v", c)
	}
}

func TestParseFlags(t *testing.T) {
	cfg, err := parseFlags([]string{"--json", "out.json", "--only", "s6,SLOTRUN", "--runs", "7"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.json != "out.json" || cfg.runs != 7 || !slices.Equal(cfg.only, []string{"slotrun", "s6"}) {
		t.Fatalf("got json %q runs %d only %v", cfg.json, cfg.runs, cfg.only)
	}
	if cfg, _ := parseFlags([]string{"--json"}); cfg.json != "-" {
		t.Fatalf("bare --json: got %q, want stdout", cfg.json)
	}
	if cfg, _ := parseFlags([]string{"--quick"}); cfg.runs != 1 || !slices.Equal(cfg.only, []string{"slotrun", "slotrun-serve", "floor", "floor-libs"}) {
		t.Fatalf("--quick: got runs %d only %v", cfg.runs, cfg.only)
	}
	for _, bad := range [][]string{{"--only", "systemd"}, {"--runs", "0"}, {"stray"}} {
		if _, err := parseFlags(bad); err == nil {
			t.Errorf("parseFlags(%q): want an error", bad)
		}
	}
}

func TestSig3(t *testing.T) {
	for v, want := range map[float64]string{0.1234: "0.123", 3.456: "3.46", 12.34: "12.3", 1234.5: "1234"} {
		if got := sig3(v); got != want {
			t.Errorf("sig3(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestEveryMetricHasAUniqueID(t *testing.T) {
	seen := map[string]bool{}
	for _, m := range metrics {
		if seen[m.id] {
			t.Errorf("metric %q twice", m.id)
		}
		seen[m.id] = true
	}
}

// The floors have a CLI (floorsignal) and a direct HUP; floor-libs skips
// only the crash storm, and says why.
func TestWhatTheFloorsMeasure(t *testing.T) {
	for _, tool := range []*tool{floorTool(), floorLibsTool()} {
		for _, id := range []string{"start_small", "start_one", "hup_cli", "hup_direct", "hup_one", "pss", "stop_one"} {
			if ok, why := applicable(tool, id); !ok {
				t.Errorf("%s, %s: not measured (%s)", tool.name, id, why)
			}
		}
	}
	if ok, _ := applicable(floorTool(), "storm_cost"); !ok {
		t.Error("floor: the crash storm is not measured")
	}
	for _, id := range []string{"storm_cpu", "storm_cost", "storm_stop", "storm_slots"} {
		if ok, why := applicable(floorLibsTool(), id); ok || !strings.Contains(why, "floor's code") {
			t.Errorf("floor-libs, %s: applicable %v, why %q; want n/a, the floor's code", id, ok, why)
		}
	}
}
