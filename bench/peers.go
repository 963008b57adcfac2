package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// The tools a user would pick instead of slotrun, each at its fastest
// honest setting: what a user who cared about restart latency would
// configure, never a setting that skips work the tool does for real use.
// bench/peers/install.sh installs them; a tool that is missing is reported
// as n/a.

func peerTools() []*tool {
	return []*tool{supervisordTool(), s6Tool(), runitTool(), pm2Tool(), tiniTool(), dumbInitTool()}
}

// supervisordTool: one [program] with numprocs=N in the foreground
// (nodaemon). startsecs=0 makes a process RUNNING at once; autorestart and
// a large startretries keep it restarting. Its main loop wakes at least once
// a second and restarts processes from there, whatever startsecs says.
func supervisordTool() *tool {
	return &tool{
		name:  "supervisord",
		needs: []string{"supervisord", "supervisorctl"},
		setup: func(in *instance) ([]string, []string, error) {
			conf := filepath.Join(in.dir, "supervisord.conf")
			body := fmt.Sprintf(`[supervisord]
nodaemon=true
logfile=%[1]s/supervisord.log
pidfile=%[1]s/supervisord.pid
loglevel=info

[unix_http_server]
file=%[1]s/supervisor.sock

[supervisorctl]
serverurl=unix://%[1]s/supervisor.sock

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[program:w]
command=%[2]s
numprocs=%[3]d
process_name=%%(program_name)s_%%(process_num)02d
startsecs=0
startretries=1000000
autorestart=true
stopsignal=TERM
stopwaitsecs=10
stdout_logfile=NONE
stderr_logfile=NONE
`, in.dir, in.b.bin.worker, in.n)
			if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
				return nil, nil, err
			}
			return []string{lookPath("supervisord"), "-c", conf}, nil, nil
		},
		stopSignal: syscall.SIGTERM,
		hupCommands: func(in *instance) [][]string {
			return [][]string{{lookPath("supervisorctl"), "-c", filepath.Join(in.dir, "supervisord.conf"), "signal", "HUP", "all"}}
		},
		noDirectHUP: "supervisord: SIGHUP reloads its configuration and restarts every program",
		version: func(b *bench) string {
			return "supervisord " + firstLine(b.output(lookPath("supervisord"), "--version"))
		},
		settings: "`supervisord -n`, one `[program]` with `numprocs=N`, `startsecs=0`, `startretries=1000000`, `autorestart=true`, `stopsignal=TERM`, output to `NONE`; HUP by `supervisorctl signal HUP all`",
	}
}

// s6Tool: s6-svscan over N service directories whose run file is the
// worker itself (a symlink: no shell in between). notification-fd makes the
// worker's readiness known at once; s6-supervise restarts a service at once
// only if it has been ready for a second, and otherwise waits one second.
func s6Tool() *tool {
	return &tool{
		name:  "s6",
		needs: []string{"s6-svscan", "s6-supervise", "s6-svc"},
		setup: func(in *instance) ([]string, []string, error) {
			scan := filepath.Join(in.dir, "scan")
			for i := range in.n {
				svc := filepath.Join(scan, fmt.Sprintf("w%02d", i))
				if err := serviceDir(svc, in.b.bin.worker); err != nil {
					return nil, nil, err
				}
				if err := os.WriteFile(filepath.Join(svc, "notification-fd"), []byte("3\n"), 0o644); err != nil {
					return nil, nil, err
				}
			}
			argv := []string{lookPath("s6-svscan")}
			if in.n > s6DefaultMax {
				// s6-svscan supervises 500 services unless told more.
				argv = append(argv, "-c", strconv.Itoa(in.n))
			}
			return append(argv, scan), []string{"BENCH_NOTIFY_FD=3"}, nil
		},
		stopSignal: syscall.SIGTERM,
		hupCommands: func(in *instance) [][]string {
			// This s6-svc takes one service directory: one per service,
			// all started at once.
			var cmds [][]string
			for i := range in.n {
				cmds = append(cmds, []string{lookPath("s6-svc"), "-h", filepath.Join(in.dir, "scan", fmt.Sprintf("w%02d", i))})
			}
			return cmds
		},
		noDirectHUP: "s6-svscan does not pass SIGHUP on to the services (`s6-svc -h` per service does)",
		version:     func(b *bench) string { return "s6 " + debVersion(b, "s6") },
		settings:    "`s6-svscan` over N service dirs, `run` = symlink to the worker, `notification-fd` = 3 (the worker writes its readiness line); HUP by one `s6-svc -h DIR` per service, all started at once; stop by SIGTERM to s6-svscan; `-c N` above its default of 500 services",
	}
}

// s6DefaultMax is how many services s6-svscan supervises without -c.
const s6DefaultMax = 500

