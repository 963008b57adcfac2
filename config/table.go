package config

import (
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/slotrun/slotrun/supervisor"
)

// The settings table: every setting of `slotrun run`, declared once. Flag
// registration and --help (flags.go), the config file's schema and decoding
// (decode.go), the defaults and precedence (settings.go) and the check of
// config.example.hcl (example_test.go) are all read from it.
//
// To add a setting: give it a field where its user reads it (Options for
// the supervisor, Settings for the CLI), one entry below, a line in
// config.example.hcl and a row in the README. Nothing else lists settings.

// A setting is one entry of the table.
type setting struct {
	flag  string // the long flag without --; "" for a setting with no flag (command)
	short string // one-letter shorthand, or ""
	// key is the setting's key in the config file, "block.key" inside a
	// block; a block-form kind (signals) names the block itself. "" marks the
	// flags of Load itself (--config, --help), which are not settings.
	key string
	// def is the default, written as a user writes the value: Defaults
	// parses it with the setting's own parser, and --help shows it.
	def string
	// derive computes a default that follows from other settings (slots from
	// workers, the PID file from the name) or from the host. It runs in
	// Defaults, and again in resolve, once the values it reads are final,
	// for every setting the user left unset.
	derive func(*Settings)
	// about is how --help states a derived default: "default N".
	about string
	// help is the flag's line in --help; a `word` in backquotes names the
	// flag's value, as pflag prints it.
	help string
	kind kind // the field it is kept in, and how text and the file are read into it
}

// table returns the settings table bound to the fields of s. Its order is
// the order of --help, of the config file's blocks, and of the derivations.
func table(s *Settings) []setting {
	return []setting{
		{flag: "workers", short: "n", key: "workers", help: "run `N` workers",
			about: "default: one per usable CPU", derive: func(s *Settings) { s.Workers = runtime.GOMAXPROCS(0) },
			kind: whole(&s.Workers, checkCount)},
		{flag: "config", short: "c", help: "read settings from the HCL config `FILE`",
			kind: flagOnly(flagValue)},
		{flag: "name", key: "name", def: "slotrun", help: "call this instance `NAME`, in log lines and default file names",
			kind: text(&s.Name, checkName)},
		{flag: "pidfile", key: "pidfile", help: "write the supervisor's PID file at `PATH`",
			about: "default .pid/NAME.pid", derive: func(s *Settings) { s.PIDFile = defaultPIDFile(s.Name) },
			kind: text(&s.PIDFile, parsePath)},
		{flag: "slots-file", key: "slots_file", help: "keep the slot table at `PATH`; share it to share ids",
			about: "default .pid/NAME.slots", derive: func(s *Settings) { s.SlotsFile = filepath.Join(".pid", s.Name+".slots") },
			kind: text(&s.SlotsFile, parsePath)},
		{flag: "slots", key: "slots", help: "hand out ids 0 to `M`-1, M >= N; COMET_PROCESS_COUNT=M",
			about: "default N", derive: func(s *Settings) { s.Slots = s.Workers },
			kind: whole(&s.Slots, checkCount)},
		{flag: "ordinal", key: "ordinal", def: "0", help: "be copy `K` of the replicas: worker ids start at K*M; auto: K from a host name ending in -K",
			kind: wholeOrAuto(&s.Ordinal, autoOrdinal, checkOrdinal)},
		{flag: "replicas", key: "replicas", def: "1", help: "share the id space among `R` copies of slotrun; COMET_PROCESS_COUNT=R*M",
			kind: whole(&s.Replicas, checkCount)},
		{flag: "restart", key: "restart.policy", def: "always", help: "restart workers per `POLICY`: always, on-failure or never",
			kind: text(&s.Restart, supervisor.ParsePolicy)},
		{flag: "min-uptime", key: "restart.min_uptime", def: "1s", help: "restart at once a worker that ran `DURATION` or longer",
			kind: duration(&s.MinUptime, nil)},
		{flag: "backoff-min", key: "restart.backoff_min", def: "100ms", help: "wait `DURATION` after a quick failure, doubling each time",
			kind: duration(&s.BackoffMin, nil)},
		{flag: "backoff-max", key: "restart.backoff_max", def: "30s", help: "wait at most `DURATION` before a restart",
			kind: duration(&s.BackoffMax, nil)},
		{flag: "max-restarts", key: "restart.max_restarts", def: "0", help: "give up after `K` restarts of a slot within the window; 0: never",
			kind: whole(&s.MaxRestarts, checkLimit)},
		{flag: "restart-window", key: "restart.window", def: "60s", help: "count max-restarts within `DURATION`",
			kind: duration(&s.RestartWindow, nil)},
		{flag: "stop-signal", key: "stop.signal", def: "TERM", help: "stop each worker with `SIGNAL`",
			kind: text(&s.StopSignal, parseStopSignal)},
		{flag: "stop-timeout", key: "stop.timeout", def: "10s", help: "SIGKILL what is left `DURATION` after the stop signal",
			kind: duration(&s.StopTimeout, checkStopTimeout)},
		{flag: "signal", key: "signals", help: "set `SIG=ACTION`, what slotrun does on SIG: forward, forward:SIG2, stop, restart, scale-up, scale-down or ignore; repeatable",
			kind: signalTable(&s.Signals, supervisor.DefaultActions)},
		{flag: "prefix", key: "prefix", def: "false", help: "prefix each line of worker output with [NAME:SLOT]",
			kind: boolean(&s.Prefix)},
		{flag: "env", key: "env", help: "set `KEY=VALUE` in every worker's environment; repeatable",
			kind: envList(&s.Env)},
		{flag: "log-level", key: "log.level", def: "info", help: "log at `LEVEL` or above: trace, debug, info, warn or error",
			kind: text(&s.Log.Level, parseLogLevel)},
		{flag: "log-format", key: "log.format", def: "text", help: "write logs in `FORMAT`: text or json",
			kind: text(&s.Log.Format, parseLogFormat)},
		{flag: "listen", key: "listen", help: "bind a socket at `[NAME=]URL` once, before any worker, and pass it to every worker at fds 3.. (tcp://:8080, udp://:5353, unix:///path, unix://@name; ?backlog=N&mode=0660); repeatable",
			kind: listenList(&s.Listen)},
		{flag: "ready", key: "ready.mode", def: "uptime", help: "a worker is ready per `MODE`: uptime (alive for min-uptime) or notify (it sends READY=1 to NOTIFY_SOCKET)",
			kind: text(&s.Ready, supervisor.ParseReadyMode)},
		{flag: "ready-timeout", key: "ready.timeout", def: "60s", help: "with notify: stop a worker not ready within `DURATION`, as a failure; 0s: no limit",
			kind: duration(&s.ReadyTimeout, nil)},
		{flag: "watchdog", key: "ready.watchdog", def: "0s", help: "with notify: abort a worker that sends no WATCHDOG=1 for `DURATION`; 0s: off",
			kind: duration(&s.Watchdog, checkWatchdog)},
		{flag: "control", key: "control", help: "serve the control socket at `PATH`; none turns it off",
			about: "default: the PID file's path with .sock for .pid", derive: func(s *Settings) { s.Control = ControlPath(s.PIDFile) },
			kind: text(&s.Control, parseControl)},
		{flag: "http", key: "http", help: "serve /metrics, /livez and /readyz on `ADDR`, as :9090 or 127.0.0.1:0; off by default",
			kind: text(&s.HTTP, parseHTTPAddr)},
		{flag: "min-ready", key: "min_ready", def: "1", help: "/readyz and status --check want `K` workers ready",
			kind: whole(&s.MinReady, checkMinReady)},
		{flag: "shutdown-delay", key: "shutdown_delay", def: "0s", help: "on a stop, fail /readyz at once and stop the workers `DURATION` later",
			kind: duration(&s.ShutdownDelay, checkShutdownDelay)},
		{flag: "help", short: "h", help: "show this help",
			kind: flagOnly(flagSwitch)},
		// Not a flag: the command line's command is what follows the flags,
		// and replaces this one (Load).
		{key: "command", kind: argv(&s.Args)},
	}
}

