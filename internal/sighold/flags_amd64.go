//go:build linux

package sighold

// saRestorer: amd64's kernel returns from a handler through the restorer
// the handler names.
const saRestorer = 0x04000000
