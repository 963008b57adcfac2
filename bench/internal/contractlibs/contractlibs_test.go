package contractlibs

import (
	"go/build"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/slotrun/slotrun"

// TestListsWhatSlotrunImports: this package imports exactly the packages
// of other modules that slotrun's own packages import, following the
// imports of slotrun's main package as the linker does (no test files,
// this platform's build constraints), so that floor-libs keeps linking
// what slotrun links as its dependencies change. go/build reads the
// sources itself, not through `go list`, so the test cache sees a change
// to them.
func TestListsWhatSlotrunImports(t *testing.T) {
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	seen := map[string]bool{}
	queue := []string{module}
	for len(queue) > 0 {
		pkg := queue[0]
		queue = queue[1:]
		if seen[pkg] {
			continue
		}
		seen[pkg] = true
		p, err := build.ImportDir(filepath.Join(root, strings.TrimPrefix(pkg, module)), 0)
		if err != nil {
			t.Fatalf("%s: %v", pkg, err)
		}
		for _, imp := range p.Imports {
			switch {
			case inModule(imp):
				queue = append(queue, imp)
			case !isStandard(imp) && !slices.Contains(want, imp):
				want = append(want, imp)
			}
		}
	}
	self, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	got := slices.Clone(self.Imports)
	slices.Sort(got)
	slices.Sort(want)
	if len(want) == 0 || !slices.Equal(got, want) {
		t.Fatalf("contractlibs imports\n  %v\nslotrun imports, of other modules,\n  %v", got, want)
	}
}

func inModule(imp string) bool { return imp == module || strings.HasPrefix(imp, module+"/") }

// isStandard: a standard library path has no dot in its first element.
func isStandard(imp string) bool { return !strings.Contains(strings.Split(imp, "/")[0], ".") }
