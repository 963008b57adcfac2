package slots_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/slotrun/slotrun/slots"
	"golang.org/x/sys/unix"
)

// The test binary is also the child program of the tests that need other
// processes: TestMain runs the helper named in helperEnv instead of the tests.
const helperEnv = "SLOTS_TEST_HELPER"

// timeout bounds every wait for a child process.
const timeout = 60 * time.Second

func TestMain(m *testing.M) {
	if name, ok := os.LookupEnv(helperEnv); ok {
		os.Exit(runHelper(name))
	}
	code := m.Run()
	removeBuilt()
	os.Exit(code)
}

func runHelper(name string) int {
	switch name {
	case "block":
		return helperBlock()
	case "getid":
		return helperGetID()
	case "churn":
		return helperChurn()
	case "prefork":
		return helperPrefork()
	case "claim":
		return helperClaim()
	}
	fmt.Fprintf(os.Stderr, "unknown helper %q\n", name)
	return 2
}

// helperBlock is a live process that holds nothing: it says "ready" and
// runs until its stdin closes.
func helperBlock() int {
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	return 0
}

// exitFull is the exit code of a getid helper that found no free slot.
const exitFull = 3

// helperGetID takes an id from the table SLOTS_TEST_PATH with GetProcessID,
// prints "id N" (or "full", exiting exitFull), and holds the id until its
// stdin closes, then releases it. With SLOTS_TEST_GATE set, it first prints
// "ready" and waits for the gate (fd 3) to close, so that many helpers ask
// at once.
func helperGetID() int {
	path := os.Getenv("SLOTS_TEST_PATH")
	if os.Getenv("SLOTS_TEST_GATE") != "" {
		fmt.Println("ready")
		waitGate()
	}
	id, err := slots.GetProcessID(path)
	if errors.Is(err, slots.ErrNoFreeSlot) {
		fmt.Println("full")
		return exitFull
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("id %d\n", id)
	io.Copy(io.Discard, os.Stdin)
	if err := slots.ReleaseProcessID(path); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// helperChurn acquires and releases a slot of the table SLOTS_TEST_PATH
// SLOTS_TEST_ITER times, retrying when the table is full, and checks through
// a mapping of its own that the slot's word is its own from Acquire to
// Release. It prints "ready", waits for the gate (fd 3), and at the end
// prints "done ITER FULL HIGHER NANOSECONDS": how often the table was full,
// and how often it got a slot above 0, which happens only when another
// process held slot 0 at the time.
func helperChurn() int {
	fail := func(format string, args ...any) int {
		fmt.Fprintf(os.Stderr, "churn pid %d: "+format+"\n", append([]any{os.Getpid()}, args...)...)
		return 1
	}
	path := os.Getenv("SLOTS_TEST_PATH")
	iter, err := strconv.Atoi(os.Getenv("SLOTS_TEST_ITER"))
	if err != nil {
		return fail("SLOTS_TEST_ITER: %v", err)
	}
	tbl, err := slots.Open(path, 1)
	if err != nil {
		return fail("%v", err)
	}
	defer tbl.Close()
	words, unmap, err := mapWords(path, tbl.Size())
	if err != nil {
		return fail("%v", err)
	}
	defer unmap()
	pid := os.Getpid()
	tag, err := startTag(pid)
	if err != nil {
		return fail("%v", err)
	}
	me := uint64(pid) | uint64(tag)<<32

	fmt.Println("ready")
	waitGate()
	start := time.Now()
	full, higher := 0, 0
	for done := 0; done < iter; {
		slot, err := tbl.Acquire(pid)
		if errors.Is(err, slots.ErrNoFreeSlot) {
			full++
			if time.Since(start) > timeout/2 {
				return fail("no progress: %d of %d done, %d times full", done, iter, full)
			}
			continue
		}
		if err != nil {
			return fail("Acquire: %v", err)
		}
		for range 8 {
			if w := atomic.LoadUint64(&words[slot]); w != me {
				return fail("slot %d: word %#x right after Acquire, want mine %#x", slot, w, me)
			}
		}
		if err := tbl.Release(slot, pid); err != nil {
			return fail("Release(%d): %v", slot, err)
		}
		if slot > 0 {
			higher++
		}
		done++
	}
	fmt.Printf("done %d %d %d %d\n", iter, full, higher, time.Since(start).Nanoseconds())
	return 0
}

// waitGate blocks until the parent closes the write end of the pipe that the
// helper got as fd 3.
func waitGate() {
	gate := os.NewFile(3, "gate")
	io.Copy(io.Discard, gate)
	gate.Close()
}

// mapWords maps the slot words of the table at path read-only, independently
// of package slots, for tests to check what the package wrote.
func mapWords(path string, n int) (words []uint64, unmap func(), err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	mem, err := unix.Mmap(int(f.Fd()), 0, 64+8*n, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, nil, err
	}
	words = unsafe.Slice((*uint64)(unsafe.Pointer(&mem[64])), n)
	return words, func() { unix.Munmap(mem) }, nil
}

// startTag reads the low 32 bits of a process's start time, field 22 of
// /proc/PID/stat, counting fields after the last ')' that closes field 2.
func startTag(pid int) (uint32, error) {
	f, err := statFields(pid)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseUint(f[22-3], 10, 64)
	return uint32(n), err
}

// procState returns field 3 of /proc/PID/stat, the process state.
func procState(pid int) string {
	f, err := statFields(pid)
	if err != nil {
		return err.Error()
	}
	return f[0]
}

// statFields returns the fields of /proc/PID/stat from field 3 on.
func statFields(pid int) ([]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 20 {
		return nil, fmt.Errorf("/proc/%d/stat: %d fields after the name", pid, len(f))
	}
	return f, nil
}

func mustTag(t testing.TB, pid int) uint32 {
	t.Helper()
	tag, err := startTag(pid)
	if err != nil {
		t.Fatalf("start time of pid %d: %v", pid, err)
	}
	return tag
}

func word(pid int, tag uint32) uint64 { return uint64(uint32(pid)) | uint64(tag)<<32 }

// child is a helper process started by a test.
type child struct {
	t     testing.TB
	cmd   *exec.Cmd
	pid   int
	stdin *os.File    // write end of its stdin; closing it ends block and getid
	lines chan string // its stdout, line by line; closed at EOF
	errb  bytes.Buffer

	waitOnce sync.Once
	done     chan struct{} // closed when Wait returned
	waitErr  error
}

// startChild starts the helper name with env added to the environment and
// extra as fd 3 and up. t.Cleanup kills it and waits for it.
func startChild(t testing.TB, name string, env []string, extra ...*os.File) *child {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	c := &child{t: t, stdin: inW, lines: make(chan string, 4), done: make(chan struct{})}
	c.cmd = exec.Command(exe)
	c.cmd.Env = append(os.Environ(),
		helperEnv+"="+name,
		// Under -race, a process sleeps a second at exit by default.
		"GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=0")
	c.cmd.Env = append(c.cmd.Env, env...)
	c.cmd.Stdin, c.cmd.Stdout, c.cmd.Stderr = inR, outW, &c.errb
	c.cmd.ExtraFiles = extra
	err = c.cmd.Start()
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		t.Fatalf("starting helper %s: %v", name, err)
	}
	c.pid = c.cmd.Process.Pid
	go func() {
		defer close(c.lines)
		defer outR.Close()
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		c.stdin.Close()
		c.cmd.Process.Kill()
		c.wait()
	})
	return c
}