// usage is the setting's line in --help: its help, then its default. A
// switch's default (off) goes without saying, as pflag has it.
func (e *setting) usage() string {
	switch {
	case e.about != "":
		return e.help + " (" + e.about + ")"
	case e.def != "" && e.kind.flag != flagSwitch:
		return e.help + " (default " + e.def + ")"
	}
	return e.help
}

// shownLive reports whether config.example.hcl sets the key to its default.
// A key whose default is derived, or that has none (the command), is shown
// commented out, as an illustration; a collection (env, signals) is always
// shown, with its default entries.
func (e *setting) shownLive() bool {
	return e.def != "" || e.kind.entries
}

// settingFor returns the entry of the table with the config key key.
func settingFor(key string) (setting, bool) {
	for _, e := range table(new(Settings)) {
		if e.key == key {
			return e, true
		}
	}
	return setting{}, false
}

// spellFlag writes the setting key set to value as a flag, for a hint
// given to someone typing flags: "--stop-signal KILL".
func spellFlag(key, value string) string {
	e, _ := settingFor(key)
	return "--" + e.flag + " " + value
}

// spellKey writes the setting key set to the string value as the file's
// line: `stop.signal = "KILL"`.
func spellKey(key, value string) string {
	return key + " = " + strconv.Quote(value)
}

func defaultPIDFile(name string) string { return filepath.Join(".pid", name+".pid") }

// ControlPath is the default control socket of the supervisor whose PID
// file is pidPath: the same path with .sock for .pid.
func ControlPath(pidPath string) string {
	return strings.TrimSuffix(pidPath, ".pid") + ".sock"
}
