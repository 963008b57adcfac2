// Package execshim is the step between fork and a worker's exec that Go's
// ForkExec cannot take: setting LISTEN_PID to the worker's own pid
// (docs/sockets.md, "LISTEN_PID and the exec shim"). slotrun forks its own
// binary with argv[0] Arg0; this package's init, which depends on nothing
// but syscall and so runs before every heavier package's init, sets
// LISTEN_PID and execs the worker. The shim's cost is what a restart with
// sockets pays over one without, so it does as little as it can.
package execshim

import "syscall"

// Arg0 marks slotrun's binary run as the shim: argv is [Arg0, path, argv
// of the worker...].
const Arg0 = "slotrun-listen-exec"

func init() {
	// The shim always has LISTEN_FDS; a slotrun without it is no shim, and
	// pays nothing here.
	if _, ok := syscall.Getenv("LISTEN_FDS"); !ok {
		return
	}
	argv := cmdline()
	if len(argv) < 3 || argv[0] != Arg0 {
		return
	}
	path := argv[1]
	env := syscall.Environ()
	pid := "LISTEN_PID=" + itoa(syscall.Getpid())
	set := false
	for i, kv := range env {
		if len(kv) >= 11 && kv[:11] == "LISTEN_PID=" {
			env[i], set = pid, true
		}
	}
	if !set {
		env = append(env, pid)
	}
	err := syscall.Exec(path, argv[2:], env)
	msg := "slotrun: " + path + ": cannot run it: " + err.Error() + "\n"
	syscall.Write(2, []byte(msg))
	if err == syscall.ENOENT {
		syscall.Exit(127)
	}
	syscall.Exit(126)
}

// cmdline reads this process's argv from /proc/self/cmdline: os.Args is not
// set yet this early.
func cmdline() []string {
	fd, err := syscall.Open("/proc/self/cmdline", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	defer syscall.Close(fd)
	var buf []byte
	chunk := make([]byte, 4096)
	for {
		n, err := syscall.Read(fd, chunk)
		if n > 0 {
			buf = append(buf, chunk[:n]...)
		}
		if n <= 0 || err != nil {
			break
		}
	}
	var args []string
	start := 0
	for i, c := range buf {
		if c == 0 {
			args = append(args, string(buf[start:i]))
			start = i + 1
		}
	}
	return args
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}
