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
	saSiginfo = 0x4
	saOnstack = 0x08000000
	saRestart = 0x10000000
	nsig      = 65
)

// state[sig] is what the handler (handler_*.s) does with sig: below
// handedOver, it adds one, atomically, and returns: the count of those
// that came while held. At handedOver it jumps to goHandler[sig], the Go
// runtime's handler, unless that is 0 or 1 (SIG_DFL, SIG_IGN: return).
const handedOver = ^uint32(0)

var (
	state     [nsig]uint32
	goHandler [nsig]uintptr
	// held[sig] says Hold took sig and GiveBack has not handed it over;
	// saved[sig] is the handler Hold replaced.
	held  [nsig]bool
	saved [nsig]sigaction
)

// The handler, in assembly; the kernel calls it as a C function with
// SA_SIGINFO's three arguments. It runs on the signal stack the runtime
// gives every thread (SA_ONSTACK): the kernel puts its signal frame, a few
// KiB, on the stack in use, and a goroutine's may not have that room.
// When it jumps to the runtime's handler, the stack, the arguments and the
// return address are still the kernel's.
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
	if held[sig] {
		return false
	}
	var old sigaction
	if rtSigaction(sig, nil, &old) != 0 || old.handler == sigIGN {
		return false
	}
	atomic.StoreUint32(&state[sig], 0)
	act := sigaction{handler: handlerPC(), flags: saSiginfo | saOnstack | saRestart | saRestorer, restorer: restorerPC(), mask: ^uint64(0)}
	if rtSigaction(sig, &act, nil) != 0 {
		return false
	}
	held[sig], saved[sig] = true, old
	return true
}

func giveBack(sig syscall.Signal) int {
	if sig <= 0 || sig >= nsig || !held[sig] {
		return 0
	}
	held[sig] = false
	var now sigaction
	ours := rtSigaction(sig, nil, &now) == 0 && now.handler == handlerPC()
	// Where to send a signal the kernel has given to the counting handler
	// but that has not counted it yet (its thread was preempted): the
	// runtime's handler, which os/signal has asked for it. The runtime
	// leaves some signals (TSTP, TTIN, TTOU, CONT) at their default until
	// os/signal asks for them; Notify has then put its handler in place
	// of this one itself (and keeps this one as the handler to forward
	// to, which it does only for SIGPIPE and faults, never these).
	to := now.handler
	if ours {
		to = saved[sig].handler
	}
	atomic.StoreUintptr(&goHandler[sig], to)
	// From this swap on, the handler no longer counts: what it counted is
	// reported, and whatever reaches it later goes on to the runtime.
	came := atomic.SwapUint32(&state[sig], handedOver)
	if ours {
		rtSigaction(sig, &saved[sig], nil)
	}
	return int(came)
}
