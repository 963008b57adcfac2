//go:build linux

#include "textflag.h"

// The kernel calls handler(sig) with the C calling convention: the signal
// number in DI. It marks came[sig]; the kernel restores every register
// after it.
TEXT ·handler(SB),NOSPLIT|NOFRAME,$0-0
	CMPQ	DI, $65
	JAE	done
	LEAQ	·came(SB), AX
	MOVL	$1, (AX)(DI*4)
done:
	RET

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
