// Command sigblock starts a program the way a careless parent would: with
// some signals blocked and some ignored. It blocks and ignores what it is
// told, then execs the program in its place, which keeps both: a blocked
// mask and ignored dispositions survive exec.
//
//	sigblock -block USR1,WINCH -ignore HUP,TSTP -- PROGRAM [ARG...]
//
// Signals are named without SIG, or by number.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

func main() {
	block := flag.String("block", "", "comma-separated signals to block")
	ignore := flag.String("ignore", "", "comma-separated signals to ignore")
	flag.Parse()
	if flag.NArg() == 0 {
		fail("usage: sigblock [-block LIST] [-ignore LIST] -- PROGRAM [ARG...]")
	}
	// The exec must come from the thread whose mask is set: execve keeps
	// the calling thread's mask.
	runtime.LockOSThread()
	var set unix.Sigset_t
	for _, sig := range parse(*block) {
		set.Val[(sig-1)/64] |= 1 << ((sig - 1) % 64)
	}
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, &set, nil); err != nil {
		fail("block: %v", err)
	}
	for _, sig := range parse(*ignore) {
		if err := setIgnored(sig); err != nil {
			fail("ignore %d: %v", sig, err)
		}
	}
	path := flag.Arg(0)
	if err := syscall.Exec(path, flag.Args(), os.Environ()); err != nil {
		fail("exec %s: %v", path, err)
	}
}

// setIgnored sets sig's disposition to SIG_IGN with rt_sigaction itself:
// os/signal refuses some signals (32-34, which Go keeps for itself), and this
// process execs at once, so Go's bookkeeping does not matter.
func setIgnored(sig int) error {
	// struct kernel_sigaction on linux/amd64 and arm64: handler, flags,
	// restorer, mask. Only the handler is set; SIG_IGN is 1.
	act := struct {
		handler, flags, restorer uintptr
		mask                     uint64
	}{handler: 1}
	_, _, errno := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&act)), 0, 8, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

func parse(list string) []int {
	var sigs []int
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		if n, err := strconv.Atoi(name); err == nil {
			sigs = append(sigs, n)
			continue
		}
		sig := unix.SignalNum("SIG" + strings.ToUpper(strings.TrimPrefix(name, "SIG")))
		if sig == 0 {
			fail("unknown signal %q", name)
		}
		sigs = append(sigs, int(sig))
	}
	return sigs
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "sigblock: "+format+"\n", args...)
	os.Exit(2)
}
