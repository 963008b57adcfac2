package config

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/slotrun/slotrun/supervisor"
)

const examplePath = "../config.example.hcl"

// fileKeys maps every field of Settings to its key in the config file. A
// field added to Settings fails TestExampleShowsEverySetting until it is
// listed here, decoded by file.go and shown in config.example.hcl.
var fileKeys = map[string]string{
	"Name":          "name",
	"Args":          "command",
	"Path":          "", // no key: Load resolves it from Args
	"Workers":       "workers",
	"Slots":         "slots",
	"PIDFile":       "pidfile",
	"SlotsFile":     "slots_file",
	"Prefix":        "prefix",
	"Env":           "env",
	"Restart":       "restart.policy",
	"MinUptime":     "restart.min_uptime",
	"BackoffMin":    "restart.backoff_min",
	"BackoffMax":    "restart.backoff_max",
	"MaxRestarts":   "restart.max_restarts",
	"RestartWindow": "restart.window",
	"StopSignal":    "stop.signal",
	"StopTimeout":   "stop.timeout",
	"Signals":       "signals",
	"Stdout":        "", // no key: the caller's to set
	"Stderr":        "",
	"Logger":        "",
	"Log.Level":     "log.level",
	"Log.Format":    "log.format",
}

// commentedKeys have no fixed default (it follows from other keys, the host,
// or the user's program), so the example shows them commented out, as
// "# key = illustration".
var commentedKeys = []string{"command", "workers", "slots", "pidfile", "slots_file"}

// leafFields lists the fields of a struct type by dotted path, descending
// into the embedded Options and the nested settings structs.
func leafFields(t reflect.Type, prefix string) []string {
	var out []string
	for f := range t.Fields() {
		if f.Anonymous {
			out = append(out, leafFields(f.Type, prefix)...)
			continue
		}
		if f.Type.Kind() == reflect.Struct && strings.HasSuffix(f.Type.Name(), "Settings") {
			out = append(out, leafFields(f.Type, prefix+f.Name+".")...)
			continue
		}
		out = append(out, prefix+f.Name)
	}
	return out
}

func fieldAt(s *Settings, path string) reflect.Value {
	v := reflect.ValueOf(s).Elem()
	for name := range strings.SplitSeq(path, ".") {
		v = v.FieldByName(name)
	}
	return v
}

// decoderKeys lists every key the file decoder accepts, as "key" or
// "block.key"; the signals block, whose keys are free, as "signals".
func decoderKeys() []string {
	var s Settings
	var keys []string
	for _, f := range rootFields(&s) {
		keys = append(keys, f.key)
	}
	for _, b := range blocks(&s) {
		if b.fields == nil {
			keys = append(keys, b.name)
		}
		for _, f := range b.fields {
			keys = append(keys, b.name+"."+f.key)
		}
	}
	return keys
}

