//go:build linux

#include "textflag.h"

// The kernel calls handler(sig, info, ctx) with the C calling convention:
// R0, R1, R2, and the return address in the link register. Below
// handedOver, state[sig] is counted up with a load-exclusive and
// store-exclusive pair; at handedOver the handler jumps to goHandler[sig]
// with the kernel's registers, link register and stack as they came (see
// sighold_linux.go). The kernel restores every register after it.
TEXT ·handler(SB),NOSPLIT|NOFRAME,$0-0
	CMP	$65, R0
	BHS	done
	MOVD	$·state(SB), R3
	ADD	R0<<2, R3, R3
count:
	LDAXRW	(R3), R4
	MOVW	$0xffffffff, R5 // handedOver
	CMPW	R5, R4
	BEQ	forward
	ADDW	$1, R4, R4
	CMPW	R5, R4
	BEQ	done // counted as far as it goes
	STLXRW	R4, (R3), R6
	CBNZW	R6, count
done:
	RET
forward:
	CLREX
	MOVD	$·goHandler(SB), R3
	MOVD	(R3)(R0<<3), R3
	CMP	$1, R3
	BLS	done // SIG_DFL, SIG_IGN
	JMP	(R3)

// Not used: arm64's kernel returns from a handler through the vDSO.
TEXT ·restorer(SB),NOSPLIT|NOFRAME,$0-0
	RET

TEXT ·handlerPC(SB),NOSPLIT,$0-8
	MOVD	$·handler(SB), R0
	MOVD	R0, ret+0(FP)
	RET

TEXT ·restorerPC(SB),NOSPLIT,$0-8
	MOVD	$0, ret+0(FP)
	RET
