//go:build linux && (amd64 || arm64)

package sighold

import (
	"sync/atomic"
	"syscall"
	"unsafe"
)

// sigaction is the kernel's struct sigaction on amd64 and arm64.
type sigaction struct {
	handler  uintptr
	flags    uint64
	restorer uintptr
	mask     uint64
}

const (
	sigDFL    = 0
	sigIGN    = 1
	saOnstack = 0x08000000
	saRestart = 0x10000000
	nsig      = 65
)

var (
	// came[sig] is set to 1 by the handler (handler_*.s) when sig comes.
	came [nsig]uint32
	// holders[sig] counts the Holds not given back yet: the handler is on
	// sig while it is above 0. saved[sig] is the handler it replaced.
	holders [nsig]int
	saved   [nsig]sigaction
)

// The handler, in assembly; the kernel calls it as a C function. It writes
// to came and nothing else, and needs a few bytes of stack, but runs on
// the signal stack the runtime gives every thread (SA_ONSTACK): the kernel
// puts its signal frame, a few KiB, on the stack in use, and a goroutine's
// may not have that much room left.
func handler()

// restorer returns from the handler (rt_sigreturn); amd64's kernel needs
// one named.
func restorer()

// handlerPC and restorerPC are the addresses of handler and restorer
// themselves, not of the wrappers Go would call them through. restorerPC
// is 0 where the kernel brings its own (arm64).
func handlerPC() uintptr
func restorerPC() uintptr

func rtSigaction(sig syscall.Signal, act, old *sigaction) syscall.Errno {
	_, _, errno := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig),
		uintptr(unsafe.Pointer(act)), uintptr(unsafe.Pointer(old)), 8, 0, 0)
	return errno
}

func hold(sig syscall.Signal) bool {
	if sig <= 0 || sig >= nsig {
		return false
	}
	if holders[sig] > 0 {
		holders[sig]++
		return true
	}
	var old sigaction
	if rtSigaction(sig, nil, &old) != 0 || old.handler == sigIGN {
		return false
	}
	act := sigaction{handler: handlerPC(), flags: saOnstack | saRestart | saRestorer, restorer: restorerPC(), mask: ^uint64(0)}
	atomic.StoreUint32(&came[sig], 0)
	if rtSigaction(sig, &act, nil) != 0 {
		return false
	}
	holders[sig], saved[sig] = 1, old
	return true
}

func giveBack(sig syscall.Signal) bool {
	if sig <= 0 || sig >= nsig || holders[sig] == 0 {
		return false
	}
	if holders[sig]--; holders[sig] > 0 {
		// Another holder has yet to give it back; it hears of it too.
		return atomic.LoadUint32(&came[sig]) != 0
	}
	// The runtime leaves some signals (TSTP, TTIN, TTOU, CONT) at their
	// default until os/signal is asked for them: Notify has then put the
	// runtime's handler in place of this one, which it keeps as the
	// handler to forward to. It forwards only SIGPIPE and faults, never
	// these. Otherwise the handler held is put back.
	var now sigaction
	if rtSigaction(sig, nil, &now) == 0 && now.handler == handlerPC() {
		rtSigaction(sig, &saved[sig], nil)
	}
	return atomic.SwapUint32(&came[sig], 0) != 0
}
