package config

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// onHost makes Load see the host name host while the test runs.
func onHost(t *testing.T, host string) {
	t.Helper()
	old := hostname
	hostname = func() (string, error) { return host, nil }
	t.Cleanup(func() { hostname = old })
}

// loadOnHost loads args (and the config file text, if any) for the
// program exe as Load would on the host named host, in a scratch directory.
func loadOnHost(t *testing.T, host, file string, args []string, exe string) (*Settings, error) {
	t.Helper()
	t.Chdir(t.TempDir())
	onHost(t, host)
	if file != "" {
		if err := os.WriteFile("app.hcl", []byte(file), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append([]string{"-c", "app.hcl"}, args...)
	}
	return Load(append(args, "--", exe), nil)
}

func testWorker(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

// TestOrdinalAndReplicas: how --ordinal and --replicas are read, from
// flags and the file, auto included, and the ids they give.
func TestOrdinalAndReplicas(t *testing.T) {
	tests := []struct {
		name              string
		host, file        string
		args              []string
		ordinal, replicas int
		firstID, idCount  int
		slots             int
	}{
		{name: "defaults", args: []string{"-n", "4"}, ordinal: 0, replicas: 1, firstID: 0, idCount: 4, slots: 4},
		{name: "flags", args: []string{"--ordinal", "2", "--replicas", "3", "--slots", "4", "-n", "2"},
			ordinal: 2, replicas: 3, firstID: 8, idCount: 12, slots: 4},
		{name: "auto from a StatefulSet pod name", host: "web-5", args: []string{"--ordinal", "auto", "--replicas", "8", "-n", "3"},
			ordinal: 5, replicas: 8, firstID: 15, idCount: 24, slots: 3},
		{name: "auto in any case", host: "web-1", args: []string{"--ordinal", "AUTO", "--replicas", "2", "-n", "1"},
			ordinal: 1, replicas: 2, firstID: 1, idCount: 2, slots: 1},
		{name: "auto from a pod's FQDN", host: "web-2.web.default.svc.cluster.local", args: []string{"--ordinal=auto", "--replicas=3", "-n", "8"},
			ordinal: 2, replicas: 3, firstID: 16, idCount: 24, slots: 8},
		{name: "auto with leading zeros", host: "consumer-007", args: []string{"--ordinal", "auto", "--replicas", "10", "-n", "1"},
			ordinal: 7, replicas: 10, firstID: 7, idCount: 10, slots: 1},
		{name: "file", file: "ordinal = 1\nreplicas = 2\nslots = 3\nworkers = 3\n",
			ordinal: 1, replicas: 2, firstID: 3, idCount: 6, slots: 3},
		{name: "file auto", host: "web-3", file: "ordinal = \"auto\"\nreplicas = 4\nworkers = 2\n",
			ordinal: 3, replicas: 4, firstID: 6, idCount: 8, slots: 2},
		// The flag wins over the file's auto, whose host name is then never read.
		{name: "flag over the file's auto", host: "no-number-here", file: "ordinal = \"auto\"\nreplicas = 4\n", args: []string{"--ordinal", "0", "-n", "1"},
			ordinal: 0, replicas: 4, firstID: 0, idCount: 4, slots: 1},
	}
	exe := testWorker(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := loadOnHost(t, tt.host, tt.file, tt.args, exe)
			if err != nil {
				t.Fatal(err)
			}
			if s.Ordinal != tt.ordinal || s.Replicas != tt.replicas || s.Slots != tt.slots {
				t.Errorf("ordinal %d, replicas %d, slots %d; want %d, %d, %d", s.Ordinal, s.Replicas, s.Slots, tt.ordinal, tt.replicas, tt.slots)
			}
			if got := s.ID(0); got != tt.firstID {
				t.Errorf("id of slot 0 = %d; want %d", got, tt.firstID)
			}
			if got := s.ID(s.Slots - 1); got != tt.firstID+tt.slots-1 {
				t.Errorf("id of the last slot = %d; want %d", got, tt.firstID+tt.slots-1)
			}
			if got := s.IDCount(); got != tt.idCount {
				t.Errorf("id count = %d; want %d", got, tt.idCount)
			}
		})
	}
}

