package auth

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// MaxFileSize is the largest auth.txt Parse accepts, in bytes.
const MaxFileSize = 8 << 20

// MaxRoleDepth is how deep roles may nest, as in GoAhead (auth.c): a role
// reached below this depth is not expanded.
const MaxRoleDepth = 20

// Store is a parsed auth.txt: users with their password hashes and
// abilities. It is immutable once built and safe for concurrent use; to
// reload, parse a new one and swap it in with Authenticator.SetStore.
type Store struct {
	users    map[string]*user
	warnings []string
	// dummy is the most costly hash of the store: an unknown user is checked
	// against it, so that it takes as long as a known user.
	dummy     *hashed
	hasMD5    bool // some user has an MD5 HA1
	hasSHA256 bool // some user has a sha256: HA1
}

type user struct {
	hash      hashed
	roles     []string
	abilities map[string]bool
}

type role struct {
	abilities []string
	line      int
}

// ParseError is an error in an auth.txt line.
type ParseError struct {
	File string // the name given to Parse
	Line int    // 1-based
	Msg  string // e.g. "user: missing password="
}

// Error returns "file:line: message".
func (e *ParseError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// Load reads and parses the auth.txt at path.
func Load(path string) (*Store, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	defer f.Close()
	return Parse(path, f)
}

// Parse reads an auth.txt from r; name is used in error messages
// ("auth.txt:7: user: missing password="). See the package documentation
// for the format.
func Parse(name string, r io.Reader) (*Store, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("auth: reading %s: %w", name, err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("auth: %s is larger than %d bytes", name, MaxFileSize)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a UTF-8 BOM from a Windows editor
	p := parser{
		file:      name,
		users:     map[string]*user{},
		userLines: map[string]int{},
		roles:     map[string]*role{},
	}
	for i, line := range bytes.Split(data, []byte("\n")) {
		if err := p.line(i+1, string(bytes.TrimSuffix(line, []byte("\r")))); err != nil {
			return nil, err
		}
	}
	return p.store(), nil
}

type parser struct {
	file      string
	users     map[string]*user
	userLines map[string]int
	roles     map[string]*role
}

func (p *parser) errorf(line int, format string, args ...any) error {
	return &ParseError{File: p.file, Line: line, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) line(n int, line string) error {
	for i := 0; i < len(line); i++ {
		if c := line[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return p.errorf(n, "control character %q at column %d", c, i+1)
		}
	}
	words := strings.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == '\t' })
	if len(words) == 0 || strings.HasPrefix(words[0], "#") {
		return nil
	}
	switch words[0] {
	case "route":
		return nil // route.txt's business; GoAhead accepts both in one file
	case "user":
		return p.user(n, words[1:])
	case "role":
		return p.role(n, words[1:])
	}
	return p.errorf(n, "unknown keyword %q (want user, role or route)", words[0])
}

// keyValues splits words into key=value pairs, allowing only keys in known.
func (p *parser) keyValues(n int, kind string, words []string, known ...string) (map[string]string, error) {
	kv := map[string]string{}
	for _, w := range words {
		k, v, ok := strings.Cut(w, "=")
		switch {
		case !ok:
			return nil, p.errorf(n, "%s: %q is not key=value", kind, w)
		case !slices.Contains(known, k):
			return nil, p.errorf(n, "%s: unknown key %q (want %s)", kind, k, strings.Join(known, "=, ")+"=")
		}
		if _, dup := kv[k]; dup {
			return nil, p.errorf(n, "%s: duplicate key %s=", kind, k)
		}
		if strings.Contains(v, `"`) {
			return nil, p.errorf(n, "%s: %s= contains '\"': auth.txt values are not quoted", kind, k)
		}
		kv[k] = v
	}
	return kv, nil
}

func (p *parser) user(n int, words []string) error {
	kv, err := p.keyValues(n, "user", words, "name", "password", "roles")
	if err != nil {
		return err
	}
	name := kv["name"]
	if name == "" {
		return p.errorf(n, "user: missing name=")
	}
	if err := checkUserName(name); err != nil {
		return p.errorf(n, "user: name=: %v", err)
	}
	if first, dup := p.userLines[name]; dup {
		return p.errorf(n, "user: duplicate user %q (first on line %d)", name, first)
	}
	if kv["password"] == "" {
		return p.errorf(n, "user: missing password=")
	}
	h, err := parseHash(kv["password"])
	if err != nil {
		return p.errorf(n, "user: password= of %q: %v", name, err)
	}
	p.userLines[name] = n
	p.users[name] = &user{hash: h, roles: splitList(kv["roles"], ",")}
	return nil
}

func (p *parser) role(n int, words []string) error {
	kv, err := p.keyValues(n, "role", words, "name", "abilities")
	if err != nil {
		return err
	}
	name := kv["name"]
	if name == "" {
		return p.errorf(n, "role: missing name=")
	}
	if r, dup := p.roles[name]; dup {
		return p.errorf(n, "role: duplicate role %q (first on line %d)", name, r.line)
	}
	// GoAhead's addOption splits abilities on ',' and '|' alike and skips
	// the word "none".
	abilities := slices.DeleteFunc(splitList(kv["abilities"], ",|"), func(a string) bool { return a == "none" })
	p.roles[name] = &role{abilities: abilities, line: n}
	return nil
}

// splitList splits s on any of seps, dropping empty items (gopass writes a
// trailing comma).
func splitList(s, seps string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(seps, r) })
}

