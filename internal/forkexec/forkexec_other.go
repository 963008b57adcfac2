//go:build !(linux && (amd64 || arm64))

package forkexec

func start(string, []string, Attr) (Child, error) { return Child{}, ErrUnsupported }
