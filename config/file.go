package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/big"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/slotrun/slotrun/internal/signame"
	"github.com/slotrun/slotrun/supervisor"
)

// The config file (DESIGN.md section 7) is HCL native syntax. Its keys are
// decoded by hand rather than with gohcl, for three reasons: only the keys
// present in the file may touch Settings (precedence is per key), a duration
// written as a bare number must be refused rather than read as nanoseconds,
// and every value error should say what to write instead, at the value.
//
// Paths in the file (pidfile, slots_file, command) are relative to the
// working directory, as on the command line, not to the file.

// maxFileSize bounds what loadFile reads: a config file is a few hundred
// bytes, and a file a thousand times larger is the wrong file.
const maxFileSize = 256 << 10

// The HCL parser recurses once per level of nesting, and a goroutine that
// overflows its stack cannot be recovered, so nesting is checked on the
// tokens first. A slotrun config nests two or three levels.
const (
	maxNesting    = 64 // open brackets, braces, parens, quotes, interpolations; chained - and !
	maxDirectives = 64 // %{...} template directives, which the parser handles slowly
)

// loadFile decodes the HCL config file at path over s, setting only the keys
// the file contains; env and signals are merged into s per entry. Each key
// set is recorded in from. On error s may be partly updated and should be
// dropped. Every error wraps ErrUsage.
func loadFile(path string, s *Settings, from sources) error {
	src, err := readFile(path)
	if err != nil {
		return err
	}
	return decodeFile(path, src, s, from)
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, usageErrorf("--config %s: %s", path, fileProblem(err))
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, usageErrorf("--config %s: %s", path, fileProblem(err))
	}
	if len(src) > maxFileSize {
		return nil, usageErrorf("--config %s: larger than %d KiB; is it the right file?", path, maxFileSize>>10)
	}
	return src, nil
}

// fileProblem turns an os error into the few words a user needs.
func fileProblem(err error) string {
	if errors.Is(err, fs.ErrNotExist) {
		return "no such file"
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error() // "permission denied", "is a directory"
	}
	return err.Error()
}

// decodeFile decodes src, the text of the file named filename, over s, and
// records in from where each key was set.
func decodeFile(filename string, src []byte, s *Settings, from sources) error {
	if diags := checkNesting(filename, src); diags.HasErrors() {
		return &usageError{newFileError(filename, &hcl.File{Bytes: src}, diags, 1)}
	}
	file, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		// Syntax errors cascade: after the first, the rest are mostly echoes.
		return &usageError{newFileError(filename, file, diags, 1)}
	}
	d := &decoder{src: src, from: from}
	d.body(file.Body, s)
	if d.diags.HasErrors() {
		return &usageError{newFileError(filename, file, d.diags, 3)}
	}
	return nil
}

// checkNesting refuses, before parsing, the inputs that would make the
// parser recurse too deep or take too long.
func checkNesting(filename string, src []byte) hcl.Diagnostics {
	tokens, _ := hclsyntax.LexConfig(src, filename, hcl.InitialPos)
	depth, unary, directives := 0, 0, 0
	for _, tok := range tokens {
		switch tok.Type {
		case hclsyntax.TokenOBrace, hclsyntax.TokenOBrack, hclsyntax.TokenOParen, hclsyntax.TokenOQuote,
			hclsyntax.TokenOHeredoc, hclsyntax.TokenTemplateInterp, hclsyntax.TokenTemplateControl:
			depth++
		case hclsyntax.TokenCBrace, hclsyntax.TokenCBrack, hclsyntax.TokenCParen, hclsyntax.TokenCQuote,
			hclsyntax.TokenCHeredoc, hclsyntax.TokenTemplateSeqEnd:
			depth = max(depth-1, 0)
		}
		switch tok.Type {
		case hclsyntax.TokenMinus, hclsyntax.TokenBang:
			unary++
		case hclsyntax.TokenNewline, hclsyntax.TokenComment:
		default:
			unary = 0
		}
		if tok.Type == hclsyntax.TokenTemplateControl {
			directives++
		}
		var detail string
		switch {
		case depth > maxNesting:
			detail = fmt.Sprintf("brackets, braces, parentheses and quotes nest more than %d levels deep here", maxNesting)
		case unary > maxNesting:
			detail = fmt.Sprintf("more than %d - or ! operators follow each other here", maxNesting)
		case directives > maxDirectives:
			detail = fmt.Sprintf("this file has more than %d %%{...} template directives", maxDirectives)
		default:
			continue
		}
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Too complex",
			Detail:   "A slotrun config is simple data, but " + detail + ".",
			Subject:  tok.Range.Ptr(),
		}}
	}
	return nil
}

// A field is one key of a body and the code that stores its value.
type field struct {
	key string
	set func(d *decoder, a *hcl.Attribute, path string)
}

