package deploy_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// unit is a systemd unit file: its keys by section, continuation lines
// joined.
type unit map[string]map[string][]string

func readUnit(t *testing.T, path string) unit {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	u := unit{}
	section := ""
	var pending string
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if pending == "" && (line == "" || line[0] == '#' || line[0] == ';') {
			continue
		}
		if cont, ok := strings.CutSuffix(line, `\`); ok {
			pending += cont + " "
			continue
		}
		line, pending = pending+line, ""
		if strings.HasPrefix(line, "[") {
			section = strings.Trim(line, "[]")
			u[section] = map[string][]string{}
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		u[section][strings.TrimSpace(k)] = append(u[section][strings.TrimSpace(k)], strings.TrimSpace(v))
	}
	return u
}

func (u unit) get(section, key string) string {
	v := u[section][key]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

// execArgs splits an Exec line into slotrun's arguments, checking that it
// runs the slotrun the other lines do.
func execArgs(t *testing.T, line string) []string {
	t.Helper()
	f := strings.Fields(line)
	if len(f) == 0 || f[0] != "/usr/local/bin/slotrun" {
		t.Fatalf("%q does not run /usr/local/bin/slotrun", line)
	}
	return f[1:]
}

func TestSystemdUnits(t *testing.T) {
	service := readUnit(t, "systemd/app.service")
	socket := readUnit(t, "systemd/app.socket")

	if got := service.get("Service", "Type"); got != "notify" {
		t.Errorf("Type=%s; want notify: slotrun says READY=1 once its workers are", got)
	}
	if got := service.get("Service", "KillMode"); got != "mixed" {
		t.Errorf("KillMode=%s; want mixed: TERM to slotrun alone, which stops its workers in order", got)
	}
	run := parseArgs(t, "ExecStart", execArgs(t, service.get("Service", "ExecStart")))
	reload := parseArgs(t, "ExecReload", execArgs(t, service.get("Service", "ExecReload")))
	if reload.sub != "restart" {
		t.Errorf("ExecReload runs slotrun %s; want slotrun restart, a rolling restart", reload.sub)
	}
	// The reload must find this supervisor: the same --name, or --pidfile.
	for _, flag := range []string{"name", "pidfile", "control"} {
		if reload.value(flag) != run.value(flag) && (reload.has(flag) || flag != "name") {
			t.Errorf("ExecReload --%s %q, ExecStart --%s %q: the reload would look for another supervisor", flag, reload.value(flag), flag, run.value(flag))
		}
	}
	if dir := service.get("Service", "RuntimeDirectory"); dir != "" {
		for _, flag := range []string{"pidfile", "slots-file"} {
			if !strings.HasPrefix(run.value(flag), "/run/"+dir+"/") {
				t.Errorf("--%s %q is not in RuntimeDirectory /run/%s, the one directory the service may write", flag, run.value(flag), dir)
			}
		}
	}

	stopSec, err := time.ParseDuration(service.get("Service", "TimeoutStopSec"))
	if err != nil {
		t.Fatalf("TimeoutStopSec: %v", err)
	}
	delay := run.duration(t, "shutdown-delay", defaultShutdownDelay)
	stop := run.duration(t, "stop-timeout", defaultStopTimeout)
	if stopSec <= delay+stop {
		t.Errorf("TimeoutStopSec=%s is not more than --shutdown-delay %s + --stop-timeout %s: systemd would SIGKILL slotrun before it is done", stopSec, delay, stop)
	}

	// The socket: systemd binds it and names it; slotrun's --listen with
	// that name adopts it (and binds the same address itself without
	// activation).
	name := socket.get("Socket", "FileDescriptorName")
	listen := ""
	for _, spec := range run.flags["listen"] {
		if listenName(spec) == name {
			listen = spec
		}
	}
	if listen == "" {
		t.Fatalf("no --listen %s=... adopts the socket's FileDescriptorName=%s", name, name)
	}
	stream := socket.get("Socket", "ListenStream")
	if p, err := strconv.Atoi(stream[strings.LastIndexByte(stream, ':')+1:]); err != nil || p != port(t, listen) {
		t.Errorf("ListenStream=%s, but --listen %s binds port %d without activation", stream, listen, port(t, listen))
	}
	if svc := socket.get("Socket", "Service"); svc != "" && svc != "app.service" {
		t.Errorf("the socket activates %s, not app.service", svc)
	}
	if !strings.Contains(service.get("Unit", "Requires")+" "+service.get("Unit", "After"), "app.socket") {
		t.Errorf("app.service neither requires nor follows app.socket")
	}
}

// TestSystemdAnalyzeVerify: `systemd-analyze verify` accepts both units
// without a word on stderr: no warning, not even an ignored unknown key.
// It runs on a copy of the units installed in a scratch root, where the
// programs they name exist.
func TestSystemdAnalyzeVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("systemd-analyze is not installed (.ci/run installs the systemd package)")
		}
		t.Skip("systemd-analyze is not installed (apt-get install systemd)")
	}
	root := t.TempDir()
	system := filepath.Join(root, "etc/systemd/system")
	for _, dir := range []string{system, "usr/local/bin", "usr/local/lib/app", "usr/lib/systemd"} {
		if err := os.MkdirAll(filepath.Join(root, strings.TrimPrefix(dir, root)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The distribution's units (sysinit.target, sockets.target, ...), which
	// the examples depend on.
	if out, err := exec.Command("cp", "-a", "/usr/lib/systemd/system", filepath.Join(root, "usr/lib/systemd/")).CombinedOutput(); err != nil {
		t.Fatalf("copy the system's units: %v\n%s", err, out)
	}
	// verify only checks that they are executable files.
	for _, exe := range []string{"usr/local/bin/slotrun", "usr/local/lib/app/server"} {
		if err := os.WriteFile(filepath.Join(root, exe), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var units []string
	for _, name := range []string{"app.service", "app.socket"} {
		data, err := os.ReadFile(filepath.Join("systemd", name))
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(system, name)
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			t.Fatal(err)
		}
		units = append(units, dst)
	}
	cmd := exec.Command(analyze, append([]string{"verify", "--root=" + root}, units...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	if err != nil || stderr.Len() > 0 {
		t.Errorf("systemd-analyze verify: %v\nstderr:\n%s\nstdout:\n%s", err, stderr.String(), stdout.String())
	}
}
