package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/vigilhttp/vigil/config"
)

// parseFlags parses args with flags. Asked for help (-h, --help), it prints
// the flags' usage to their output and returns flag.ErrHelp. A mistake is a
// usageError of one line that names the flag and says how to fix it, not
// the whole usage.
func parseFlags(flags *flag.FlagSet, args []string) error {
	out := flags.Output()
	usage := flags.Usage
	flags.SetOutput(io.Discard)
	flags.Usage = func() {}
	err := flags.Parse(args)
	flags.SetOutput(out)
	flags.Usage = usage
	switch {
	case err == nil:
		return nil
	case errors.Is(err, flag.ErrHelp):
		if usage != nil {
			usage()
		} else {
			fmt.Fprintf(out, "usage: %s [flags]\n\nFlags:\n", flags.Name())
			flags.PrintDefaults()
		}
		return flag.ErrHelp
	}
	return usageError{flagError(flags, err)}
}

// flagError rewrites an error of package flag as one line with the fix.
func flagError(flags *flag.FlagSet, err error) string {
	msg := err.Error()
	helpHint := fmt.Sprintf("(%s --help lists them)", flags.Name())
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		name = strings.TrimLeft(name, "-")
		if s := closestFlag(flags, name); s != "" {
			return fmt.Sprintf("unknown flag --%s: did you mean --%s? %s", name, s, helpHint)
		}
		return fmt.Sprintf("unknown flag --%s %s", name, helpHint)
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok {
		return fmt.Sprintf("--%s needs a value (e.g. --%s %s)", name, name, example(flags.Lookup(name)))
	}
	// invalid boolean value "V" for -NAME: REASON
	if rest, ok := strings.CutPrefix(msg, "invalid boolean value "); ok {
		if val, err := strconv.QuotedPrefix(rest); err == nil {
			v, _ := strconv.Unquote(val)
			name, _, _ := strings.Cut(strings.TrimPrefix(rest[len(val):], " for -"), ":")
			return fmt.Sprintf("--%s=%s: want --%s or --%s=false", name, v, name, name)
		}
	}
	// invalid value "V" for flag -NAME: REASON
	if rest, ok := strings.CutPrefix(msg, "invalid value "); ok {
		if val, err := strconv.QuotedPrefix(rest); err == nil {
			v, _ := strconv.Unquote(val)
			rest = strings.TrimPrefix(rest[len(val):], " for flag -")
			name, reason, _ := strings.Cut(rest, ": ")
			if fl := flags.Lookup(name); fl != nil {
				return valueError(fl, v, reason)
			}
		}
	}
	return msg
}

// valueError says what is wrong with value v of flag fl, and how to write
// it.
func valueError(fl *flag.Flag, v, reason string) string {
	g, _ := fl.Value.(flag.Getter)
	var kind any
	if g != nil {
		kind = g.Get()
	}
	switch kind.(type) {
	case time.Duration:
		if _, err := strconv.ParseFloat(v, 64); err == nil {
			return fmt.Sprintf("--%s %s: a duration needs a unit, e.g. %ss", fl.Name, v, v)
		}
		return fmt.Sprintf("--%s %s: not a duration; write e.g. 30s, 500ms or 2m", fl.Name, v)
	case int64: // a size
		return fmt.Sprintf("--%s %s: want bytes, a whole number or with a unit, e.g. --%s %s", fl.Name, v, fl.Name, example(fl))
	case int, uint, uint64:
		return fmt.Sprintf("--%s %s: want a whole number, e.g. --%s %s", fl.Name, v, fl.Name, example(fl))
	case bool:
		return fmt.Sprintf("--%s=%s: want --%s or --%s=false", fl.Name, v, fl.Name, fl.Name)
	}
	return fmt.Sprintf("--%s %s: %s", fl.Name, v, reason)
}

// example is a value to show in a hint for fl: its default, or one that
// fits its type.
func example(fl *flag.Flag) string {
	if fl == nil {
		return "VALUE"
	}
	if fl.DefValue != "" && fl.DefValue != "0" && fl.DefValue != "0s" && fl.DefValue != "false" {
		return fl.DefValue
	}
	if g, ok := fl.Value.(flag.Getter); ok {
		switch g.Get().(type) {
		case time.Duration:
			return "30s"
		case int, int64:
			return "100"
		}
	}
	return "VALUE"
}

// closestFlag returns the defined flag nearest to name (within two edits,
// or one that starts with it), or "".
func closestFlag(flags *flag.FlagSet, name string) string {
	best, bestDist := "", 3
	flags.VisitAll(func(fl *flag.Flag) {
		d := config.EditDistance(name, fl.Name)
		if len(name) >= 3 && strings.HasPrefix(fl.Name, name) {
			d = min(d, 1)
		}
		if d < bestDist {
			best, bestDist = fl.Name, d
		}
	})
	return best
}

// printFlags lists flags as --name VALUE, then the usage, in name order;
// a setting's flag names its value by the setting's kind.
func printFlags(flags *flag.FlagSet) {
	w := flags.Output()
	flags.VisitAll(func(fl *flag.Flag) {
		name, usage := flag.UnquoteUsage(fl)
		if s, ok := config.Lookup(fl.Name); ok {
			name, usage = s.Placeholder(), s.Usage()
		}
		if name != "" {
			name = " " + strings.ReplaceAll(name, " ", "-")
		}
		fmt.Fprintf(w, "  --%s%s\n    \t%s\n", fl.Name, name, usage)
	})
}
