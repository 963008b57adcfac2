package contractlibs

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestListsWhatSlotrunImports: this package imports exactly the packages
// of other modules that slotrun's own code imports, so that floor-libs
// keeps linking what slotrun links as its dependencies change. The
// sources are read here, not listed by `go list`, so that the test cache
// sees a change to them.
func TestListsWhatSlotrunImports(t *testing.T) {
	const root = "../../.."
	var want []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch name := d.Name(); {
			case path == root:
			case strings.HasPrefix(name, "."), name == "testdata":
				return filepath.SkipDir
			case filepath.Dir(path) == root && slices.Contains(notSlotrun, name):
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		for _, imp := range otherModules(t, path) {
			if !slices.Contains(want, imp) {
				want = append(want, imp)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got := otherModules(t, "contractlibs.go")
	slices.Sort(want)
	slices.Sort(got)
	if len(want) == 0 || !slices.Equal(got, want) {
		t.Fatalf("contractlibs imports\n  %v\nslotrun imports, of other modules,\n  %v", got, want)
	}
}

// notSlotrun are the module's top-level directories whose programs are
// not part of slotrun's binary.
var notSlotrun = []string{"bench", "e2e", "examples", "deploy", "docs", "bin"}

// otherModules lists the imports of a Go file that are neither the
// standard library's nor this module's.
func otherModules(t *testing.T, path string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
	if err != nil {
		t.Fatal(err)
	}
	var list []string
	for _, spec := range f.Imports {
		imp, _ := strconv.Unquote(spec.Path.Value)
		if strings.Contains(strings.Split(imp, "/")[0], ".") && !strings.HasPrefix(imp, "github.com/slotrun/slotrun") {
			list = append(list, imp)
		}
	}
	return list
}
