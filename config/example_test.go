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
)

const (
	examplePath = "../config.example.hcl"
	readmePath  = "../README.md"
)

// notSettings are the fields of Settings that no flag or key sets: Load
// resolves Path from the command; the caller sets the rest.
var notSettings = []string{"Path", "Stdout", "Stderr", "Logger", "LogHold", "Caught", "Version"}

// leafFields lists the fields of a struct value by dotted path, descending
// into the embedded Options and the nested settings structs, with the
// address of each.
func leafFields(v reflect.Value, prefix string) map[string]uintptr {
	out := map[string]uintptr{}
	for i := range v.NumField() {
		f, fv := v.Type().Field(i), v.Field(i)
		switch {
		case f.Anonymous:
			for name, addr := range leafFields(fv, prefix) {
				out[name] = addr
			}
		case f.Type.Kind() == reflect.Struct && strings.HasSuffix(f.Type.Name(), "Settings"):
			for name, addr := range leafFields(fv, prefix+f.Name+".") {
				out[name] = addr
			}
		default:
			out[prefix+f.Name] = fv.Addr().Pointer()
		}
	}
	return out
}

// TestEveryFieldIsASetting: a field added to Settings or to the
// supervisor's Options fails here until the table says how it is set, or
// notSettings says that it is not.
func TestEveryFieldIsASetting(t *testing.T) {
	var s Settings
	bound := map[uintptr]string{}
	for _, e := range table(&s) {
		if e.kind.field != nil {
			bound[reflect.ValueOf(e.kind.field).Pointer()] = e.key
		}
	}
	for name, addr := range leafFields(reflect.ValueOf(&s).Elem(), "") {
		_, isSetting := bound[addr]
		switch {
		case slices.Contains(notSettings, name) && isSetting:
			t.Errorf("%s is in notSettings, but the table sets it", name)
		case !slices.Contains(notSettings, name) && !isSetting:
			t.Errorf("Settings.%s is set by no entry of the settings table (table.go): add one, or list it in notSettings", name)
		}
	}
}

// TestTableIsConsistent: each flag and key is declared once, each setting
// says how its default is found, and each default parses.
func TestTableIsConsistent(t *testing.T) {
	flags, keys := map[string]bool{}, map[string]bool{}
	for _, e := range table(new(Settings)) {
		for _, name := range []string{"--" + e.flag, "-" + e.short} {
			if len(name) > 2 && flags[name] {
				t.Errorf("flag %s is declared twice", name)
			}
			flags[name] = true
		}
		if e.key == "" {
			continue
		}
		if keys[e.key] {
			t.Errorf("key %s is declared twice", e.key)
		}
		keys[e.key] = true
		if e.flag != "" && !strings.Contains(e.help, "`") && e.kind.flag != flagSwitch {
			t.Errorf("--%s: its help names no `VALUE`", e.flag)
		}
		if (e.derive == nil) != (e.about == "") || e.derive != nil && e.def != "" {
			t.Errorf("%s: a derived default needs derive and about, and no def", e.key)
		}
		if e.def != "" {
			if err := e.kind.parse(e.def); err != nil {
				t.Errorf("%s: the default %q does not parse: %v", e.key, e.def, err)
			}
		}
		if (e.kind.attr == nil) == (e.kind.block == nil) {
			t.Errorf("%s: its kind must be read from an attribute or from a block, one of the two", e.key)
		}
	}
}

// exampleKeys lists the keys the example sets, as "key", "block.key" or,
// for a block of free entries (signals), "block".
func exampleKeys(t *testing.T, src []byte) []string {
	t.Helper()
	file, diags := hclsyntax.ParseConfig(src, examplePath, hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	_, blocks := layout(table(new(Settings)))
	body := file.Body.(*hclsyntax.Body)
	var keys []string
	for name := range body.Attributes {
		keys = append(keys, name)
	}
	for _, b := range body.Blocks {
		if i := slices.IndexFunc(blocks, func(fb fileBlock) bool { return fb.name == b.Type }); i >= 0 && blocks[i].free != nil {
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

// commentedLine matches the example's "# key = illustration" line for a
// key whose default is derived or absent.
func commentedLine(key string) *regexp.Regexp {
	return regexp.MustCompile(`(?m)^# ` + regexp.QuoteMeta(attrName(key)) + ` = \S`)
}

// TestExampleShowsEverySetting: the example shows every key of the table,
// live or, for the derived ones, commented out, and nothing else.
func TestExampleShowsEverySetting(t *testing.T) {
	src := readExample(t)
	live := exampleKeys(t, src)
	known := map[string]bool{}
	for _, e := range table(new(Settings)) {
		if e.key == "" {
			continue
		}
		known[e.key] = true
		switch isLive := slices.Contains(live, e.key); {
		case !e.shownLive() && isLive:
			t.Errorf("%s: %s is set, but it has no fixed default: show it commented out", examplePath, e.key)
		case !e.shownLive() && !commentedLine(e.key).Match(src):
			t.Errorf("%s: no line %q shows %s", examplePath, "# "+attrName(e.key)+" = ...", e.key)
		case e.shownLive() && !isLive:
			t.Errorf("%s does not set %s to its default", examplePath, e.key)
		}
	}
	for _, key := range live {
		if !known[key] {
			t.Errorf("%s sets %s, which is no setting", examplePath, key)
		}
	}
}

// TestExampleValuesAreTheDefaults decodes the example over empty settings:
// every key it sets must come out equal to Defaults(), so the example can
// never drift from the code; the signals block must list exactly the
// supervisor's default actions. The commented-out keys must stay unset.
func TestExampleValuesAreTheDefaults(t *testing.T) {
	var got Settings
	if err := decodeFile(examplePath, readExample(t), &got, sources{}); err != nil {
		t.Fatal(err)
	}
	want := Defaults()
	wantTable := table(&want)
	for i, e := range table(&got) {
		if e.key == "" {
			continue
		}
		g := reflect.ValueOf(e.kind.field).Elem()
		w := reflect.ValueOf(wantTable[i].kind.field).Elem()
		if !e.shownLive() {
			if !g.IsZero() {
				t.Errorf("%s: commented-out %s decoded to %v", examplePath, e.key, g)
			}
			continue
		}
		if !reflect.DeepEqual(g.Interface(), w.Interface()) {
			t.Errorf("%s: %s = %v; the default is %v", examplePath, e.key, g, w)
		}
	}
}

// TestExampleCommentedKeysAreValid uncomments the derived keys: the lines
// must be valid, and the paths they show must be the derived defaults.
func TestExampleCommentedKeysAreValid(t *testing.T) {
	src := readExample(t)
	for _, e := range table(new(Settings)) {
		if e.key != "" && !e.shownLive() {
			src = commentedLine(e.key).ReplaceAllFunc(src, func(line []byte) []byte { return line[2:] })
		}
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

// TestExampleChangesNothing: running with the example as config gives
// exactly the settings Load gives without a config file.
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
	if !reflect.DeepEqual(*with, *without) {
		t.Errorf("with the example:\n%+v\nwithout:\n%+v", *with, *without)
	}
}

// TestReadmeListsEveryFlag: the README's flag table has a row for every
// flag of `slotrun run`.
func TestReadmeListsEveryFlag(t *testing.T) {
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range table(new(Settings)) {
		if e.flag == "" || e.flag == "help" {
			continue
		}
		row := regexp.MustCompile("(?m)^\\| `[^`]*--" + regexp.QuoteMeta(e.flag) + "[ `]")
		if !row.Match(readme) {
			t.Errorf("%s: the flag table has no row for --%s", readmePath, e.flag)
		}
	}
}
