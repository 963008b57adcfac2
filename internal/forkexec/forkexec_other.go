//go:build !(linux && (amd64 || arm64))

package forkexec

func start(string, []string, Attr) (int, error) { return 0, ErrUnsupported }
