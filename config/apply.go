package config

import (
	"flag"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/vigilhttp/vigil"
)

// Command holds the settings of the vigil command that are not
// vigil.Config fields: the command acts on them itself.
type Command struct {
	// AccessLogPath is the access log file; "-" means standard output,
	// empty none.
	AccessLogPath string
	// LogLevel is debug, info, warn or error (slog.Level syntax, so
	// "info+2" too); LogFormat is text or json.
	LogLevel, LogFormat string
	// AdminRemote allows the admin endpoint on a TCP address other than
	// loopback (it has no authentication).
	AdminRemote bool
}

// DefaultCommand returns the Command the command runs with when nothing is
// set.
func DefaultCommand() Command {
	return Command{LogLevel: "info", LogFormat: "text"}
}

// field returns the field of cfg or cmd that s sets. It panics if neither
// has it: Settings is checked by the tests.
func (s Setting) field(cfg *vigil.Config, cmd *Command) reflect.Value {
	if f := reflect.ValueOf(cfg).Elem().FieldByName(s.Field); f.IsValid() {
		return f
	}
	if f := reflect.ValueOf(cmd).Elem().FieldByName(s.Field); f.IsValid() {
		return f
	}
	panic("config: setting " + s.Key + ": no field " + s.Field)
}

// Default returns the setting's value by default: its field's in
// vigil.DefaultConfig or DefaultCommand.
func (s Setting) Default() any {
	cfg, cmd := vigil.DefaultConfig(), DefaultCommand()
	return s.field(&cfg, &cmd).Interface()
}

// DefaultString is the default as the docs show it: DefaultText, or the
// default value written as on the command line.
func (s Setting) DefaultString() string {
	if s.DefaultText != "" {
		return s.DefaultText
	}
	return format(s.Default())
}

// Usage is the flag's usage: Doc, and the default unless it is zero or
// none (Doc says what those mean).
func (s Setting) Usage() string {
	d := s.DefaultString()
	if d == "" || d == "0" || d == "0s" || d == "false" || d == "none" || strings.HasPrefix(d, "0 (") {
		return s.Doc
	}
	return s.Doc + " (default " + d + ")"
}

// Placeholder names the flag's value in a usage line ("duration"), empty
// for a boolean.
func (s Setting) Placeholder() string {
	if s.Kind.boolean {
		return ""
	}
	return s.Kind.Name
}

// format writes a value as a flag takes it.
func format(v any) string {
	switch v := v.(type) {
	case time.Duration:
		d := v.String()
		if strings.HasSuffix(d, "m0s") {
			d = strings.TrimSuffix(d, "0s")
		}
		if strings.HasSuffix(d, "h0m") {
			d = strings.TrimSuffix(d, "0m")
		}
		return d
	case int64:
		if v > 0 && v%(1<<20) == 0 {
			return fmt.Sprintf("%dMiB", v>>20)
		}
	case []string:
		return strings.Join(v, ",")
	}
	return fmt.Sprint(v)
}

// Apply copies into cfg and cmd the value of every key the file set, except
// the keys skip reports (those a flag gave: a flag wins over the file).
func (f *File) Apply(cfg *vigil.Config, cmd *Command, skip func(key string) bool) {
	for _, s := range Settings {
		if f.set[s.Key] && (skip == nil || !skip(s.Key)) {
			s.field(cfg, cmd).Set(s.field(&f.Config, &f.Command))
		}
	}
}

// CheckNegative refuses a negative duration or size (a rate may be
// negative: none), naming its flag: the command line's values are checked
// here, the file's as they are parsed.
func CheckNegative(cfg *vigil.Config, cmd *Command) error {
	for _, s := range Settings {
		if s.Kind != Duration && s.Kind != Size {
			continue
		}
		v := s.field(cfg, cmd)
		if v.Int() < 0 {
			zero := "the default"
			if strings.HasPrefix(s.DefaultString(), "0 (") {
				zero = "none"
			}
			return fmt.Errorf("--%s %s: must not be negative (0 means %s)", s.Key, format(v.Interface()), zero)
		}
	}
	return nil
}

// Flags defines a flag for every setting on flags, setting cfg's and cmd's
// fields, each starting at its default (a list starts empty: the first
// value given replaces the default).
func Flags(flags *flag.FlagSet, cfg *vigil.Config, cmd *Command) {
	for _, s := range Settings {
		dst := s.field(cfg, cmd)
		if !s.Kind.list {
			dst.Set(reflect.ValueOf(s.Default()))
		}
		flags.Var(&flagValue{s: s, dst: dst}, s.Key, s.Usage())
	}
}

// flagValue is a setting's flag.Value: it parses a value as the setting's
// Kind does and stores it in the field.
type flagValue struct {
	s   Setting
	dst reflect.Value
}

func (v *flagValue) String() string {
	if v == nil || !v.dst.IsValid() || v.dst.IsZero() {
		return "" // flag.PrintDefaults shows no default for the zero value
	}
	return format(v.dst.Interface())
}

func (v *flagValue) Set(s string) error {
	x, err := v.s.Kind.flag(s)
	if err != nil {
		return err
	}
	if v.s.Kind.list {
		v.dst.Set(reflect.Append(v.dst, reflect.ValueOf(x)))
		return nil
	}
	v.dst.Set(reflect.ValueOf(x))
	return nil
}

// Get returns the field's value, so that a caller can tell the flag's type
// (flag.Getter).
func (v *flagValue) Get() any { return v.dst.Interface() }

// IsBoolFlag makes a Bool setting a flag without a value.
func (v *flagValue) IsBoolFlag() bool { return v.s.Kind.boolean }