// liveKeys lists the keys the example sets, in the form of decoderKeys.
func liveKeys(t *testing.T, src []byte) []string {
	t.Helper()
	file, diags := hclsyntax.ParseConfig(src, examplePath, hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	body := file.Body.(*hclsyntax.Body)
	var keys []string
	for name := range body.Attributes {
		keys = append(keys, name)
	}
	for _, b := range body.Blocks {
		if b.Type == "signals" {
			keys = append(keys, b.Type)
			continue
		}
		for name := range b.Body.Attributes {
			keys = append(keys, b.Type+"."+name)
		}
	}
	return keys
}

func readExample(t *testing.T) []byte {
	t.Helper()
	src, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// TestExampleShowsEverySetting: every field of Settings has a key, the
// decoder knows every key, and the example shows every key, live or, for
// the derived ones, commented out.
func TestExampleShowsEverySetting(t *testing.T) {
	src := readExample(t)
	decoded := decoderKeys()
	live := liveKeys(t, src)

	mapped := map[string]bool{}
	for _, path := range leafFields(reflect.TypeFor[Settings](), "") {
		key, ok := fileKeys[path]
		if !ok {
			t.Errorf("Settings.%s has no entry in fileKeys: give it a config key, decode it in file.go and show it in config.example.hcl", path)
			continue
		}
		if key == "" {
			continue
		}
		mapped[key] = true
		if !slices.Contains(decoded, key) {
			t.Errorf("Settings.%s: key %q is not decoded by file.go", path, key)
		}
		commented := slices.Contains(commentedKeys, key)
		switch {
		case commented && slices.Contains(live, key):
			t.Errorf("%s: %s is set, but its default is derived: show it commented out", examplePath, key)
		case commented && !commentedLine(key).Match(src):
			t.Errorf("%s: no line %q shows %s", examplePath, "# "+key+" = ...", key)
		case !commented && !slices.Contains(live, key):
			t.Errorf("%s does not set %s to its default", examplePath, key)
		}
	}
	for _, key := range decoded {
		if !mapped[key] {
			t.Errorf("file.go decodes %q, which no field in fileKeys maps to", key)
		}
	}
}

func commentedLine(key string) *regexp.Regexp {
	return regexp.MustCompile(`(?m)^# ` + regexp.QuoteMeta(key) + ` = \S`)
}

// TestExampleValuesAreTheDefaults decodes the example over empty settings:
// every key it sets must come out equal to Defaults(), so the example can
// never drift from the code. The signals block must list exactly the
// supervisor's default actions.
func TestExampleValuesAreTheDefaults(t *testing.T) {
	var got Settings
	if err := decodeFile(examplePath, readExample(t), &got, sources{}); err != nil {
		t.Fatal(err)
	}
	want := Defaults()
	for path, key := range fileKeys {
		if key == "" || key == "signals" {
			continue
		}
		g, w := fieldAt(&got, path), fieldAt(&want, path)
		if slices.Contains(commentedKeys, key) {
			if !g.IsZero() {
				t.Errorf("%s: commented-out %s decoded to %v", examplePath, key, g)
			}
			continue
		}
		if !reflect.DeepEqual(g.Interface(), w.Interface()) {
			t.Errorf("%s: %s = %v; the default is %v", examplePath, key, g, w)
		}
	}
	if want := supervisor.DefaultActions(); !reflect.DeepEqual(got.Signals, want) {
		t.Errorf("%s: signals = %v; the supervisor's defaults are %v", examplePath, got.Signals, want)
	}
}

// TestExampleCommentedKeysAreValid uncomments the derived keys: the lines
// must be valid, and the paths they show must be the derived defaults.
func TestExampleCommentedKeysAreValid(t *testing.T) {
	src := readExample(t)
	for _, key := range commentedKeys {
		src = commentedLine(key).ReplaceAllFunc(src, func(line []byte) []byte { return line[2:] })
	}
	var got Settings
	if err := decodeFile(examplePath, src, &got, sources{}); err != nil {
		t.Fatalf("uncommented example: %v", err)
	}
	want := Defaults()
	want.Args = []string{"/bin/true"}
	if err := want.resolve(sources{}); err != nil {
		t.Fatal(err)
	}
	if got.PIDFile != want.PIDFile || got.SlotsFile != want.SlotsFile {
		t.Errorf("example shows pidfile %q, slots_file %q; for name %q the defaults are %q, %q",
			got.PIDFile, got.SlotsFile, want.Name, want.PIDFile, want.SlotsFile)
	}
	if len(got.Args) == 0 || got.Workers == 0 || got.Slots < got.Workers {
		t.Errorf("example illustrations: command %q, workers %d, slots %d", got.Args, got.Workers, got.Slots)
	}
}

// TestExampleChangesNothing: running with the example as config gives the
// supervisor exactly the options it gets without a config file.
func TestExampleChangesNothing(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	with, err := Load([]string{"-c", examplePath, "--", exe}, nil)
	if err != nil {
		t.Fatal(err)
	}
	without, err := Load([]string{"--", exe}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if w, wo := *with, *without; !reflect.DeepEqual(w, wo) {
		t.Errorf("with the example:\n%+v\nwithout:\n%+v", w, wo)
	}
}