// runitTool: runsvdir over N service directories, run file a symlink to the
// worker. runsvdir starts a service directory younger than a second only on
// its next scan a second later, so the directories are given an mtime in
// the past, as they would have on any real system. SIGHUP, not SIGTERM,
// makes runsvdir stop its services (SIGTERM leaves them running).
func runitTool() *tool {
	return &tool{
		name:  "runit",
		needs: []string{"runsvdir", "runsv", "sv"},
		setup: func(in *instance) ([]string, []string, error) {
			scan := filepath.Join(in.dir, "scan")
			old := time.Now().Add(-10 * time.Second)
			for i := range in.n {
				svc := filepath.Join(scan, fmt.Sprintf("w%02d", i))
				if err := serviceDir(svc, in.b.bin.worker); err != nil {
					return nil, nil, err
				}
				if err := os.Chtimes(svc, old, old); err != nil {
					return nil, nil, err
				}
			}
			if err := os.Chtimes(scan, old, old); err != nil {
				return nil, nil, err
			}
			return []string{lookPath("runsvdir"), "-P", scan}, nil, nil
		},
		stopSignal: syscall.SIGHUP,
		hupCommands: func(in *instance) [][]string {
			cmd := []string{lookPath("sv"), "hup"}
			for i := range in.n {
				cmd = append(cmd, filepath.Join(in.dir, "scan", fmt.Sprintf("w%02d", i)))
			}
			return [][]string{cmd}
		},
		noDirectHUP: "runsvdir: SIGHUP stops every service and exits",
		version:     func(b *bench) string { return "runit " + debVersion(b, "runit") },
		settings:    "`runsvdir -P` over N service dirs (mtime > 1 s in the past), `run` = symlink to the worker; HUP by `sv hup DIR...`; stop by SIGHUP to runsvdir (SIGTERM would leave the services running)",
	}
}

// pm2Tool: pm2-runtime, PM2's foreground mode for containers (its God
// daemon runs in that process), one app in fork mode with N instances and
// no interpreter. PM2_CONCURRENT_ACTIONS is raised so that PM2 acts on all
// instances at once instead of two at a time. PM2 stops apps with SIGINT
// whatever kill_signal says; the worker exits on SIGINT as on SIGTERM.
func pm2Tool() *tool {
	return &tool{
		name:  "PM2",
		needs: []string{"pm2-runtime", "pm2", "node"},
		setup: func(in *instance) ([]string, []string, error) {
			app := map[string]any{
				"name":          "w",
				"script":        in.b.bin.worker,
				"interpreter":   "none",
				"exec_mode":     "fork",
				"instances":     in.n,
				"autorestart":   true,
				"max_restarts":  1000000,
				"restart_delay": 0,
			}
			b, err := json.Marshal(map[string]any{"apps": []any{app}})
			if err != nil {
				return nil, nil, err
			}
			eco := filepath.Join(in.dir, "ecosystem.config.js")
			if err := os.WriteFile(eco, append([]byte("module.exports = "), b...), 0o644); err != nil {
				return nil, nil, err
			}
			env := []string{"PM2_HOME=" + filepath.Join(in.dir, "pm2"), "PM2_CONCURRENT_ACTIONS=" + strconv.Itoa(max(in.n, 64))}
			return []string{lookPath("pm2-runtime"), "start", eco}, env, nil
		},
		stopSignal: syscall.SIGTERM,
		hupCommands: func(in *instance) [][]string {
			return [][]string{{lookPath("pm2"), "sendSignal", "SIGHUP", "w"}}
		},
		noDirectHUP: "pm2-runtime has no SIGHUP handler: it dies and leaves its workers running",
		version: func(b *bench) string {
			return "PM2 " + pm2Version() + ", node " + firstLine(b.output(lookPath("node"), "--version"))
		},
		settings: "`pm2-runtime start ecosystem.config.js`: fork mode, `instances: N`, `interpreter: none`, `autorestart`, `max_restarts: 1000000`, `restart_delay: 0`, `PM2_CONCURRENT_ACTIONS` ≥ 64; HUP by `pm2 sendSignal SIGHUP w`",
	}
}

// tiniTool and dumbInitTool run one child, forward signals and never
// restart: only the single-child rows apply.
func tiniTool() *tool {
	return &tool{
		name:   "tini",
		needs:  []string{"tini"},
		single: true,
		setup: func(in *instance) ([]string, []string, error) {
			// -s: register as a subreaper, as it would be PID 1.
			return []string{lookPath("tini"), "-s", "--", in.b.bin.worker}, nil, nil
		},
		stopSignal: syscall.SIGTERM,
		hupDirect:  true,
		version:    func(b *bench) string { return firstLine(b.output(lookPath("tini"), "--version")) },
		settings:   "`tini -s -- worker`",
	}
}

func dumbInitTool() *tool {
	return &tool{
		name:   "dumb-init",
		needs:  []string{"dumb-init"},
		single: true,
		setup: func(in *instance) ([]string, []string, error) {
			return []string{lookPath("dumb-init"), in.b.bin.worker}, nil, nil
		},
		stopSignal: syscall.SIGTERM,
		hupDirect:  true,
		version:    func(b *bench) string { return firstLine(b.output(lookPath("dumb-init"), "--version")) },
		settings:   "`dumb-init worker` (signals go to the child's session)",
	}
}

// serviceDir makes an s6/runit service directory whose run file is the
// worker binary itself.
func serviceDir(dir, worker string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.Symlink(worker, filepath.Join(dir, "run"))
}

func lookPath(prog string) string {
	if p, err := exec.LookPath(prog); err == nil {
		return p
	}
	return prog
}

// debVersion is a Debian package's version (s6 and runit print none).
func debVersion(b *bench, pkg string) string {
	return firstLine(b.output("dpkg-query", "-W", "-f=${Version}", pkg))
}

// pm2Version reads PM2's package.json: running `pm2 --version` would start
// a PM2 daemon in ~/.pm2.
func pm2Version() string {
	bin, err := filepath.EvalSymlinks(lookPath("pm2"))
	if err != nil {
		return "?"
	}
	b, err := os.ReadFile(filepath.Join(filepath.Dir(bin), "..", "package.json"))
	if err != nil {
		return "?"
	}
	var pkg struct{ Version string }
	if json.Unmarshal(b, &pkg) != nil {
		return "?"
	}
	return pkg.Version
}
