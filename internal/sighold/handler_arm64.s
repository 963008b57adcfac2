//go:build linux

#include "textflag.h"

// The kernel calls handler(sig) with the C calling convention: the signal
// number in R0, the return address in the link register. It marks
// came[sig]; the kernel restores every register after it.
TEXT ·handler(SB),NOSPLIT|NOFRAME,$0-0
	CMP	$65, R0
	BHS	done
	MOVD	$·came(SB), R1
	MOVW	$1, R2
	MOVW	R2, (R1)(R0<<2)
done:
	RET

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
