package config

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/slotrun/slotrun/internal/signame"
	"github.com/slotrun/slotrun/supervisor"
)

// A kind is how one type of setting is read, bound to the field that keeps
// it: from a flag's text (and the table's default, written the same way)
// and from the config file. Both ways check with the same functions
// (values.go), so a value is refused in the same words wherever it is
// written; the caller adds the flag, or the file adds the key and position.
type kind struct {
	flag flagForm
	// entries marks a collection of KEY=VALUE entries (env, signals): its
	// flag is repeatable, and each entry, from a flag or the file, replaces
	// only the entry with the same key.
	entries bool
	field   any    // pointer to the field the value is kept in; nil for the flags of Load itself
	reset   func() // puts in place a default that is not text (the signal table); nil for the others
	// parse reads a flag's argument, one entry of a repeatable flag, or the
	// table's default.
	parse func(text string) error
	// attr reads the file's `key = value`, where path is the key; nil for a
	// kind the file writes as a block.
	attr func(d *decoder, expr hcl.Expression, path string)
	// block reads the file's `key { K = V ... }`, for a kind written as a
	// block of free entries.
	block func(d *decoder, body hcl.Body, path string)
}

// flagForm is how a kind's flag takes its value.
type flagForm int

const (
	flagValue    flagForm = iota // --flag VALUE
	flagSwitch                   // --flag, or --flag=false
	flagRepeated                 // --flag K=V, any number of times
)

// A speller writes another setting the way the user is writing settings,
// for hints: spellFlag ("--stop-signal KILL") or spellKey (`stop.signal =
// "KILL"`).
type speller func(key, value string) string

// flagOnly is the kind of a flag that is not a setting: Load reads it itself.
func flagOnly(form flagForm) kind { return kind{flag: form} }

// text is a string the user writes, parsed into T: names, paths, policies,
// signal names, log levels.
func text[T any](dst *T, parse func(string) (T, error)) kind {
	return kind{
		field: dst,
		parse: func(s string) error {
			v, err := parse(s)
			if err == nil {
				*dst = v
			}
			return err
		},
		attr: func(d *decoder, expr hcl.Expression, path string) {
			s, ok := d.str(expr, path)
			if !ok {
				return
			}
			v, err := parse(s)
			if err != nil {
				d.errorf(expr.Range(), "Invalid value", "%s: %s.", path, err)
				return
			}
			*dst = v
		},
	}
}

// whole is a whole number, within the bounds check sets. The file writes it
// as a number; in quotes it is refused with a hint.
func whole(dst *int, check func(int) (int, error)) kind {
	return kind{
		field: dst,
		parse: func(s string) error {
			n, err := parseInt(s)
			if err != nil {
				return err
			}
			if n, err = check(n); err == nil {
				*dst = n
			}
			return err
		},
		attr: func(d *decoder, expr hcl.Expression, path string) {
			v, ok := d.value(expr)
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
				d.errorf(expr.Range(), "Incorrect value type", "%s must be a whole number, not %s%s.", path, describe(v), hint)
				return
			}
			bf := v.AsBigFloat()
			if !bf.IsInt() {
				d.errorf(expr.Range(), "Invalid value", "%s must be a whole number, not %s.", path, numberText(v))
				return
			}
			n, acc := bf.Int64()
			if acc != big.Exact || n > math.MaxInt || n < math.MinInt {
				d.errorf(expr.Range(), "Invalid value", "%s: %s is out of range.", path, numberText(v))
				return
			}
			got, err := check(int(n))
			if err != nil {
				d.errorf(expr.Range(), "Invalid value", "%s: %s.", path, err)
				return
			}
			*dst = got
		},
	}
}

