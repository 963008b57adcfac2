//go:build mips || mipsle || mips64 || mips64le

package sigstate

// resetIgnored does nothing on MIPS, whose struct sigaction puts the flags
// before the handler; slotrun is not built for it.
func resetIgnored() error { return nil }
