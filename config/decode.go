package config

import (
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/slotrun/slotrun/internal/signame"
	"github.com/slotrun/slotrun/supervisor"
)

// The config file is HCL native syntax. Its keys are decoded by hand rather
// than with gohcl, for three reasons (docs/config.md): only the keys present
// in the file may touch Settings (precedence is per key), a duration written
// as a bare number must be refused rather than read as nanoseconds, and every
// value error should say what to write instead, at the value.
//
// Paths in the file (pidfile, slots_file, command) are relative to the
// working directory, as on the command line, not to the file.

// A field is one key of a body and the code that stores its value.
type field struct {
	key string
	set func(d *decoder, a *hcl.Attribute, path string)
}

func rootFields(s *Settings) []field {
	return []field{
		{"name", text(&s.Name, checkName)},
		{"command", command(&s.Args)},
		{"workers", whole(&s.Workers, checkCount)},
		{"slots", whole(&s.Slots, checkCount)},
		{"pidfile", text(&s.PIDFile, parsePath)},
		{"slots_file", text(&s.SlotsFile, parsePath)},
		{"prefix", boolean(&s.Prefix)},
		{"env", env(&s.Env)},
	}
}

// block is a block that may appear once at the top level.
type block struct {
	name   string
	fields []field // nil: attribute names are free (signals)
}

func blocks(s *Settings) []block {
	l := &s.Log
	return []block{
		{"restart", []field{
			{"policy", text(&s.Restart, supervisor.ParsePolicy)},
			{"min_uptime", duration(&s.MinUptime)},
			{"backoff_min", duration(&s.BackoffMin)},
			{"backoff_max", duration(&s.BackoffMax)},
			{"max_restarts", whole(&s.MaxRestarts, checkLimit)},
			{"window", duration(&s.RestartWindow)},
		}},
		{"stop", []field{
			{"signal", text(&s.StopSignal, signame.Parse)},
			{"timeout", checkedDuration(&s.StopTimeout, func(d time.Duration) error {
				return checkStopTimeout(d, `stop.signal = "KILL"`)
			})},
		}},
		{"signals", nil},
		{"log", []field{
			{"level", text(&l.Level, parseLogLevel)},
			{"format", text(&l.Format, parseLogFormat)},
		}},
	}
}

func schemaOf(fields []field, blocks []block) *hcl.BodySchema {
	schema := &hcl.BodySchema{}
	for _, f := range fields {
		schema.Attributes = append(schema.Attributes, hcl.AttributeSchema{Name: f.key})
	}
	for _, b := range blocks {
		schema.Blocks = append(schema.Blocks, hcl.BlockHeaderSchema{Type: b.name})
	}
	return schema
}

// decoder collects every problem of a file, so one run reports them all.
type decoder struct {
	diags hcl.Diagnostics
	src   []byte  // the file's text, to quote values in from
	from  sources // where each key was set
}

func (d *decoder) errorf(rng hcl.Range, summary, format string, args ...any) {
	d.diags = append(d.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf(format, args...),
		Subject:  rng.Ptr(),
	})
}

func (d *decoder) body(body hcl.Body, s *Settings) {
	if s.Signals == nil {
		s.Signals = map[syscall.Signal]supervisor.Action{}
	}
	fields, blocks := rootFields(s), blocks(s)
	content, diags := body.Content(schemaOf(fields, blocks))
	d.diags = append(d.diags, diags...)
	d.attributes(content.Attributes, fields, "")

	seen := map[string]*hcl.Block{}
	for _, blk := range content.Blocks {
		if first := seen[blk.Type]; first != nil {
			d.errorf(blk.DefRange, "Duplicate "+blk.Type+" block",
				"%s is already defined on line %d; put all its settings in one block.", blk.Type, first.DefRange.Start.Line)
			continue
		}
		seen[blk.Type] = blk
		i := slices.IndexFunc(blocks, func(b block) bool { return b.name == blk.Type })
		if blocks[i].fields == nil {
			d.signals(blk.Body, s.Signals)
			continue
		}
		content, diags := blk.Body.Content(schemaOf(blocks[i].fields, nil))
		d.diags = append(d.diags, diags...)
		d.attributes(content.Attributes, blocks[i].fields, blk.Type+".")
	}
}

