package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
)

// tool is one supervisor the bench can measure. Each knows how to lay out
// its configuration in a scratch directory, how to start, how to be asked
// to signal its workers, and how to be stopped; the measurements are the
// same code for all of them.
type tool struct {
	name string
	// needs lists the programs that must be on PATH; a tool lacking one is
	// reported as not installed.
	needs []string
	// single: it runs exactly one child and never restarts it (tini,
	// dumb-init), so only the single-child rows apply.
	single bool
	// setup writes the configuration for in.n workers into in.dir and
	// returns the command that starts the supervisor, plus environment to
	// add to the bench's.
	setup func(in *instance) (argv, env []string, err error)
	// stopSignal ends the supervisor and its workers gracefully.
	stopSignal syscall.Signal
	// hupCommands, if set, are the commands (run at once, side by side) by
	// which a user of the tool sends HUP to every worker. It is called once
	// per instance, before the clock starts, and may write files the
	// commands read.
	hupCommands func(in *instance) [][]string
	// hupDirect: kill(supervisor, SIGHUP) reaches every worker.
	hupDirect bool
	// noDirectHUP says what the supervisor does with SIGHUP instead.
	noDirectHUP string
	// version reports the installed version.
	version func(b *bench) string
	// settings describes, for BENCHMARKS.md, how the tool is configured.
	settings string
	// serving: slotrun with a socket and readiness by notification, which
	// also gets the rows of sessionServing.
	serving bool
	// skipStorm: no crash storm. floor-libs runs the floor's code once
	// started, and its storm would be 10 s a run of the floor's figures.
	skipStorm bool
}

// slotrunTool runs the slotrun built from this checkout. It keeps its
// defaults (min-uptime 1s: the restart test kills workers older than that,
// so they restart at once), except in the crash storm, where --min-uptime 0s
// restarts every exit at once instead of backing off.
func slotrunTool() *tool {
	return &tool{
		name: "slotrun",
		setup: func(in *instance) ([]string, []string, error) {
			argv := []string{in.b.bin.slotrun, "-n", strconv.Itoa(in.n)}
			switch in.mode {
			case modeCrash:
				argv = append(argv, "--min-uptime", "0s")
			case modeControl:
				argv = append(argv, "--http", "127.0.0.1:0")
			}
			return append(argv, "--", in.b.bin.worker), nil, nil
		},
		stopSignal: syscall.SIGTERM,
		hupCommands: func(in *instance) [][]string {
			return [][]string{{in.b.bin.slotrun, "signal", "HUP"}}
		},
		hupDirect: true,
		version: func(b *bench) string {
			return firstLine(b.output(b.bin.slotrun, "version"))
		},
		settings: "built as the README says (`CGO_ENABLED=0 go build`); defaults (`-n N`, `--min-uptime 1s`, logs at info to a file); crash storm: `--min-uptime 0s`",
	}
}

// floorTool runs bench/floor: fork/exec and respawn, nothing else. Its
// CLI is bench/floorsignal, reading a PID file the bench writes for it.
func floorTool() *tool {
	return newFloorTool("floor", "bench/floor",
		func(b *binaries) (string, string) { return b.floor, b.floorSignal },
		"fork/exec N workers, respawn each at once on exit (wait4 on SIGCHLD), forward HUP, stop on TERM; its CLI is bench/floorsignal (read a PID file the bench writes, kill)")
}

// floorLibsTool is the floor linked with the libraries slotrun links: what
// linking them costs a start, a CLI command and the memory, apart from
// anything slotrun does. Once started it runs the floor's code, so the
// crash storm is not measured again.
func floorLibsTool() *tool {
	t := newFloorTool("floor-libs", "bench/floor -tags benchlibs",
		func(b *binaries) (string, string) { return b.floorLibs, b.floorSignalLibs },
		"the floor and bench/floorsignal built with `-tags benchlibs`, which blank-imports the packages of other modules slotrun imports (bench/internal/contractlibs) and runs nothing of them but their packages' initialisation")
	t.skipStorm = true
	return t
}

// newFloorTool is a floor built one way: programs names its launcher and
// its CLI among the binaries the bench built.
func newFloorTool(name, version string, programs func(*binaries) (floor, signal string), settings string) *tool {
	return &tool{
		name: name,
		setup: func(in *instance) ([]string, []string, error) {
			floor, _ := programs(&in.b.bin)
			return []string{floor, "-n", strconv.Itoa(in.n), in.b.bin.worker}, nil, nil
		},
		stopSignal: syscall.SIGTERM,
		hupDirect:  true,
		hupCommands: func(in *instance) [][]string {
			// The floor writes no PID file: the bench, which started it,
			// does, before the clock starts.
			pidfile := filepath.Join(in.dir, "floor.pid")
			if err := os.WriteFile(pidfile, []byte(strconv.Itoa(in.sup.pid)+"\n"), 0o644); err != nil {
				in.b.logf("  %s: %v", name, err)
			}
			_, signal := programs(&in.b.bin)
			return [][]string{{signal, pidfile, "HUP"}}
		},
		version:  func(*bench) string { return version },
		settings: settings,
	}
}

// missing says which program a tool needs and the machine lacks.
func (t *tool) missing() string {
	for _, prog := range t.needs {
		if _, err := exec.LookPath(prog); err != nil {
			return fmt.Sprintf("%s is not installed (bash bench/peers/install.sh)", prog)
		}
	}
	return ""
}
