package config

import (
	"errors"
	"os"
	"strings"
	"testing"
	"unicode"

	"github.com/slotrun/slotrun/supervisor"
)

// FuzzLoadFile feeds arbitrary bytes to the config decoder as if they were
// a file: it must never panic, and every error must be a usage error whose
// message starts with the file name, has no trailing blank line and cannot
// drive the terminal. The committed corpus is in testdata/fuzz/FuzzLoadFile.
func FuzzLoadFile(f *testing.F) {
	if example, err := os.ReadFile(examplePath); err == nil {
		f.Add(example)
	} else {
		f.Fatal(err)
	}
	for _, seed := range []string{
		"",
		"name = \"api\"\ncommand = [\"./api\", \"--port\", \"8080\"]\nworkers = 8\nslots = 8\n",
		"env = { LOG_LEVEL = \"debug\", \"X\" = \"${1}\" }\n",
		"restart {\n  policy = \"on-failure\"\n  min_uptime = 1\n}\n",
		"stop { timeout = \"10s\" }\nstop { signal = \"INT\" }\n",
		"signals {\n  HUP = \"restart\"\n  SIGHUP = \"forward:USR1\"\n  KILL = \"stop\"\n}\n",
		"signals {\n  URG = \"forward\"\n  SIGPROF = \"forward\"\n  USR1 = \"forward:URG\"\n}\nstop { signal = \"PROF\" }\n",
		"workers = \"eight\"\nslots = 2.5\nprefix = \"yes\"\n",
		"log \"x\" { level = \"loud\" }\n",
		"command = <<EOT\n./api\nEOT\n",
		"name = \"${upper(\"x\")}\"\n",
		"env = {for k in [\"a\"] : k => \"v\"}\n",
		"name: api\n",
		"\xef\xbb\xbfname = \"bom\"\r\n",
		"\x00\xff\x1b[31m",
		"name = \"api\\n\\u001b[2J\\u0085\"\n",
		"a = " + strings.Repeat("[", 70),
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		s := Defaults()
		err := decodeFile("fuzz.hcl", src, &s, sources{})
		if err == nil {
			checkDecoded(t, &s)
			return
		}
		if !errors.Is(err, ErrUsage) {
			t.Fatalf("error does not wrap ErrUsage: %v", err)
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "fuzz.hcl") {
			t.Fatalf("message does not start with the file name:\n%s", msg)
		}
		if strings.TrimRightFunc(msg, unicode.IsSpace) != msg {
			t.Fatalf("message ends in white space: %q", msg)
		}
		for _, r := range msg {
			if r != '\n' && r != '\t' && !unicode.IsGraphic(r) {
				t.Fatalf("message contains %U: %q", r, msg)
			}
		}
	})
}

// checkDecoded holds what any successfully decoded file guarantees.
func checkDecoded(t *testing.T, s *Settings) {
	t.Helper()
	if s.Workers < 1 || s.Workers > maxWorkers || s.Slots < 0 || s.Slots > maxWorkers {
		t.Fatalf("workers %d, slots %d out of range", s.Workers, s.Slots)
	}
	if s.Args != nil && (len(s.Args) == 0 || s.Args[0] == "") {
		t.Fatalf("command %q has no program", s.Args)
	}
	for _, d := range []int64{int64(s.MinUptime), int64(s.BackoffMin), int64(s.BackoffMax), int64(s.RestartWindow), int64(s.StopTimeout)} {
		if d < 0 {
			t.Fatalf("negative duration in %+v", s)
		}
	}
	if s.StopTimeout == 0 {
		t.Fatalf("stop timeout 0: workers would be killed without the stop signal")
	}
	if _, err := checkName(s.Name); err != nil {
		t.Fatalf("name: %v", err)
	}
	if err := supervisor.CheckSendable(s.StopSignal); err != nil {
		t.Fatalf("stop signal: %v", err)
	}
	for sig, act := range s.Signals {
		if err := supervisor.CheckSignal(sig); err != nil {
			t.Fatalf("signals: %v", err)
		}
		if err := supervisor.CheckSendable(act.Signal); act.Signal != 0 && err != nil {
			t.Fatalf("signals: %s = %s: %v", sig, act, err)
		}
	}
	if s.MaxRestarts < 0 {
		t.Fatalf("max_restarts %d", s.MaxRestarts)
	}
	seen := map[string]bool{}
	for _, kv := range s.Env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || seen[k] || checkEnvKey(k) != nil || strings.ContainsRune(v, 0) {
			t.Fatalf("env entry %q in %q", kv, s.Env)
		}
		seen[k] = true
	}
}