func rootFields(s *Settings) []field {
	return []field{
		{"name", text(&s.Name, checkName)},
		{"command", command(&s.Command)},
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
	r, st, l := &s.Restart, &s.Stop, &s.Log
	return []block{
		{"restart", []field{
			{"policy", text(&r.Policy, supervisor.ParsePolicy)},
			{"min_uptime", duration(&r.MinUptime)},
			{"backoff_min", duration(&r.BackoffMin)},
			{"backoff_max", duration(&r.BackoffMax)},
			{"max_restarts", whole(&r.MaxRestarts, checkLimit)},
			{"window", duration(&r.Window)},
		}},
		{"stop", []field{
			{"signal", text(&st.Signal, signame.Parse)},
			{"timeout", checkedDuration(&st.Timeout, func(d time.Duration) error {
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
	if s.Env == nil {
		s.Env = map[string]string{}
	}
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

// str reads a string attribute; a number or bool gets a hint about quotes.
func (d *decoder) str(expr hcl.Expression, path string) (string, bool) {
	v, ok := d.value(expr)
	if !ok {
		return "", false
	}
	if v.IsNull() || v.Type() != cty.String {
		hint := ""
		if !v.IsNull() && v.Type().IsPrimitiveType() {
			hint = " (put it in quotes)"
		}
		d.errorf(expr.Range(), "Incorrect value type", "%s must be a string, not %s%s.", path, describe(v), hint)
		return "", false
	}
	s := v.AsString()
	if strings.ContainsRune(s, 0) {
		d.errorf(expr.Range(), "Invalid value", "%s must not contain a NUL character.", path)
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
			if ev.IsNull() || ev.Type() != cty.String {
				d.errorf(rng, "Incorrect value type", "%s must be a string, not %s.", elemPath, describe(ev))
				return
			}
			arg := ev.AsString()
			switch {
			case strings.ContainsRune(arg, 0):
				d.errorf(rng, "Invalid value", "%s must not contain a NUL character.", elemPath)
				return
			case i == 0 && arg == "":
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

func env(dst *map[string]string) func(*decoder, *hcl.Attribute, string) {
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
			if e.value.IsNull() || e.value.Type() != cty.String {
				hint := ""
				if !e.value.IsNull() && e.value.Type().IsPrimitiveType() {
					hint = " (put it in quotes)"
				}
				d.errorf(e.valRange, "Incorrect value type", "%s must be a string, not %s%s.", keyPath, describe(e.value), hint)
				continue
			}
			val := e.value.AsString()
			if strings.ContainsRune(val, 0) {
				d.errorf(e.valRange, "Invalid value", "%s must not contain a NUL character.", keyPath)
				continue
			}
			(*dst)[e.key] = val
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

// fileError is a config file's diagnostics, rendered for a terminal: each
// one as a line "file:line:column: Summary; Detail." that reads well after
// "slotrun: ", then the source lines it points at.
type fileError struct {
	diags hcl.Diagnostics
	text  string
}

func (e *fileError) Error() string { return e.text }
func (e *fileError) Unwrap() error { return e.diags }

// newFileError renders the errors among diags in source order, at most
// shown of them: a file that is not HCL at all can have one per line.
func newFileError(filename string, file *hcl.File, diags hcl.Diagnostics, shown int) *fileError {
	var errs hcl.Diagnostics
	for _, diag := range diags {
		if diag.Severity == hcl.DiagError {
			errs = append(errs, diag)
		}
	}
	slices.SortStableFunc(errs, func(a, b *hcl.Diagnostic) int { return offset(a) - offset(b) })

	files := map[string]*hcl.File{}
	if file != nil {
		files[filename] = file
	}
	var parts []string
	for i, diag := range errs {
		if i == shown {
			more := len(errs) - shown
			parts = append(parts, fmt.Sprintf("%s: %d more %s not shown", filename, more, plural(more, "error", "errors")))
			break
		}
		part := headline(filename, diag)
		if snip := snippet(files, diag); snip != "" {
			part += "\n" + snip
		}
		parts = append(parts, part)
	}
	return &fileError{diags: errs, text: strings.Join(parts, "\n\n")}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func offset(d *hcl.Diagnostic) int {
	if d.Subject == nil {
		return math.MaxInt
	}
	return d.Subject.Start.Byte
}

func headline(filename string, d *hcl.Diagnostic) string {
	where := filename
	if d.Subject != nil {
		where = position(*d.Subject)
	}
	line := where + ": " + d.Summary
	if d.Detail != "" {
		line += "; " + d.Detail
	}
	return printable(strings.ReplaceAll(line, "\n", " "))
}

// position names where r starts as file:line:column (DESIGN.md section 7),
// the form editors and terminals jump to. hcl's own Range.String gives
// "file:line,column-column", which they do not.
func position(r hcl.Range) string {
	return fmt.Sprintf("%s:%d:%d", r.Filename, r.Start.Line, r.Start.Column)
}

// snippet renders the source lines of a diagnostic with hcl's text writer,
// without its header and detail (the headline says those).
func snippet(files map[string]*hcl.File, d *hcl.Diagnostic) string {
	if d.Subject == nil {
		return ""
	}
	bare := &hcl.Diagnostic{Severity: hcl.DiagError, Subject: d.Subject, Context: d.Context}
	var b strings.Builder
	if err := hcl.NewDiagnosticTextWriter(&b, files, 0, false).WriteDiagnostic(bare); err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	if len(lines) < 3 || !strings.HasPrefix(lines[0], "Error:") || lines[1] != "" {
		return "" // not the layout this code knows: say nothing rather than garble
	}
	lines = lines[2:]
	const maxLines, maxWidth = 6, 120
	if len(lines) > maxLines {
		lines = append(lines[:maxLines], "      ...")
	}
	for i, l := range lines {
		l = printable(strings.TrimRightFunc(l, unicode.IsSpace))
		if r := []rune(l); len(r) > maxWidth {
			l = string(r[:maxWidth]) + "..."
		}
		lines[i] = l
	}
	return strings.Join(lines, "\n")
}

// printable keeps a file's bytes from driving the terminal: control and
// format characters other than tab, and invalid UTF-8, are shown escaped.
func printable(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[0])
		case r == '\t' || unicode.IsGraphic(r):
			b.WriteString(s[:size])
		case r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
		s = s[size:]
	}
	return b.String()
}
