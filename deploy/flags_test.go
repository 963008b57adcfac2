package deploy_test

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The flags of `slotrun run` and how each takes its value. The examples may
// use only these; a flag renamed or dropped fails the tests here.
var runFlags = map[string]flagType{
	"workers": number, "config": text, "name": text, "pidfile": text, "slots-file": text,
	"slots": number, "restart": text, "min-uptime": duration, "backoff-min": duration,
	"backoff-max": duration, "max-restarts": number, "restart-window": duration,
	"stop-signal": text, "stop-timeout": duration, "signal": text, "prefix": flagSwitch,
	"env": text, "log-level": text, "log-format": text, "listen": text, "ready": text,
	"ready-timeout": duration, "watchdog": duration, "control": text, "http": text,
	"min-ready": number, "shutdown-delay": duration, "ordinal": ordinalValue, "replicas": number,
}

var shorthands = map[string]string{"n": "workers", "c": "config"}

// The defaults the examples rely on where they leave a flag out.
const (
	defaultStopTimeout   = 10 * time.Second
	defaultShutdownDelay = 0 * time.Second
)

type flagType int

const (
	text flagType = iota
	number
	duration
	flagSwitch
	ordinalValue // a number, auto, or an orchestrator's variable ($(VAR), ${VAR})
)

// invocation is one command line of slotrun: its flags (the last value of
// each; repeatable ones in all) and the worker's command.
type invocation struct {
	sub     string              // "run", "restart", "status", ...
	flags   map[string][]string // by long name
	command []string
}

func (v invocation) has(flag string) bool { _, ok := v.flags[flag]; return ok }

func (v invocation) value(flag string) string {
	vals := v.flags[flag]
	if len(vals) == 0 {
		return ""
	}
	return vals[len(vals)-1]
}

// duration returns the flag's duration, or def when the flag is absent.
func (v invocation) duration(t *testing.T, flag string, def time.Duration) time.Duration {
	t.Helper()
	if !v.has(flag) {
		return def
	}
	d, err := time.ParseDuration(v.value(flag))
	if err != nil {
		t.Fatalf("--%s %q: %v", flag, v.value(flag), err)
	}
	return d
}

func (v invocation) number(t *testing.T, flag string) int {
	t.Helper()
	n, err := strconv.Atoi(v.value(flag))
	if err != nil {
		t.Fatalf("--%s %q is not a number", flag, v.value(flag))
	}
	return n
}

var subcommands = map[string]bool{"run": true, "signal": true, "status": true, "scale": true, "restart": true, "stop": true, "version": true}

// parseArgs reads slotrun's argv (without the program name) as slotrun
// does: flags up to `--` or the first argument that is not a flag, then
// the worker's command. Every flag must be one of runFlags, for `run`, and
// every value must be of its flag's type.
func parseArgs(t *testing.T, where string, args []string) invocation {
	t.Helper()
	inv := invocation{sub: "run", flags: map[string][]string{}}
	if len(args) > 0 && subcommands[args[0]] {
		inv.sub, args = args[0], args[1:]
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			inv.command = args[i+1:]
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			if inv.sub == "run" {
				inv.command = args[i:]
				break
			}
			inv.flags[""] = append(inv.flags[""], a) // a client's operand
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if long, ok := shorthands[name]; ok && !strings.HasPrefix(a, "--") {
			name = long
		}
		typ, known := runFlags[name]
		if inv.sub != "run" {
			typ, known = clientFlags[name]
		}
		if !known {
			t.Errorf("%s: slotrun %s has no flag %s", where, inv.sub, a)
			continue
		}
		if typ == flagSwitch {
			inv.flags[name] = append(inv.flags[name], "true")
			continue
		}
		if !hasVal {
			if i+1 >= len(args) {
				t.Errorf("%s: %s needs a value", where, a)
				break
			}
			i++
			val = args[i]
		}
		checkValue(t, where, name, typ, val)
		inv.flags[name] = append(inv.flags[name], val)
	}
	if inv.sub == "run" && len(inv.command) == 0 {
		t.Errorf("%s: no worker command after the flags", where)
	}
	return inv
}

// clientFlags are the flags of the client subcommands (status, restart, ...).
var clientFlags = map[string]flagType{
	"name": text, "pidfile": text, "control": text, "json": flagSwitch, "check": flagSwitch,
	"slot": number, "no-wait": flagSwitch,
}

var orchestratorVar = regexp.MustCompile(`^(\$\([A-Z_][A-Z0-9_]*\)|\$\{[A-Z_][A-Z0-9_]*\})$`)

func checkValue(t *testing.T, where, flag string, typ flagType, val string) {
	t.Helper()
	var err error
	switch typ {
	case number:
		_, err = strconv.Atoi(val)
	case duration:
		_, err = time.ParseDuration(val)
		if err == nil && strings.Trim(val, "0123456789.") == "" {
			err = fmt.Errorf("no unit")
		}
	case ordinalValue:
		if val != "auto" && !orchestratorVar.MatchString(val) {
			_, err = strconv.Atoi(val)
		}
	}
	if err != nil {
		t.Errorf("%s: --%s %q: %v", where, flag, val, err)
	}
}

// port returns the port of an address such as ":9090", "0.0.0.0:9090" or
// a --listen URL such as "http=tcp://:8080".
func port(t *testing.T, addr string) int {
	t.Helper()
	if _, url, ok := strings.Cut(addr, "="); ok && strings.Contains(url, "://") {
		addr = url
	}
	if _, rest, ok := strings.Cut(addr, "://"); ok {
		addr, _, _ = strings.Cut(rest, "?")
	}
	i := strings.LastIndexByte(addr, ':')
	n, err := strconv.Atoi(addr[i+1:])
	if i < 0 || err != nil {
		t.Fatalf("%q has no port", addr)
	}
	return n
}

// listenName is the NAME of a --listen NAME=URL, or "" when it has none.
func listenName(spec string) string {
	if i := strings.Index(spec, "://"); i >= 0 {
		if name, _, ok := strings.Cut(spec[:i], "="); ok {
			return name
		}
	}
	return ""
}