// line returns the child's next line of output, failing the test if none
// comes in time.
func (c *child) line() string {
	c.t.Helper()
	select {
	case l, ok := <-c.lines:
		if !ok {
			c.wait()
			c.t.Fatalf("helper pid %d ended its output early (%v); stderr: %s", c.pid, c.waitErr, c.errb.String())
		}
		return l
	case <-time.After(timeout):
		c.t.Fatalf("helper pid %d wrote nothing within %v", c.pid, timeout)
	}
	return ""
}

func (c *child) expect(want string) {
	c.t.Helper()
	if got := c.line(); got != want {
		c.t.Fatalf("helper pid %d said %q, want %q", c.pid, got, want)
	}
}

// wait reaps the child, once, and returns its exit code. A child that does
// not end within the timeout is killed.
func (c *child) wait() int {
	c.waitOnce.Do(func() {
		go func() {
			c.waitErr = c.cmd.Wait()
			close(c.done)
		}()
	})
	select {
	case <-c.done:
	case <-time.After(timeout):
		c.cmd.Process.Kill()
		<-c.done
		c.t.Errorf("helper pid %d did not end within %v; killed", c.pid, timeout)
	}
	return c.cmd.ProcessState.ExitCode()
}

// end closes the child's stdin and returns its exit code.
func (c *child) end() int {
	c.stdin.Close()
	return c.wait()
}

// gate returns a pipe to pass to many children as fd 3: they block on it
// until open is called, which lets them all go at once.
func gate(t testing.TB) (r *os.File, open func()) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, func() { w.Close() }
}

// eventually polls cond until it holds, failing the test after the timeout.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(timeout)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("%s: not within %v", what, timeout)
		}
	}
}

// newTable creates a table of size slots in a new directory and returns its
// path.
func newTable(t testing.TB, size int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.slots")
	tbl, err := slots.Open(path, size)
	if err != nil {
		t.Fatalf("Open(%s, %d): %v", path, size, err)
	}
	if err := tbl.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// openTable opens the table at path; t.Cleanup closes it.
func openTable(t testing.TB, path string, size int) *slots.Table {
	t.Helper()
	tbl, err := slots.Open(path, size)
	if err != nil {
		t.Fatalf("Open(%s, %d): %v", path, size, err)
	}
	t.Cleanup(func() { tbl.Close() })
	return tbl
}

// readWord and writeWord access a slot through the file, not the mapping:
// they check the on-disk format and plant holders as another process would.
func readWord(t testing.TB, path string, slot int) uint64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return binary.LittleEndian.Uint64(b[64+8*slot:])
}

func writeWord(t testing.TB, path string, slot int, w uint64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(binary.LittleEndian.AppendUint64(nil, w), int64(64+8*slot)); err != nil {
		t.Fatal(err)
	}
}

// tableBytes returns the bytes of a table file with the given header fields
// and slot words.
func tableBytes(magic string, version, count uint32, words ...uint64) []byte {
	b := make([]byte, 64, 64+8*len(words))
	copy(b, magic)
	binary.LittleEndian.PutUint32(b[8:], version)
	binary.LittleEndian.PutUint32(b[12:], count)
	for _, w := range words {
		b = binary.LittleEndian.AppendUint64(b, w)
	}
	return b
}