// wholeOrAuto is a whole number within the bounds check sets, or the word
// auto, kept as the value auto until resolve works out what it stands for
// (the ordinal from the host name). check must refuse auto's value, so
// nobody can write it as a number. The file writes a number, or "auto".
func wholeOrAuto(dst *int, auto int, check func(int) (int, error)) kind {
	number := whole(dst, check)
	isAuto := func(s string) bool { return strings.EqualFold(strings.TrimSpace(s), "auto") }
	return kind{
		field: dst,
		parse: func(s string) error {
			if isAuto(s) {
				*dst = auto
				return nil
			}
			if err := number.parse(s); err != nil {
				return fmt.Errorf("%w (or write auto)", err)
			}
			return nil
		},
		attr: func(d *decoder, expr hcl.Expression, path string) {
			v, ok := d.value(expr)
			if !ok {
				return
			}
			if !v.IsNull() && v.Type() == cty.String {
				s := v.AsString()
				if isAuto(s) {
					*dst = auto
					return
				}
				hint := ""
				if _, err := strconv.Atoi(strings.TrimSpace(s)); err == nil {
					hint = " (drop the quotes)"
				}
				d.errorf(expr.Range(), "Invalid value", "%s must be a whole number or \"auto\", not %s%s.", path, describe(v), hint)
				return
			}
			number.attr(d, expr, path)
		},
	}
}

// boolean is true or false; its flag is a switch.
func boolean(dst *bool) kind {
	return kind{
		flag:  flagSwitch,
		field: dst,
		parse: func(s string) error {
			v, err := strconv.ParseBool(s)
			if err != nil {
				return fmt.Errorf("%q is not true or false", s)
			}
			*dst = v
			return nil
		},
		attr: func(d *decoder, expr hcl.Expression, path string) {
			v, ok := d.value(expr)
			if !ok {
				return
			}
			if v.IsNull() || v.Type() != cty.Bool {
				d.errorf(expr.Range(), "Incorrect value type", "%s must be true or false, not %s.", path, describe(v))
				return
			}
			*dst = v.True()
		},
	}
}

// duration is a string with a unit. A bare number is refused: 10 could mean
// seconds or nanoseconds, and guessing wrong turns 10s into 10ns. check, if
// not nil, refuses more (a zero stop timeout); its hints name other
// settings with spell.
func duration(dst *time.Duration, check func(d time.Duration, spell speller) error) kind {
	if check == nil {
		check = func(time.Duration, speller) error { return nil }
	}
	return kind{
		field: dst,
		parse: func(s string) error {
			v, err := parseDuration(s)
			if err != nil {
				return err
			}
			if err := check(v, spellFlag); err != nil {
				return err
			}
			*dst = v
			return nil
		},
		attr: func(d *decoder, expr hcl.Expression, path string) {
			v, ok := d.value(expr)
			if !ok {
				return
			}
			if !v.IsNull() && v.Type() == cty.Number {
				n := numberText(v)
				d.errorf(expr.Range(), "Invalid duration", "%s = %s has no unit: write %q or %q.", path, n, n+"s", n+"ms")
				return
			}
			if v.IsNull() || v.Type() != cty.String {
				d.errorf(expr.Range(), "Incorrect value type", "%s must be a duration string such as \"10s\", not %s.", path, describe(v))
				return
			}
			got, err := parseDuration(v.AsString())
			if err == nil {
				err = check(got, spellKey)
			}
			if err != nil {
				d.errorf(expr.Range(), "Invalid duration", "%s: %s.", path, err)
				return
			}
			*dst = got
		},
	}
}

// argv is a list of strings: the program, then its arguments. It has no
// flag: on the command line the command follows the flags.
func argv(dst *[]string) kind {
	return kind{
		field: dst,
		attr: func(d *decoder, expr hcl.Expression, path string) {
			v, ok := d.value(expr)
			if !ok {
				return
			}
			ty := v.Type()
			if v.IsNull() || !(ty.IsListType() || ty.IsTupleType()) {
				hint := ""
				if !v.IsNull() && ty == cty.String {
					hint = `; write each argument as its own string, as in ["./worker", "--port", "8080"]`
				}
				d.errorf(expr.Range(), "Incorrect value type", "%s must be a list of strings, not %s%s.", path, describe(v), hint)
				return
			}
			if v.LengthInt() == 0 {
				d.errorf(expr.Range(), "Invalid value", `%s is empty: name the program to run, as in ["./worker"].`, path)
				return
			}
			// Locate each element when the list is written out, else blame the list.
			elems, diags := hcl.ExprList(expr)
			if diags.HasErrors() || len(elems) != v.LengthInt() {
				elems = nil
			}
			args := make([]string, 0, v.LengthInt())
			for i, it := 0, v.ElementIterator(); it.Next(); i++ {
				_, ev := it.Element()
				rng := expr.Range()
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
				args = append(args, arg)
			}
			*dst = args
		},
	}
}

