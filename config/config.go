package config

import (
	"cmp"
	"errors"
	"fmt"
	"github.com/vigilhttp/vigil/route"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// DefaultRealm is the authentication realm when the file sets none.
const DefaultRealm = "example.com"

// File is a parsed and validated configuration file. A field the file does
// not set keeps its zero value (Realm excepted: DefaultRealm), which means
// the default of the package that owns the bound, as in vigil.Config; IsSet
// tells a zero the file wrote from a key it left out.
type File struct {
	// Path is the file it was read from, as given to Load or Parse.
	Path string

	// Listen lists the addresses to listen on, "host:port" or "[v6]:port".
	Listen []string
	// Root is the document root directory, absolute or relative to the
	// file's directory. Empty means the embedded demo UI.
	Root string

	// HeaderTimeout is the total time allowed for a request header, from
	// accept or the first byte after keep-alive idle.
	HeaderTimeout time.Duration
	// StallTimeout is the longest wait without progress on a body read or
	// any write.
	StallTimeout time.Duration
	// MinRate is the minimum average rate of a body or response in bytes
	// per second once started; zero means none.
	MinRate int64
	// BodyMinRate is the minimum average rate of a request body alone;
	// zero means MinRate when set, else 500 B/s; negative ("none") means
	// none.
	BodyMinRate int64
	// TransferTimeout caps one request body or one response; zero means
	// none.
	TransferTimeout time.Duration
	// IdleTimeout bounds the keep-alive wait for the next request.
	IdleTimeout time.Duration
	// HandlerTimeout bounds a handler's run time (the request context's
	// deadline).
	HandlerTimeout time.Duration
	// ShutdownTimeout bounds the drain on SIGTERM/SIGINT before connections
	// are cut.
	ShutdownTimeout time.Duration
	// BodyLimit is the largest request body in bytes.
	BodyLimit int64
	// MaxConns caps open connections across all listeners; MaxConnsPerIP
	// caps them per remote IP. Zero means the default, negative no cap.
	MaxConns      int
	MaxConnsPerIP int

	// Admin is the admin endpoint: "unix:PATH" (PATH made absolute against
	// the file's directory), "host:port", or "off" for none.
	Admin string
	// AdminRemote allows Admin on a TCP address other than loopback (the
	// admin endpoint has no authentication).
	AdminRemote bool
	// UploadDir is where handler=upload routes without dir= store received
	// files, absolute or relative to the file's directory; empty means
	// none (such routes then fail the check).
	UploadDir string
	// AccessLog is the access log file, absolute or relative to the file's
	// directory; "-" means standard output, empty none.
	AccessLog string
	// LogLevel is debug, info, warn or error (slog.Level syntax, so
	// "info+2" too); LogFormat is text or json.
	LogLevel  string
	LogFormat string

	// Route is a GoAhead route.txt file, absolute or relative to the file's
	// directory; empty means none.
	Route string
	// Auth is an auth.txt file (users and roles), absolute or relative to
	// the file's directory; empty means none.
	Auth string
	// Realm is the authentication realm; DefaultRealm unless set.
	Realm string

	// TLSCert and TLSKey are PEM files for https:// listeners; TLSSelfSigned
	// is a directory where a device certificate is made on first start and
	// reused. Paths are absolute or relative to the file's directory.
	TLSCert, TLSKey, TLSSelfSigned string
	// TLSNames are extra host names or addresses for the device
	// certificate's SANs.
	TLSNames []string
	// HSTS is the Strict-Transport-Security max-age on TLS responses; zero
	// none.
	HSTS time.Duration

	set map[string]bool // the keys the file set
}

// IsSet reports whether the file set key (a name of Keys), so that a caller
// applies a file value only where the command line gave no flag, and a
// default only where neither did.
func (f *File) IsSet(key string) bool { return f.set[key] }

// Keys returns every key of the file, in the order of vigil.conf.example.
func Keys() []string {
	var keys []string
	for _, fl := range new(File).fields("") {
		keys = append(keys, fl.key)
	}
	return keys
}

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

// field is one key of the schema: parse checks a decoded TOML value (string,
// int64, float64, bool, time.Time, []any or map[string]any) and stores it.
type field struct {
	key   string
	parse func(v any) error
}

// fields is the schema, bound to f; dir resolves relative paths.
func (f *File) fields(dir string) []field {
	return []field{
		{"listen", addrs(&f.Listen)},
		{"root", fileName(&f.Root, dir)},
		{"header-timeout", duration(&f.HeaderTimeout)},
		{"stall-timeout", duration(&f.StallTimeout)},
		{"min-rate", size(&f.MinRate)},
		{"body-min-rate", rate(&f.BodyMinRate)},
		{"transfer-timeout", duration(&f.TransferTimeout)},
		{"idle-timeout", duration(&f.IdleTimeout)},
		{"handler-timeout", duration(&f.HandlerTimeout)},
		{"shutdown-timeout", duration(&f.ShutdownTimeout)},
		{"body-limit", size(&f.BodyLimit)},
		{"max-conns", integer(&f.MaxConns)},
		{"max-conns-per-ip", integer(&f.MaxConnsPerIP)},
		{"admin", admin(&f.Admin, dir)},
		{"admin-remote", boolean(&f.AdminRemote)},
		{"upload-dir", fileName(&f.UploadDir, dir)},
		{"access-log", accessLog(&f.AccessLog, dir)},
		{"log-level", logLevel(&f.LogLevel)},
		{"log-format", oneOf(&f.LogFormat, "text", "json")},
		{"route", fileName(&f.Route, dir)},
		{"auth", fileName(&f.Auth, dir)},
		{"realm", nonEmpty(&f.Realm)},
		{"tls-cert", fileName(&f.TLSCert, dir)},
		{"tls-key", fileName(&f.TLSKey, dir)},
		{"tls-self-signed", fileName(&f.TLSSelfSigned, dir)},
		{"hsts", duration(&f.HSTS)},
		{"tls-name", names(&f.TLSNames)},
	}
}

func parse(name, dir string, data []byte) (*File, error) {
	var raw map[string]toml.Primitive
	md, err := toml.Decode(string(data), &raw)
	if err != nil {
		return nil, syntaxError(name, data, err)
	}
	f := &File{Path: name, set: map[string]bool{}}
	fields := f.fields(dir)
	var errs []*Error
	for key, prim := range raw {
		i := slices.IndexFunc(fields, func(fl field) bool { return fl.key == key })
		if i < 0 {
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
			err = fields[i].parse(v)
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
