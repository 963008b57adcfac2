package config

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// The config file is HCL native syntax. Its keys are decoded by hand rather
// than with gohcl, for three reasons (docs/config.md): only the keys present
// in the file may touch Settings (precedence is per key), a duration written
// as a bare number must be refused rather than read as nanoseconds, and every
// value error should say what to write instead, at the value.
//
// Paths in the file (pidfile, slots_file, command) are relative to the
// working directory, as on the command line, not to the file.

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

// A fileBlock is a block that may appear once at the top of the file.
type fileBlock struct {
	name   string
	fields []setting // the settings "name.key", written as attributes in the block
	free   *setting  // or the one setting whose entries are the block's attributes (signals)
}

// layout is the shape of the file, read from the settings table: a key
// "k" is an attribute at the top, "b.k" an attribute of block b, and a
// block-form kind is a block of its own, in the table's order.
func layout(settings []setting) (top []setting, blocks []fileBlock) {
	index := map[string]int{}
	for i := range settings {
		e := &settings[i]
		name, _, nested := strings.Cut(e.key, ".")
		switch {
		case e.key == "":
			continue
		case e.kind.block != nil:
			blocks = append(blocks, fileBlock{name: e.key, free: e})
			continue
		case !nested:
			top = append(top, *e)
			continue
		}
		if _, ok := index[name]; !ok {
			index[name] = len(blocks)
			blocks = append(blocks, fileBlock{name: name})
		}
		blocks[index[name]].fields = append(blocks[index[name]].fields, *e)
	}
	return top, blocks
}

// schemaOf is the HCL schema of a body holding the attributes of fields
// (their keys' last part) and the blocks.
func schemaOf(fields []setting, blocks []fileBlock) *hcl.BodySchema {
	schema := &hcl.BodySchema{}
	for _, f := range fields {
		schema.Attributes = append(schema.Attributes, hcl.AttributeSchema{Name: attrName(f.key)})
	}
	for _, b := range blocks {
		schema.Blocks = append(schema.Blocks, hcl.BlockHeaderSchema{Type: b.name})
	}
	return schema
}

// attrName is the attribute that holds key in its body: "window" for
// "restart.window".
func attrName(key string) string {
	_, name, nested := strings.Cut(key, ".")
	if !nested {
		return key
	}
	return name
}

func (d *decoder) body(body hcl.Body, s *Settings) {
	top, blocks := layout(table(s))
	content, diags := body.Content(schemaOf(top, blocks))
	d.diags = append(d.diags, diags...)
	d.attributes(content.Attributes, top)

	seen := map[string]*hcl.Block{}
	for _, blk := range content.Blocks {
		if first := seen[blk.Type]; first != nil {
			d.errorf(blk.DefRange, "Duplicate "+blk.Type+" block",
				"%s is already defined on line %d; put all its settings in one block.", blk.Type, first.DefRange.Start.Line)
			continue
		}
		seen[blk.Type] = blk
		b := blocks[slices.IndexFunc(blocks, func(b fileBlock) bool { return b.name == blk.Type })]
		if b.free != nil {
			b.free.kind.block(d, blk.Body, b.name)
			continue
		}
		content, diags := blk.Body.Content(schemaOf(b.fields, nil))
		d.diags = append(d.diags, diags...)
		d.attributes(content.Attributes, b.fields)
	}
}

// attributes decodes the attributes of one body that belong to fields, and
// records where each was set.
func (d *decoder) attributes(attrs hcl.Attributes, fields []setting) {
	for _, f := range fields {
		a := attrs[attrName(f.key)]
		if a == nil {
			continue
		}
		f.kind.attr(d, a.Expr, f.key)
		// As written, on one line: `restart.window = "0s" (app.hcl:4:12)`.
		rng := a.Expr.Range()
		text := strings.Join(strings.Fields(string(rng.SliceBytes(d.src))), " ")
		d.from[f.key] = fmt.Sprintf("%s = %s (%s)", f.key, printable(text), position(rng))
	}
}

// freeAttributes returns the attributes of a block whose names are its
// entries' keys (signals), in the order they are written.
func (d *decoder) freeAttributes(body hcl.Body) []*hcl.Attribute {
	attrs, diags := body.JustAttributes()
	d.diags = append(d.diags, diags...)
	sorted := make([]*hcl.Attribute, 0, len(attrs))
	for _, a := range attrs {
		sorted = append(sorted, a)
	}
	slices.SortFunc(sorted, func(a, b *hcl.Attribute) int { return a.Range.Start.Byte - b.Range.Start.Byte })
	return sorted
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
