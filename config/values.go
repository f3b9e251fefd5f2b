package config

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigilhttp/vigil/route"
)

// Kind is the type of a setting's value: its syntax on the command line and
// in the file, the checks on it, and the Go type of the field it sets.
type Kind struct {
	// Name names the kind in the docs: "duration", "size", ...
	Name string
	typ  reflect.Type
	// file checks one decoded TOML value (string, int64, float64, bool,
	// time.Time, []any or map[string]any); dir resolves relative paths.
	file func(v any, dir string) (any, error)
	// flag parses one command-line value. A list kind's is one element.
	flag func(s string) (any, error)
	// literal writes a value as TOML, for the example file.
	literal func(v any) string
	list    bool // a repeatable flag; an array in the file
	boolean bool // a flag without a value
}

var (
	typDuration = reflect.TypeFor[time.Duration]()
	typInt64    = reflect.TypeFor[int64]()
	typInt      = reflect.TypeFor[int]()
	typBool     = reflect.TypeFor[bool]()
	typString   = reflect.TypeFor[string]()
	typStrings  = reflect.TypeFor[[]string]()
)

// The kinds of Settings. Their errors say what is wrong with the value;
// the caller adds file, line and key, or the flag.
var (
	// Duration is a time.ParseDuration string, never negative in the file.
	Duration = &Kind{Name: "duration", typ: typDuration, file: fileDuration,
		flag: func(s string) (any, error) { return time.ParseDuration(s) }, literal: func(v any) string { return strconv.Quote(format(v)) }}
	// Size is a byte count: an integer or a route.ParseSize string.
	Size = &Kind{Name: "size", typ: typInt64, file: fileSize, flag: flagSize, literal: sizeLiteral}
	// Rate is a Size per second, or "none" (or a negative integer) for no
	// minimum, stored as -1.
	Rate = &Kind{Name: "rate", typ: typInt64, file: fileRate, flag: flagRate, literal: sizeLiteral}
	// Int is an integer; negative means no cap.
	Int = &Kind{Name: "integer", typ: typInt, file: fileInt,
		flag: func(s string) (any, error) { return strconv.Atoi(s) }, literal: plain}
	// Bool is true or false.
	Bool = &Kind{Name: "boolean", typ: typBool, boolean: true, file: fileBool,
		flag: func(s string) (any, error) { return strconv.ParseBool(s) }, literal: plain}
	// Addrs is a list of listen addresses.
	Addrs = &Kind{Name: "address", typ: typStrings, list: true, file: fileAddrs, flag: asIs, literal: listLiteral}
	// Names is a list of host names or addresses.
	Names = &Kind{Name: "name", typ: typStrings, list: true, file: fileNames, flag: asIs, literal: listLiteral}
	// Path is a file or directory name; in the file, relative to the
	// file's directory.
	Path = &Kind{Name: "path", typ: typString, file: filePath, flag: asIs, literal: quoted}
	// Admin is "off", "unix:PATH" (PATH relative to the file's directory)
	// or "host:port".
	Admin = &Kind{Name: "address", typ: typString, file: fileAdmin, flag: asIs, literal: quoted}
	// AccessLog is a path, or "-" for standard output.
	AccessLog = &Kind{Name: "path", typ: typString, file: fileAccessLog, flag: asIs, literal: quoted}
	// LogLevel is a slog level name.
	LogLevel = &Kind{Name: "level", typ: typString, file: fileLogLevel, flag: asIs, literal: quoted}
	// LogFormat is text or json.
	LogFormat = &Kind{Name: "format", typ: typString, file: oneOf("text", "json"), flag: asIs, literal: quoted}
	// Realm is a non-empty string.
	Realm = &Kind{Name: "name", typ: typString, file: fileNonEmpty, flag: asIs, literal: quoted}
)

func asIs(s string) (any, error) { return s, nil }

func quoted(v any) string { return strconv.Quote(fmt.Sprint(v)) }

func plain(v any) string { return fmt.Sprint(v) }

func listLiteral(v any) string {
	l, _ := v.([]string)
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// sizeLiteral writes a whole number of MiB or KiB with its unit.
func sizeLiteral(v any) string {
	n, _ := v.(int64)
	switch {
	case n > 0 && n%(1<<20) == 0:
		return fmt.Sprintf("%q", fmt.Sprintf("%dMiB", n>>20))
	case n > 0 && n%(1<<10) == 0:
		return fmt.Sprintf("%q", fmt.Sprintf("%dKiB", n>>10))
	}
	return fmt.Sprint(n)
}

// str accepts a string.
func str(v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("want a string, got %s", describe(v))
	}
	return s, nil
}

// fileAddrs accepts a non-empty array of "host:port" strings.
func fileAddrs(v any, _ string) (any, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("want an array of strings, like [\"localhost:8080\"], got %s", describe(v))
	}
	if len(list) == 0 {
		return nil, errors.New("is empty (leave the key out for the default)")
	}
	out := make([]string, 0, len(list))
	for i, e := range list {
		s, ok := e.(string)
		if !ok {
			return nil, fmt.Errorf("element %d: want a string, got %s", i+1, describe(e))
		}
		hp := strings.TrimPrefix(strings.TrimPrefix(s, "https://"), "http://")
		if _, _, err := net.SplitHostPort(hp); err != nil {
			return nil, fmt.Errorf("%q is not host:port, http://host:port or https://host:port", s)
		}
		out = append(out, s)
	}
	return out, nil
}