func (d *decoder) attributes(attrs hcl.Attributes, fields []field, prefix string) {
	for _, f := range fields {
		if a := attrs[f.key]; a != nil {
			path := prefix + f.key
			f.set(d, a, path)
			// As written, on one line: `restart.window = "0s" (app.hcl:4:12)`.
			rng := a.Expr.Range()
			text := strings.Join(strings.Fields(string(rng.SliceBytes(d.src))), " ")
			d.from[path] = fmt.Sprintf("%s = %s (%s)", path, printable(text), position(rng))
		}
	}
}

// value evaluates an expression. Without an evaluation context, variables and
// function calls are errors, so what remains is literal data.
func (d *decoder) value(expr hcl.Expression) (cty.Value, bool) {
	v, diags := expr.Value(nil)
	d.diags = append(d.diags, diags...)
	if diags.HasErrors() || !v.IsWhollyKnown() {
		return cty.NilVal, false
	}
	v, _ = v.Unmark()
	return v, true
}

// describe names a value the way the user wrote it, for "not ..." messages.
func describe(v cty.Value) string {
	ty := v.Type()
	switch {
	case v.IsNull():
		return "null"
	case ty == cty.String:
		s := v.AsString()
		if len(s) > 40 {
			s = s[:40] + "..."
		}
		return fmt.Sprintf("the string %q", s)
	case ty == cty.Number:
		return "the number " + numberText(v)
	case ty == cty.Bool:
		return fmt.Sprintf("%t", v.True())
	case ty.IsListType() || ty.IsTupleType() || ty.IsSetType():
		return "a list"
	case ty.IsMapType() || ty.IsObjectType():
		return "an object"
	}
	return ty.FriendlyName()
}

func numberText(v cty.Value) string {
	return v.AsBigFloat().Text('g', 12)
}

// str reads a string attribute.
func (d *decoder) str(expr hcl.Expression, path string) (string, bool) {
	v, ok := d.value(expr)
	if !ok {
		return "", false
	}
	return d.stringAt(v, expr.Range(), path)
}

// stringAt checks that v, written at rng, is a string, and one that can
// reach a process: a NUL would cut it short in argv, the environment or a
// file name. A number or bool gets a hint about quotes, the usual slip.
// Every string of the file (attributes, command arguments, env values,
// signal actions) goes through here, so each is refused in the same words.
func (d *decoder) stringAt(v cty.Value, rng hcl.Range, path string) (string, bool) {
	if v.IsNull() || v.Type() != cty.String {
		hint := ""
		if !v.IsNull() && v.Type().IsPrimitiveType() {
			hint = " (put it in quotes)"
		}
		d.errorf(rng, "Incorrect value type", "%s must be a string, not %s%s.", path, describe(v), hint)
		return "", false
	}
	s := v.AsString()
	if strings.ContainsRune(s, 0) {
		d.errorf(rng, "Invalid value", "%s must not contain a NUL character.", path)
		return "", false
	}
	return s, true
}

func text[T any](dst *T, parse func(string) (T, error)) func(*decoder, *hcl.Attribute, string) {
	return func(d *decoder, a *hcl.Attribute, path string) {
		s, ok := d.str(a.Expr, path)
		if !ok {
			return
		}
		v, err := parse(s)
		if err != nil {
			d.errorf(a.Expr.Range(), "Invalid value", "%s: %s.", path, err)
			return
		}
		*dst = v
	}
}

func whole(dst *int, check func(int) (int, error)) func(*decoder, *hcl.Attribute, string) {
	return func(d *decoder, a *hcl.Attribute, path string) {
		v, ok := d.value(a.Expr)
		if !ok {
			return
		}
		if v.IsNull() || v.Type() != cty.Number {
			hint := ""
			if !v.IsNull() && v.Type() == cty.String {
				if _, err := strconv.ParseFloat(strings.TrimSpace(v.AsString()), 64); err == nil {
					hint = " (drop the quotes)"
				}
			}
			d.errorf(a.Expr.Range(), "Incorrect value type", "%s must be a whole number, not %s%s.", path, describe(v), hint)
			return
		}
		bf := v.AsBigFloat()
		if !bf.IsInt() {
			d.errorf(a.Expr.Range(), "Invalid value", "%s must be a whole number, not %s.", path, numberText(v))
			return
		}
		n, acc := bf.Int64()
		if acc != big.Exact || n > math.MaxInt || n < math.MinInt {
			d.errorf(a.Expr.Range(), "Invalid value", "%s: %s is out of range.", path, numberText(v))
			return
		}
		got, err := check(int(n))
		if err != nil {
			d.errorf(a.Expr.Range(), "Invalid value", "%s: %s.", path, err)
			return
		}
		*dst = got
	}
}

