//go:build linux && (amd64 || arm64)

package nofile

// getNofile is prlimit64(0, RLIMIT_NOFILE, NULL, lim): 0, or -errno.
//
//go:noescape
func getNofile(lim *Limit) int64
