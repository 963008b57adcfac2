//go:build !(linux && (amd64 || arm64))

package nofile

// Elsewhere internal/forkexec is not built, and Go's ForkExec restores the
// limit itself.
func getNofile(*Limit) int64 { return -1 }
