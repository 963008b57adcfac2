//go:build linux

package sighold

// arm64's kernel returns from a handler through its vDSO.
const saRestorer = 0
