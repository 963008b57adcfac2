package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// binaries are the programs the bench builds from this checkout.
type binaries struct {
	slotrun string
	worker  string // bench/worker
	floor   string // bench/floor
	server  string // examples/server
	// floorSignal is bench/floorsignal: the least Go command that has a
	// supervisor signal its workers.
	floorSignal string
	// The floor and floorsignal built with -tags benchlibs: linked with
	// the libraries slotrun links (bench/internal/contractlibs).
	floorLibs, floorSignalLibs string
}

// build compiles slotrun and the bench's own programs (binaries) into dir
// with the go command that runs the bench, the way the README builds
// slotrun: static, with CGO_ENABLED=0 (pflag imports net, which otherwise links libc through
// cgo, and a dynamic slotrun starts about a millisecond later). A slotrun
// binary given by the user is measured instead of a fresh one.
func build(dir, slotrun string) (binaries, error) {
	root, err := moduleRoot()
	if err != nil {
		return binaries{}, err
	}
	bin := binaries{
		slotrun:         filepath.Join(dir, "slotrun"),
		worker:          filepath.Join(dir, "bench-worker"),
		floor:           filepath.Join(dir, "bench-floor"),
		server:          filepath.Join(dir, "example-server"),
		floorSignal:     filepath.Join(dir, "bench-floorsignal"),
		floorLibs:       filepath.Join(dir, "bench-floor-libs"),
		floorSignalLibs: filepath.Join(dir, "bench-floorsignal-libs"),
	}
	type target struct{ out, pkg, tags string }
	targets := []target{
		{bin.slotrun, ".", ""},
		{bin.worker, "./bench/worker", ""},
		{bin.floor, "./bench/floor", ""},
		{bin.server, "./examples/server", ""},
		{bin.floorSignal, "./bench/floorsignal", ""},
		{bin.floorLibs, "./bench/floor", "benchlibs"},
		{bin.floorSignalLibs, "./bench/floorsignal", "benchlibs"},
	}
	if slotrun != "" {
		if bin.slotrun, err = filepath.Abs(slotrun); err != nil {
			return binaries{}, err
		}
		if _, err := exec.LookPath(bin.slotrun); err != nil {
			return binaries{}, fmt.Errorf("--slotrun-bin: %w", err)
		}
		targets = slices.DeleteFunc(targets, func(t target) bool { return t.pkg == "." })
	}
	for _, t := range targets {
		cmd := exec.Command("go", "build", "-tags="+t.tags, "-o", t.out, t.pkg)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if msg, err := cmd.CombinedOutput(); err != nil {
			return binaries{}, fmt.Errorf("go build -tags=%q %s: %w\n%s", t.tags, t.pkg, err, msg)
		}
	}
	return bin, nil
}

// moduleRoot is the directory of slotrun's go.mod, wherever the bench was
// started from inside the module.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	gomod := strings.TrimSpace(string(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("run the bench inside the slotrun module (go env GOMOD: %q)", gomod)
	}
	return filepath.Dir(gomod), nil
}

// output runs a short command for its output (versions), never failing.
func (b *bench) output(name string, args ...string) string {
	cmd := exec.Command(name, args...)
	cmd.Dir = b.tmp
	cmd.Env = append(os.Environ(), "PM2_HOME="+filepath.Join(b.tmp, "pm2-version"))
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		return "?"
	}
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-done
	}
	return strings.TrimSpace(buf.String())
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	if line == "" {
		return "?"
	}
	return line
}

// machine describes where the figures were taken.
type machine struct {
	CPUs      int    `json:"cpus"`
	CPU       string `json:"cpu"`
	Kernel    string `json:"kernel"`
	Memory    string `json:"memory"`
	Go        string `json:"go"`
	LoadStart string `json:"loadavg_start"`
	LoadEnd   string `json:"loadavg_end,omitempty"`
}

func describeMachine() machine {
	m := machine{CPUs: runtime.NumCPU(), Go: runtime.Version(), LoadStart: loadAverage()}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		m.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) == nil {
		m.Memory = fmt.Sprintf("%.0f GiB", float64(si.Totalram)*float64(si.Unit)/(1<<30))
	}
	return m
}

// loadAverage is the first three fields of /proc/loadavg: other work on the
// machine shows up in every figure, so the report says how busy it was.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