// store computes every user's abilities and builds the Store.
func (p *parser) store() *Store {
	s := &Store{users: p.users}
	warned := map[string]bool{}
	warn := func(msg string) {
		if !warned[msg] {
			warned[msg] = true
			s.warnings = append(s.warnings, msg)
		}
	}
	cycles(p.roles, warn)
	byRoles := map[string]map[string]bool{} // users with the same roles= share abilities
	for _, u := range p.users {
		key := strings.Join(u.roles, ",")
		if byRoles[key] == nil {
			byRoles[key] = expand(p.roles, u.roles, warn)
		}
		u.abilities = byRoles[key]
		switch u.hash.kind {
		case kindMD5:
			s.hasMD5 = true
		case kindSHA256:
			s.hasSHA256 = true
		}
		if s.dummy == nil || u.hash.cost() > s.dummy.cost() {
			s.dummy = &u.hash
		}
	}
	slices.Sort(s.warnings)
	return s
}

// expand returns the abilities that names (a user's roles=) grant: names
// that are roles expand into their abilities= entries level by level, other
// names are abilities. As in GoAhead, nothing below MaxRoleDepth counts.
// Each role is expanded once, at the shallowest depth it is reached, so
// cycles end and the work is linear in the roles.
func expand(roles map[string]*role, names []string, warn func(string)) map[string]bool {
	out := map[string]bool{}
	seen := map[string]bool{}
	level := names
	for depth := 0; len(level) > 0; depth++ {
		if depth > MaxRoleDepth {
			warn(fmt.Sprintf("roles nest deeper than %d (%q is at depth %d); the deeper entries are ignored", MaxRoleDepth, level[0], depth))
			break
		}
		var next []string
		for _, n := range level {
			r, ok := roles[n]
			switch {
			case !ok:
				out[n] = true
			case !seen[n]:
				seen[n] = true
				next = append(next, r.abilities...)
			}
		}
		level = next
	}
	return out
}

// cycles reports each cycle among roles once, as "role cycle: a -> b -> a".
func cycles(roles map[string]*role, warn func(string)) {
	const (
		unvisited = iota
		onPath
		done
	)
	state := map[string]int{}
	var path []string
	var visit func(n string)
	visit = func(n string) {
		state[n] = onPath
		path = append(path, n)
		for _, a := range roles[n].abilities {
			if roles[a] == nil {
				continue
			}
			switch state[a] {
			case unvisited:
				visit(a)
			case onPath:
				i := slices.Index(path, a)
				warn("role cycle: " + strings.Join(append(slices.Clone(path[i:]), a), " -> "))
			}
		}
		path = path[:len(path)-1]
		state[n] = done
	}
	names := make([]string, 0, len(roles))
	for n := range roles {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if state[n] == unvisited {
			visit(n)
		}
	}
}

// checkUserName reports why name cannot be a user name: it must be
// non-empty, without ':' (Basic credentials and HA1 inputs are
// colon-separated), whitespace, '=', '"' or control characters.
func checkUserName(name string) error {
	if name == "" {
		return fmt.Errorf("empty user name")
	}
	if len(name) > maxNameLen {
		return fmt.Errorf("user name longer than %d bytes", maxNameLen)
	}
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case c <= ' ' || c == 0x7f:
			return fmt.Errorf("user name %q has a space or control character", name)
		case c == ':' || c == '=' || c == '"':
			return fmt.Errorf("user name %q has a %q", name, c)
		}
	}
	return nil
}

// maxNameLen bounds user names, in bytes.
const maxNameLen = 256

// Users returns the user names, sorted.
func (s *Store) Users() []string {
	if s == nil {
		return nil
	}
	names := make([]string, 0, len(s.users))
	for n := range s.users {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// HasUser reports whether the store has a user of that name.
func (s *Store) HasUser(name string) bool {
	return s != nil && s.users[name] != nil
}

// Abilities returns the abilities of a user, sorted; nil for an unknown
// user.
func (s *Store) Abilities(name string) []string {
	if !s.HasUser(name) {
		return nil
	}
	u := s.users[name]
	out := make([]string, 0, len(u.abilities))
	for a := range u.abilities {
		out = append(out, a)
	}
	slices.Sort(out)
	return out
}

// Can reports whether the user exists and has the abilities: any one of the
// alternatives, each requiring all of its abilities. nil or empty abilities
// require nothing beyond the user existing.
func (s *Store) Can(name string, abilities [][]string) bool {
	if !s.HasUser(name) {
		return false
	}
	if len(abilities) == 0 {
		return true
	}
	u := s.users[name]
	for _, all := range abilities {
		ok := true
		for _, a := range all {
			if !u.abilities[a] {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// Warnings lists what Parse accepted but a person should look at: role
// cycles and roles nested deeper than MaxRoleDepth.
func (s *Store) Warnings() []string {
	if s == nil {
		return nil
	}
	return slices.Clone(s.warnings)
}
