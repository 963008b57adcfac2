// Package contractlibs links the libraries slotrun links and nothing
// else. The floor and floorsignal import it when built with -tags
// benchlibs: the bench's floor-libs column, which tells how much of
// slotrun's start is the image those libraries make (their size, their
// packages' initialisation) and how much is slotrun's own work
// (BENCHMARKS.md, "Where a peer is still ahead").
//
// The list is the packages of other modules that slotrun's own code
// imports; TestListsWhatSlotrunImports keeps it so.
package contractlibs

import (
	_ "github.com/hashicorp/go-hclog"
	_ "github.com/hashicorp/hcl/v2"
	_ "github.com/hashicorp/hcl/v2/hclsyntax"
	_ "github.com/oklog/run"
	_ "github.com/spf13/pflag"
	_ "github.com/zclconf/go-cty/cty"
	_ "github.com/zclconf/go-cty/cty/convert"
	_ "golang.org/x/sys/unix"
)
