package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// What the bench reads about a process comes from /proc, the same for every
// tool, whatever language it is written in.

// procStat is the part of /proc/PID/stat the bench uses.
type procStat struct {
	state     byte
	ppid      int
	startTime uint64 // field 22, in clock ticks since boot
}

func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	return parseStat(b)
}

// parseStat reads /proc/PID/stat. The command name (field 2) may hold
// spaces and parentheses, so fields are counted from the last ')'.
func parseStat(b []byte) (procStat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, errors.New("stat: no ')'")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); field k is f[k-3].
	if len(f) < 20 {
		return procStat{}, fmt.Errorf("stat: %d fields", len(f)+2)
	}
	num := func(k int) uint64 {
		v, _ := strconv.ParseUint(f[k-3], 10, 64)
		return v
	}
	return procStat{
		state:     f[0][0],
		ppid:      int(num(4)),
		startTime: num(22),
	}, nil
}

// threadCPU returns the CPU time, in ns, of every thread of pid: the first
// field of /proc/PID/task/TID/schedstat. utime+stime in /proc/PID/stat
// would do for one process, but it is rounded down to 10 ms, which loses
// everything when summed over 64 runsv that each use a few milliseconds.
func threadCPU(pid int) map[int]int64 {
	m := map[int]int64{}
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	for _, path := range tasks {
		b, err := os.ReadFile(path)
		if err != nil {
			continue // the thread just ended
		}
		f := strings.Fields(string(b))
		tid, err1 := strconv.Atoi(filepath.Base(filepath.Dir(path)))
		ns, err2 := strconv.ParseInt(firstField(f), 10, 64)
		if err1 == nil && err2 == nil {
			m[tid] = ns
		}
	}
	return m
}

func firstField(f []string) string {
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// parents maps every pid on the machine to its parent pid.
func parents() map[int]int {
	m := map[int]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := readStat(pid); err == nil {
			m[pid] = st.ppid
		}
	}
	return m
}

// children lists the direct children of pid.
func children(pid int) []int {
	var out []int
	for p, pp := range parents() {
		if pp == pid {
			out = append(out, p)
		}
	}
	return out
}

// descendants lists every process below root, parents before children.
func descendants(root int) []int {
	kids := map[int][]int{}
	for p, pp := range parents() {
		kids[pp] = append(kids[pp], p)
	}
	var out []int
	queue := []int{root}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		sort.Ints(kids[p])
		out = append(out, kids[p]...)
		queue = append(queue, kids[p]...)
	}
	return out
}

// exePath is where /proc/PID/exe points ("" when it cannot be read).
func exePath(pid int) string {
	p, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	return p
}

// memory is a process's resident and proportional set sizes in KiB.
type memory struct{ rss, pss int64 }

// readMemory reads /proc/PID/smaps_rollup: PSS charges each shared page to
// the processes sharing it in equal parts, so PSS sums over several
// processes (runsv, s6-supervise) without counting shared libraries twice.
func readMemory(pid int) (memory, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return memory{}, err
	}
	defer f.Close()
	return parseRollup(f)
}

func parseRollup(f io.Reader) (memory, error) {
	var m memory
	var seen int
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		var dst *int64
		switch key {
		case "Rss":
			dst = &m.rss
		case "Pss":
			dst = &m.pss
		default:
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			continue
		}
		v, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return memory{}, fmt.Errorf("smaps_rollup %s: %w", key, err)
		}
		*dst = v
		seen++
	}
	if seen < 2 {
		return memory{}, errors.New("smaps_rollup: no Rss/Pss lines")
	}
	return m, sc.Err()
}

// contextSwitches sums voluntary and involuntary switches over every thread
// of pid.
func contextSwitches(pid int) (int64, error) {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	if err != nil || len(tasks) == 0 {
		return 0, fmt.Errorf("pid %d: no tasks", pid)
	}
	var sum int64
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue // the thread just ended
		}
		sum += parseSwitches(b)
	}
	return sum, nil
}

func parseSwitches(status []byte) int64 {
	var sum int64
	for _, line := range strings.Split(string(status), "\n") {
		key, rest, ok := strings.Cut(line, ":")
		if ok && (key == "voluntary_ctxt_switches" || key == "nonvoluntary_ctxt_switches") {
			v, _ := strconv.ParseInt(strings.TrimSpace(rest), 10, 64)
			sum += v
		}
	}
	return sum
}

// environ reads one variable of a process's initial environment.
func environ(pid int, key string) (string, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		return "", false
	}
	for _, kv := range bytes.Split(b, []byte{0}) {
		if k, v, ok := strings.Cut(string(kv), "="); ok && k == key {
			return v, true
		}
	}
	return "", false
}

// alive reports whether pid runs and is not a zombie.
func alive(pid int) bool {
	st, err := readStat(pid)
	return err == nil && st.state != 'Z' && st.state != 'X'
}
