package config

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/slotrun/slotrun/listen"
)

// listenList is the sockets every worker inherits, in order: `--listen
// [NAME=]URL`, repeatable, and the file's block `listen { NAME = "URL" }`.
// A socket written without a name is called listenK, K its place in the
// list. Names are unique: a flag may replace the file's socket of the same
// name (flag over file), but two flags, or a flag and a default name, may
// not share one.
func listenList(dst *[]listen.Spec) kind {
	put := func(sp listen.Spec) error {
		for i, have := range *dst {
			if have.Name != sp.Name {
				continue
			}
			if strings.HasPrefix(have.Origin, "--") {
				return fmt.Errorf("the name %q is already given to %s; names must be unique", sp.Name, have.URL)
			}
			(*dst)[i] = sp
			return nil
		}
		*dst = append(*dst, sp)
		return nil
	}
	return kind{
		flag:    flagRepeated,
		entries: true,
		field:   dst,
		parse: func(entry string) error {
			sp, err := listen.ParseEntry(entry)
			if err != nil {
				return &entryError{entry: entry, err: err}
			}
			if sp.Name == "" {
				sp.Name = listen.DefaultName(len(*dst))
			}
			sp.Origin = "--listen " + entry
			if err := put(sp); err != nil {
				return &entryError{entry: entry, err: err}
			}
			return nil
		},
		block: func(d *decoder, body hcl.Body, path string) {
			for _, a := range d.freeAttributes(body) {
				keyPath := path + "." + a.Name
				if err := listen.CheckName(a.Name); err != nil {
					d.errorf(a.NameRange, "Invalid socket name", "%s: %s.", keyPath, err)
					continue
				}
				s, ok := d.str(a.Expr, keyPath)
				if !ok {
					continue
				}
				sp, err := listen.ParseURL(s)
				if err != nil {
					d.errorf(a.Expr.Range(), "Invalid socket URL", "%s: %s.", keyPath, err)
					continue
				}
				sp.Name = a.Name
				sp.Origin = fmt.Sprintf("%s = %q (%s)", keyPath, s, position(a.Expr.Range()))
				put(sp)
			}
		},
	}
}
