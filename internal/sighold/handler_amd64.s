//go:build linux

#include "textflag.h"

// The kernel calls handler(sig, info, ctx) with the C calling convention:
// DI, SI, DX. Below handedOver, state[sig] is counted up by a
// compare-and-swap; at handedOver the handler jumps to goHandler[sig] with
// the kernel's registers and stack as they came (see sighold_linux.go).
// The kernel restores every register after it.
TEXT ·handler(SB),NOSPLIT|NOFRAME,$0-0
	CMPQ	DI, $65
	JAE	done
	LEAQ	·state(SB), BX
	LEAQ	(BX)(DI*4), BX
	MOVL	(BX), AX
count:
	CMPL	AX, $0xffffffff // handedOver
	JEQ	forward
	LEAL	1(AX), CX
	CMPL	CX, $0xffffffff
	JEQ	done // counted as far as it goes
	LOCK
	CMPXCHGL	CX, (BX) // AX: the value seen, if not swapped
	JNE	count
done:
	RET
forward:
	LEAQ	·goHandler(SB), BX
	MOVQ	(BX)(DI*8), BX
	CMPQ	BX, $1
	JLS	done // SIG_DFL, SIG_IGN
	JMP	BX

// rt_sigreturn(2): the return address the kernel gives the handler.
TEXT ·restorer(SB),NOSPLIT|NOFRAME,$0-0
	MOVQ	$15, AX // SYS_rt_sigreturn
	SYSCALL
	INT	$3 // not reached

TEXT ·handlerPC(SB),NOSPLIT,$0-8
	LEAQ	·handler(SB), AX
	MOVQ	AX, ret+0(FP)
	RET

TEXT ·restorerPC(SB),NOSPLIT,$0-8
	LEAQ	·restorer(SB), AX
	MOVQ	AX, ret+0(FP)
	RET