// TestOrdinalErrors pins the one line a user sees for each bad ordinal or
// replicas value.
func TestOrdinalErrors(t *testing.T) {
	tests := []struct {
		host, file string
		args       []string
		want       string
	}{
		{args: []string{"--ordinal", "3", "--replicas", "3"},
			want: "--ordinal 3 is not below --replicas 3: copies of slotrun are numbered 0 to replicas-1 (set --replicas to how many there are)"},
		{args: []string{"--ordinal", "1"},
			want: "--ordinal 1 is not below --replicas 1 (the default): copies of slotrun are numbered 0 to replicas-1 (set --replicas to how many there are)"},
		{args: []string{"--ordinal", "-1", "--replicas", "3"}, want: "--ordinal: must be 0 or more, not -1 (or write auto)"},
		{args: []string{"--ordinal", "x"}, want: `--ordinal: "x" is not a number (or write auto)`},
		{args: []string{"--ordinal", "1.5"}, want: `--ordinal: "1.5" is not a whole number (or write auto)`},
		{args: []string{"--ordinal", ""}, want: `--ordinal: "" is not a number (or write auto)`},
		{args: []string{"--replicas", "0"}, want: "--replicas: must be at least 1, not 0"},
		{host: "web", args: []string{"--ordinal", "auto", "--replicas", "3"},
			want: `--ordinal auto: the host name "web" does not end in -N, as StatefulSet pods do (web-0, web-1, ...): give the ordinal as a number`},
		{host: "web-", args: []string{"--ordinal", "auto", "--replicas", "3"},
			want: `--ordinal auto: the host name "web-" does not end in -N, as StatefulSet pods do (web-0, web-1, ...): give the ordinal as a number`},
		{host: "web-5", args: []string{"--ordinal", "auto", "--replicas", "3"},
			want: `--ordinal auto (host name "web-5", ordinal 5) is not below --replicas 3: copies of slotrun are numbered 0 to replicas-1 (set --replicas to how many there are)`},
		{host: "web-99999999999999999999", args: []string{"--ordinal", "auto", "--replicas", "3"},
			want: `--ordinal auto: the host name "web-99999999999999999999" ends in -99999999999999999999, too large for an ordinal (the limit is 65535)`},
		{host: "web-65536", args: []string{"--ordinal", "auto", "--replicas", "3"},
			want: `--ordinal auto: the host name "web-65536" ends in -65536, too large for an ordinal (the limit is 65535)`},
		{host: "web-1", file: "ordinal = \"auto\"\n", args: []string{},
			want: `ordinal = "auto" (app.hcl:1:11) (host name "web-1", ordinal 1) is not below --replicas 1 (the default)`},
		{file: "ordinal = 2\nreplicas = 2\n",
			want: "ordinal = 2 (app.hcl:1:11) is not below replicas = 2 (app.hcl:2:12)"},
		{file: "ordinal = \"2\"\n", want: `app.hcl:1:11: Invalid value; ordinal must be a whole number or "auto", not the string "2" (drop the quotes).`},
		{file: "ordinal = \"first\"\n", want: `app.hcl:1:11: Invalid value; ordinal must be a whole number or "auto", not the string "first".`},
		{file: "ordinal = -1\n", want: `app.hcl:1:11: Invalid value; ordinal: must be 0 or more, not -1.`},
		{file: "ordinal = true\n", want: `app.hcl:1:11: Incorrect value type; ordinal must be a whole number, not true.`},
		{file: "replicas = 0\n", want: `app.hcl:1:12: Invalid value; replicas: must be at least 1, not 0.`},
	}
	exe := testWorker(t)
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " ")+tt.file, func(t *testing.T) {
			_, err := loadOnHost(t, tt.host, tt.file, tt.args, exe)
			if !errors.Is(err, ErrUsage) {
				t.Fatalf("Load: %v; want a usage error", err)
			}
			first, _, _ := strings.Cut(err.Error(), "\n")
			if !strings.HasPrefix(first, tt.want) {
				t.Errorf("message:\n%s\nwant it to start with:\n%s", first, tt.want)
			}
		})
	}
}

// FuzzOrdinalFromHost: any host name gives an ordinal in range, read from
// a trailing -N of its first label, or an error; never a panic.
func FuzzOrdinalFromHost(f *testing.F) {
	for _, seed := range []string{"web-0", "web-12", "web", "-", "-1", "a-b-3", "web-2.svc", "web-.x", "x-00", "web-99999999999999999999", "", "é-4"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, host string) {
		n, err := ordinalFromHost(host)
		if err != nil {
			return
		}
		label, _, _ := strings.Cut(host, ".")
		if n < 0 || n >= maxWorkers {
			t.Fatalf("%q gave ordinal %d, out of range", host, n)
		}
		if !strings.Contains(label, "-") {
			t.Fatalf("%q has no -N, yet gave ordinal %d", host, n)
		}
	})
}
