package config

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
)

// This file renders a config file's diagnostics for a terminal: where each
// problem is (file:line:column, the form editors jump to), what it is, and
// the source line, with the file's bytes kept from driving the terminal.

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

// position names where r starts as file:line:column (docs/config.md),
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
