//go:build linux

#include "textflag.h"

// func rawVfork(trap, flags uintptr) (pid uintptr, errno syscall.Errno)
//
// clone(flags) that the child may return from: the return address is in
// the link register, which the child cannot overwrite for the parent.
TEXT ·rawVfork(SB),NOSPLIT,$0-32
	MOVD	flags+8(FP), R0
	MOVD	$0, R1
	MOVD	$0, R2
	MOVD	$0, R3
	MOVD	$0, R4
	MOVD	$0, R5
	MOVD	trap+0(FP), R8
	SVC
	CMN	$4095, R0
	BCC	ok
	MOVD	$-1, R4
	MOVD	R4, pid+16(FP)
	NEG	R0, R0
	MOVD	R0, errno+24(FP)
	RET
ok:
	MOVD	R0, pid+16(FP)
	MOVD	ZR, errno+24(FP)
	RET