func boolean(dst *bool) func(*decoder, *hcl.Attribute, string) {
	return func(d *decoder, a *hcl.Attribute, path string) {
		v, ok := d.value(a.Expr)
		if !ok {
			return
		}
		if v.IsNull() || v.Type() != cty.Bool {
			d.errorf(a.Expr.Range(), "Incorrect value type", "%s must be true or false, not %s.", path, describe(v))
			return
		}
		*dst = v.True()
	}
}

// duration reads a string with a unit. A bare number is refused: 10 could
// mean seconds or nanoseconds, and guessing wrong turns 10s into 10ns.
func duration(dst *time.Duration) func(*decoder, *hcl.Attribute, string) {
	return checkedDuration(dst, func(time.Duration) error { return nil })
}

// checkedDuration is duration, then check on the value.
func checkedDuration(dst *time.Duration, check func(time.Duration) error) func(*decoder, *hcl.Attribute, string) {
	return func(d *decoder, a *hcl.Attribute, path string) {
		v, ok := d.value(a.Expr)
		if !ok {
			return
		}
		if !v.IsNull() && v.Type() == cty.Number {
			n := numberText(v)
			d.errorf(a.Expr.Range(), "Invalid duration", "%s = %s has no unit: write %q or %q.", path, n, n+"s", n+"ms")
			return
		}
		if v.IsNull() || v.Type() != cty.String {
			d.errorf(a.Expr.Range(), "Incorrect value type", "%s must be a duration string such as \"10s\", not %s.", path, describe(v))
			return
		}
		got, err := parseDuration(v.AsString())
		if err != nil {
			d.errorf(a.Expr.Range(), "Invalid duration", "%s: %s.", path, err)
			return
		}
		if err := check(got); err != nil {
			d.errorf(a.Expr.Range(), "Invalid duration", "%s: %s.", path, err)
			return
		}
		*dst = got
	}
}

// command reads a list of strings: the program, then its arguments.
func command(dst *[]string) func(*decoder, *hcl.Attribute, string) {
	return func(d *decoder, a *hcl.Attribute, path string) {
		v, ok := d.value(a.Expr)
		if !ok {
			return
		}
		ty := v.Type()
		if v.IsNull() || !(ty.IsListType() || ty.IsTupleType()) {
			hint := ""
			if !v.IsNull() && ty == cty.String {
				hint = `; write each argument as its own string, as in ["./worker", "--port", "8080"]`
			}
			d.errorf(a.Expr.Range(), "Incorrect value type", "%s must be a list of strings, not %s%s.", path, describe(v), hint)
			return
		}
		if v.LengthInt() == 0 {
			d.errorf(a.Expr.Range(), "Invalid value", `%s is empty: name the program to run, as in ["./worker"].`, path)
			return
		}
		// Locate each element when the list is written out, else blame the list.
		elems, diags := hcl.ExprList(a.Expr)
		if diags.HasErrors() || len(elems) != v.LengthInt() {
			elems = nil
		}
		argv := make([]string, 0, v.LengthInt())
		for i, it := 0, v.ElementIterator(); it.Next(); i++ {
			_, ev := it.Element()
			rng := a.Expr.Range()
			if elems != nil {
				rng = elems[i].Range()
			}
			elemPath := fmt.Sprintf("%s[%d]", path, i)
			arg, ok := d.stringAt(ev, rng, elemPath)
			if !ok {
				return
			}
			if i == 0 && arg == "" {
				d.errorf(rng, "Invalid value", "%s, the program, must not be empty.", elemPath)
				return
			}
			argv = append(argv, arg)
		}
		*dst = argv
	}
}

