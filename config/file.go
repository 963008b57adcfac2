package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Reading a config file, and the guards in front of the HCL parser: the file
// is read whole but bounded in size, and its tokens are checked for nesting
// before the parser sees them. decode.go turns the parsed file into Settings;
// diagnostics.go renders its errors. The design is in docs/config.md.

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