// fileNames accepts an array of non-empty strings without spaces (host
// names or addresses).
func fileNames(v any, _ string) (any, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("want an array of strings, like [\"router.local\"], got %s", describe(v))
	}
	out := make([]string, 0, len(list))
	for i, e := range list {
		s, ok := e.(string)
		if !ok || s == "" || strings.ContainsAny(s, " \t") {
			return nil, fmt.Errorf("element %d: want a host name or address, got %s", i+1, describe(e))
		}
		out = append(out, s)
	}
	return out, nil
}

// filePath accepts a file name, resolving a relative one against dir.
func filePath(v any, dir string) (any, error) {
	s, err := str(v)
	if err != nil {
		return nil, err
	}
	return resolve(dir, s), nil
}

// resolve joins a relative name to dir; it leaves an empty name empty.
func resolve(dir, name string) string {
	if name == "" || filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(dir, name)
}

// fileAccessLog is a path, or "-" for standard output.
func fileAccessLog(v any, dir string) (any, error) {
	s, err := str(v)
	if err != nil {
		return nil, err
	}
	if s != "-" {
		s = resolve(dir, s)
	}
	return s, nil
}

// fileAdmin accepts "off", "unix:PATH" (PATH resolved against dir) or
// "host:port".
func fileAdmin(v any, dir string) (any, error) {
	s, err := str(v)
	if err != nil {
		return nil, err
	}
	if p, ok := strings.CutPrefix(s, "unix:"); ok {
		if p == "" {
			return nil, errors.New(`"unix:" needs a socket path`)
		}
		s = "unix:" + resolve(dir, p)
	} else if s != "off" && s != "" {
		if _, _, err := net.SplitHostPort(s); err != nil {
			return nil, fmt.Errorf("%q is neither unix:PATH nor host:port nor off", s)
		}
	}
	return s, nil
}

// fileDuration accepts a non-negative time.ParseDuration string.
func fileDuration(v any, _ string) (any, error) {
	s, ok := v.(string)
	if !ok {
		return nil, fmt.Errorf("want a duration string, like \"30s\", got %s", describe(v))
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not a duration", s)
	}
	if d < 0 {
		return nil, fmt.Errorf("%q is negative", s)
	}
	return d, nil
}

// fileSize accepts a non-negative integer or a ParseSize string.
func fileSize(v any, _ string) (any, error) {
	switch v := v.(type) {
	case int64:
		if v < 0 {
			return nil, fmt.Errorf("%d is negative", v)
		}
		return v, nil
	case string:
		return route.ParseSize(v)
	}
	return nil, fmt.Errorf("want a size, like 1048576 or \"1MiB\", got %s", describe(v))
}

// flagSize accepts an integer (a negative one is for the caller to refuse,
// naming the flag) or a ParseSize string.
func flagSize(s string) (any, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	n, err := route.ParseSize(s)
	if err != nil {
		return nil, errors.New("want a whole number of bytes or a size with a unit, like 1MiB")
	}
	return n, nil
}

// fileRate accepts a size, or "none" or a negative integer for no minimum
// (stored as -1).
func fileRate(v any, dir string) (any, error) {
	switch v := v.(type) {
	case int64:
		if v < 0 {
			return int64(-1), nil
		}
	case string:
		if v == "none" {
			return int64(-1), nil
		}
	}
	return fileSize(v, dir)
}

// flagRate is fileRate for the command line.
func flagRate(s string) (any, error) {
	if s == "none" {
		return int64(-1), nil
	}
	n, err := flagSize(s)
	if err == nil && n.(int64) < 0 {
		n = int64(-1)
	}
	return n, err
}

// fileInt accepts an integer (negative too: "no cap").
func fileInt(v any, _ string) (any, error) {
	n, ok := v.(int64)
	if !ok {
		return nil, fmt.Errorf("want an integer, got %s", describe(v))
	}
	if n < math.MinInt || n > math.MaxInt {
		return nil, fmt.Errorf("%d is out of range", n)
	}
	return int(n), nil
}

// fileBool accepts true or false.
func fileBool(v any, _ string) (any, error) {
	b, ok := v.(bool)
	if !ok {
		return nil, fmt.Errorf("want true or false, got %s", describe(v))
	}
	return b, nil
}

// fileLogLevel accepts a slog level name.
func fileLogLevel(v any, _ string) (any, error) {
	s, err := str(v)
	if err != nil {
		return nil, err
	}
	var lv slog.Level
	if lv.UnmarshalText([]byte(s)) != nil {
		return nil, fmt.Errorf("%q is not a log level (want debug, info, warn or error)", s)
	}
	return s, nil
}

// oneOf accepts one of the strings choices.
func oneOf(choices ...string) func(any, string) (any, error) {
	return func(v any, _ string) (any, error) {
		s, err := str(v)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(choices, s) {
			return nil, fmt.Errorf("%q is not one of %s", s, strings.Join(choices, ", "))
		}
		return s, nil
	}
}

// fileNonEmpty accepts a non-empty string.
func fileNonEmpty(v any, _ string) (any, error) {
	s, err := str(v)
	if err != nil {
		return nil, err
	}
	if s == "" {
		return nil, errors.New("is empty")
	}
	return s, nil
}

// describe names a decoded TOML value's type, with the value if it is
// short.
func describe(v any) string {
	switch v := v.(type) {
	case string:
		return fmt.Sprintf("string %q", v)
	case int64:
		return fmt.Sprintf("integer %d", v)
	case float64:
		return fmt.Sprintf("float %v", v)
	case bool:
		return fmt.Sprintf("boolean %t", v)
	case time.Time:
		return "date-time " + v.Format(time.RFC3339)
	case []any:
		return "an array"
	case []map[string]any:
		return "an array of tables"
	case map[string]any:
		return "a table"
	}
	return fmt.Sprintf("%T", v)
}