// entry is one KEY = VALUE of an object, with where each half was written.
type entry struct {
	key      string
	keyRange hcl.Range
	value    cty.Value
	valRange hcl.Range
}

// entries reads an object written as { K = V ... }. Keys written twice are
// reported here, since HCL itself keeps the last one silently.
func (d *decoder) entries(expr hcl.Expression, path string) ([]entry, bool) {
	v, ok := d.value(expr)
	if !ok {
		return nil, false
	}
	if v.IsNull() || !(v.Type().IsObjectType() || v.Type().IsMapType()) {
		d.errorf(expr.Range(), "Incorrect value type", "%s must be an object such as { KEY = \"value\" }, not %s.", path, describe(v))
		return nil, false
	}
	var out []entry
	if pairs, diags := hcl.ExprMap(expr); !diags.HasErrors() {
		seen := map[string]hcl.Range{}
		for _, p := range pairs {
			// Both halves evaluated without error as part of v above.
			k, _ := p.Key.Value(nil)
			val, _ := p.Value.Value(nil)
			k, _ = k.Unmark()
			val, _ = val.Unmark()
			k, err := convert.Convert(k, cty.String)
			if err != nil || k.IsNull() || !k.IsKnown() {
				d.errorf(p.Key.Range(), "Invalid key", "%s: this key is not a name.", path)
				return nil, false
			}
			key := k.AsString()
			if first, dup := seen[key]; dup {
				d.errorf(p.Key.Range(), "Duplicate key", "%s.%s is already set on line %d.", path, key, first.Start.Line)
				return nil, false
			}
			seen[key] = p.Key.Range()
			out = append(out, entry{key, p.Key.Range(), val, p.Value.Range()})
		}
		return out, true
	}
	for it := v.ElementIterator(); it.Next(); {
		k, val := it.Element()
		out = append(out, entry{k.AsString(), expr.Range(), val, expr.Range()})
	}
	return out, true
}

func env(dst *[]string) func(*decoder, *hcl.Attribute, string) {
	return func(d *decoder, a *hcl.Attribute, path string) {
		entries, ok := d.entries(a.Expr, path)
		if !ok {
			return
		}
		for _, e := range entries {
			keyPath := path + "." + e.key
			if err := checkEnvKey(e.key); err != nil {
				d.errorf(e.keyRange, "Invalid value", "%s: %s.", path, err)
				continue
			}
			if val, ok := d.stringAt(e.value, e.valRange, keyPath); ok {
				*dst = setEnv(*dst, e.key, val)
			}
		}
	}
}

// signals reads the signals block: each attribute names a signal, its value
// is an action. HUP and SIGHUP are the same signal and may not both appear.
func (d *decoder) signals(body hcl.Body, dst map[syscall.Signal]supervisor.Action) {
	attrs, diags := body.JustAttributes()
	d.diags = append(d.diags, diags...)
	sorted := make([]*hcl.Attribute, 0, len(attrs))
	for _, a := range attrs {
		sorted = append(sorted, a)
	}
	slices.SortFunc(sorted, func(a, b *hcl.Attribute) int { return a.Range.Start.Byte - b.Range.Start.Byte })

	seen := map[syscall.Signal]*hcl.Attribute{}
	for _, a := range sorted {
		path := "signals." + a.Name
		sig, err := signame.Parse(a.Name)
		if err != nil {
			d.errorf(a.NameRange, "Invalid signal", "%s: %q is not a signal; use a name such as HUP, USR1 or SIGUSR2.", path, a.Name)
			continue
		}
		if err := supervisor.CheckSignal(sig); err != nil {
			d.errorf(a.NameRange, "Invalid signal", "%s: %s.", path, err)
			continue
		}
		if first := seen[sig]; first != nil {
			d.errorf(a.NameRange, "Duplicate signal", "%s: %s is already set on line %d.", path, signame.Name(sig), first.NameRange.Start.Line)
			continue
		}
		seen[sig] = a
		s, ok := d.str(a.Expr, path)
		if !ok {
			continue
		}
		act, err := supervisor.ParseAction(s)
		if err != nil {
			d.errorf(a.Expr.Range(), "Invalid value", "%s: %s.", path, err)
			continue
		}
		dst[sig] = act
	}
}
