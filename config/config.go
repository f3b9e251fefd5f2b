package config

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/vigilhttp/vigil"
	"github.com/vigilhttp/vigil/route"
)

// DefaultRealm is the authentication realm when the file sets none.
const DefaultRealm = vigil.DefaultRealm

// File is a parsed and validated configuration file: the values of the keys
// it sets, in the fields Settings names. A field the file does not set
// keeps its zero value (Realm excepted: DefaultRealm), which means the
// default of the package that owns the bound, as in vigil.Config; IsSet
// tells a zero the file wrote from a key it left out.
type File struct {
	// Path is the file it was read from, as given to Load or Parse.
	Path string
	// Config holds the keys that are vigil.Config fields.
	vigil.Config
	// Command holds the keys of the vigil command alone.
	Command

	set map[string]bool // the keys the file set
}

// IsSet reports whether the file set key (a name of Keys), so that a caller
// applies a file value only where the command line gave no flag, and a
// default only where neither did.
func (f *File) IsSet(key string) bool { return f.set[key] }

// Load reads and parses the configuration file at path. Relative paths in
// the file are resolved against the file's directory, made absolute. A
// parse error is reported as by Parse.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return parse(path, dir, data)
}

// Parse parses data, the contents of the configuration file name. Relative
// paths in the file are resolved against the directory of name (unchanged if
// name has none).
//
// The error, if any, lists every problem found, one per line in the file's
// order, each an *Error naming name, the line and the key
// (errors.As finds the first).
func Parse(name string, data []byte) (*File, error) {
	return parse(name, filepath.Dir(name), data)
}

// Error is one problem in a configuration file.
type Error struct {
	File string // the file name given to Load or Parse
	Line int    // the line of the key, counted from 1; 0 if unknown
	Key  string // the top-level key concerned; empty if none is known
	Msg  string // what is wrong; it names Key
}

// Error returns "file:line: msg".
func (e *Error) Error() string {
	if e.Line == 0 {
		return e.File + ": " + e.Msg
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

func parse(name, dir string, data []byte) (*File, error) {
	var raw map[string]toml.Primitive
	md, err := toml.Decode(string(data), &raw)
	if err != nil {
		return nil, syntaxError(name, data, err)
	}
	f := &File{Path: name, set: map[string]bool{}}
	var errs []*Error
	for key, prim := range raw {
		st, ok := Lookup(key)
		if !ok {
			msg := fmt.Sprintf("unknown key %q", key)
			if s := suggest(key); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			errs = append(errs, &Error{File: name, Line: lineOf(&md, prim), Key: key, Msg: msg})
			continue
		}
		f.set[key] = true
		var v any
		err := md.PrimitiveDecode(prim, &v)
		if err == nil {
			v, err = st.Kind.file(v, dir)
		}
		if err == nil {
			st.field(&f.Config, &f.Command).Set(reflect.ValueOf(v))
		}
		if err != nil {
			errs = append(errs, &Error{File: name, Line: lineOf(&md, prim), Key: key, Msg: key + ": " + err.Error()})
		}
	}
	if len(errs) > 0 {
		slices.SortFunc(errs, func(a, b *Error) int {
			return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Key, b.Key))
		})
		all := make([]error, len(errs))
		for i, e := range errs {
			all[i] = e
		}
		return nil, errors.Join(all...)
	}
	if !f.set["realm"] {
		f.Realm = DefaultRealm
	}
	return f, nil
}

// probe makes the decoder report where a value is: decoding into it fails,
// and the decoder's ParseError carries the position of the key.
type probe struct{}

var errProbe = errors.New("probe")

func (probe) UnmarshalTOML(any) error { return errProbe }

// lineOf returns the line of the key that holds p, or 0 if unknown. A table
// created implicitly ("[a.b]" or "a.b = 1" creates a) has no position of its
// own: its first child's stands for it.
func lineOf(md *toml.MetaData, p toml.Primitive) int {
	var pe toml.ParseError
	if errors.As(md.PrimitiveDecode(p, probe{}), &pe) && pe.Position.Line > 0 {
		return pe.Position.Line
	}
	var children map[string]toml.Primitive
	if md.PrimitiveDecode(p, &children) != nil {
		return 0
	}
	line := 0
	for _, c := range children {
		if l := lineOf(md, c); l > 0 && (line == 0 || l < line) {
			line = l
		}
	}
	return line
}

// syntaxError turns a TOML syntax error into an *Error. The parser names
// the key only when it had read one; otherwise the key is taken from the
// line, and an unquoted duration or size gets a hint.
func syntaxError(name string, data []byte, err error) error {
	var pe toml.ParseError
	if !errors.As(err, &pe) {
		return &Error{File: name, Msg: err.Error()}
	}
	e := &Error{File: name, Line: pe.Position.Line, Key: pe.LastKey, Msg: pe.Message}
	key, val, ok := keyValueAt(data, e.Line)
	if ok && e.Key == "" {
		e.Key = key
	}
	if e.Key != "" && e.Key == key && val != "" && !strings.ContainsAny(val[:1], `"'[{`) {
		if _, err := time.ParseDuration(val); err == nil {
			e.Msg = fmt.Sprintf("write a duration as a string: %q", val)
		} else if _, err := route.ParseSize(val); err == nil {
			e.Msg = fmt.Sprintf("write a size as a string or a plain integer: %q", val)
		}
	}
	if e.Key != "" {
		e.Msg = e.Key + ": " + e.Msg
	}
	return e
}

// keyValueAt splits line n (from 1) of data as a bare `key = value`,
// dropping a trailing comment from value.
func keyValueAt(data []byte, n int) (key, value string, ok bool) {
	lines := strings.Split(string(data), "\n")
	if n < 1 || n > len(lines) {
		return "", "", false
	}
	key, value, ok = strings.Cut(lines[n-1], "=")
	key = strings.TrimSpace(key)
	if !ok || key == "" || strings.ContainsFunc(key, func(r rune) bool {
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '_')
	}) {
		return "", "", false
	}
	value, _, _ = strings.Cut(value, "#")
	return key, strings.TrimSpace(value), true
}

// suggest returns the known key closest to an unknown one, if it is within
// two edits once letter case and '_' for '-' are forgiven; the first in Keys
// order on a tie.
func suggest(unknown string) string {
	norm := strings.ReplaceAll(strings.ToLower(unknown), "_", "-")
	best, bestDist := "", 3
	for _, k := range Keys() {
		if d := EditDistance(norm, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

// EditDistance is the Levenshtein distance between a and b, in bytes: how
// far an unknown key or flag is from a known one, for "did you mean".
func EditDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			sub := prev[j-1]
			if a[i-1] != b[j-1] {
				sub++
			}
			cur[j] = min(sub, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