// envList is the workers' extra environment: `--env KEY=VALUE`, and in the
// file an object `env = { KEY = "value" }`.
func envList(dst *[]string) kind {
	return kind{
		flag:    flagRepeated,
		entries: true,
		field:   dst,
		parse: func(kv string) error {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return fmt.Errorf("%q has no = (write KEY=VALUE)", kv)
			}
			if err := checkEnvKey(k); err != nil {
				return err
			}
			*dst = setEnv(*dst, k, v)
			return nil
		},
		attr: func(d *decoder, expr hcl.Expression, path string) {
			entries, ok := d.entries(expr, path)
			if !ok {
				return
			}
			for _, e := range entries {
				if err := checkEnvKey(e.key); err != nil {
					d.errorf(e.keyRange, "Invalid value", "%s: %s.", path, err)
					continue
				}
				if val, ok := d.stringAt(e.value, e.valRange, path+"."+e.key); ok {
					*dst = setEnv(*dst, e.key, val)
				}
			}
		},
	}
}

// signalTable is what slotrun does with each signal: defaults, then
// `--signal SIG=ACTION` and the file's block `signals { SIG = "ACTION" }`,
// each replacing one signal's action.
func signalTable(dst *map[syscall.Signal]supervisor.Action, defaults func() map[syscall.Signal]supervisor.Action) kind {
	put := func(sig syscall.Signal, act supervisor.Action) {
		if *dst == nil {
			*dst = map[syscall.Signal]supervisor.Action{}
		}
		(*dst)[sig] = act
	}
	return kind{
		flag:    flagRepeated,
		entries: true,
		field:   dst,
		reset:   func() { *dst = defaults() },
		parse: func(entry string) error {
			name, action, ok := strings.Cut(entry, "=")
			if !ok {
				return fmt.Errorf("%q has no = (write SIG=ACTION, as in HUP=restart)", entry)
			}
			sig, act, err := parseSignalAction(name, action)
			if err != nil {
				return &entryError{entry: entry, err: err}
			}
			put(sig, act)
			return nil
		},
		// HUP and SIGHUP are the same signal and may not both appear.
		block: func(d *decoder, body hcl.Body, path string) {
			seen := map[syscall.Signal]*hcl.Attribute{}
			for _, a := range d.freeAttributes(body) {
				keyPath := path + "." + a.Name
				sig, err := signame.Parse(a.Name)
				if err != nil {
					d.errorf(a.NameRange, "Invalid signal", "%s: %q is not a signal; use a name such as HUP, USR1 or SIGUSR2.", keyPath, a.Name)
					continue
				}
				if err := supervisor.CheckSignal(sig); err != nil {
					d.errorf(a.NameRange, "Invalid signal", "%s: %s.", keyPath, err)
					continue
				}
				if first := seen[sig]; first != nil {
					d.errorf(a.NameRange, "Duplicate signal", "%s: %s is already set on line %d.", keyPath, signame.Name(sig), first.NameRange.Start.Line)
					continue
				}
				seen[sig] = a
				s, ok := d.str(a.Expr, keyPath)
				if !ok {
					continue
				}
				act, err := supervisor.ParseAction(s)
				if err != nil {
					d.errorf(a.Expr.Range(), "Invalid value", "%s: %s.", keyPath, err)
					continue
				}
				put(sig, act)
			}
		},
	}
}

// entryError is a bad entry of a repeatable flag whose message names the
// whole entry, as the user typed it: `--signal HUP=explode: ...`.
type entryError struct {
	entry string
	err   error
}

func (e *entryError) Error() string { return e.entry + ": " + e.err.Error() }
func (e *entryError) Unwrap() error { return e.err }
