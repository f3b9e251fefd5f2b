package route

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DefaultMethods are the methods a route without methods= accepts, as in
// GoAhead.
var DefaultMethods = []string{"GET", "POST", "HEAD"}

// JSTExtensions are the extensions a handler=jst rule without extensions=
// covers: GoAhead 3's .jst pages and GoAhead 2.x's .asp pages.
var JSTExtensions = []string{"jst", "asp"}

// Rule is one line of a GoAhead route.txt: which requests it matches and
// what happens to them. Matching is by whole path segment on the cleaned,
// decoded path, never by raw string prefix.
type Rule struct {
	Prefix     string   // uri=, cleaned
	Protocol   string   // protocol=: "", "http" or "https"
	Methods    []string // methods=, upper case; DefaultMethods when not given
	Handler    string   // handler=; "file" when not given
	Extensions []string // extensions=, without dots; empty matches any
	// Abilities the user needs, as alternatives each requiring all of its
	// abilities: "a,b|c" is [[a b] [c]]. Empty: none.
	Abilities [][]string
	Auth      string // auth=: "", "basic", "digest" or "form"
	Dir       string // dir=
	// Redirects maps a response status to a URI (redirect=STATUS@URI);
	// status 0 stands for "*", any status. HTTPS is set by redirect=https.
	// RedirectOrder is the statuses in the order the file first gave them,
	// so that a handler=redirect rule with several picks the same one
	// every time: the first 3xx or "*".
	Redirects     map[int]string
	RedirectOrder []int
	HTTPS         bool
	Policy        Policy // vigil's extensions: limit-body=, stall-timeout=, …
	Source        string // "route.txt:12", for errors and logs

	// MethodsGiven is set when methods= was given. A rule that guards (auth=
	// or abilities=) without methods= guards every method: see Rules.
	MethodsGiven bool
	// Action is the one action a handler=action or handler=upload rule
	// runs: action=NAME if given, else the last segment of uri= (GoAhead's
	// /action/NAME). It is served at the rule's uri exactly; a path below
	// it is 404, never another action. Empty when Dispatch is set.
	Action string
	// Dispatch is set for a rule that serves the action registry itself:
	// uri=/action (GoAhead's default route) or action=*. It serves
	// PREFIX/NAME, exactly one segment below its uri, for an action that no
	// other rule binds: an action some rule binds runs only from that rule,
	// under that rule's auth.
	Dispatch bool
	// MaxParts caps the parts (files and fields) of a multipart body on a
	// handler=upload rule (limit-parts=); zero means the upload package's
	// default.
	MaxParts int
	// Forms is set for a handler=action or handler=upload rule at or under
	// /goform, GoAhead 2.x's prefix for forms: it runs the forms registered
	// with websFormDefine's counterpart (vigil's Server.Form), never an
	// action. uri=/goform alone dispatches /goform/NAME for the forms no
	// other rule binds, as uri=/action does for actions.
	Forms bool
	// EscapeHTML (escape=html, handler=jst only) HTML-escapes every value
	// a bound function or the request gives the page; escape=none, the
	// default, writes them raw, as GoAhead does.
	EscapeHTML bool
	// InlineErrors (errors=inline, handler=jst only) answers a page's
	// script error as GoAhead did: the output so far and its "Javascript
	// Error" text, status 200. errors=status, the default, answers 500.
	// The error is logged either way.
	InlineErrors bool
	// FollowSymlinks (symlinks=follow) lets a file rule serve a symbolic
	// link whose target lies under another rule or outside its own uri (but
	// never outside the document root). By default (symlinks=route) such a
	// link is 404.
	FollowSymlinks bool
	// Live is the WebSocket or event-stream settings of a handler=websocket
	// or handler=events rule (its endpoint's name is Action).
	Live Live
}

// Live is what a handler=websocket or handler=events rule says of its
// sockets. Zero fields take the defaults of package live.
type Live struct {
	// Ping is the interval of the server's pings (ping=); for an event
	// stream, of its heartbeat comment.
	Ping time.Duration
	// PongTimeout (pong-timeout=) is how long a WebSocket peer has to
	// answer a ping, or send any frame, before it is cut.
	PongTimeout time.Duration
	// MaxMessage (max-message=) caps a message from a WebSocket peer, in
	// bytes: a larger one is closed with 1009.
	MaxMessage int64
	// MaxConns (max-ws=) caps the sockets (or streams) open on the rule.
	MaxConns int
	// Origins (origins=a.example|*.b.example) are the other origins whose
	// pages may open a WebSocket; the Origin must otherwise match the host.
	Origins []string
}

// Guards reports whether the rule checks who asks: auth= or abilities=.
func (r *Rule) Guards() bool { return r.Auth != "" || len(r.Abilities) > 0 }

// Rules is an ordered route table from a route.txt: the first rule that
// matches a request decides, except that a rule with handler=continue
// applies its checks (auth, abilities) and lets matching go on.
type Rules struct {
	Rules []Rule
	// AuthText is the file's user and role lines, with every other line
	// blanked so that line numbers still hold: GoAhead accepts both kinds
	// in one file.
	AuthText string
}

// LoadRules reads a route.txt. handlers lists the handler names the server
// has; a rule naming another is an error.
func LoadRules(path string, handlers []string) (*Rules, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("route: %w", err)
	}
	defer f.Close()
	return ParseRules(path, f, handlers)
}

// maxLine bounds one line of a route file.
const maxLine = 64 << 10

// ParseRules parses route.txt syntax from r; name is used in errors
// ("name:line: key: problem").
func ParseRules(name string, r io.Reader, handlers []string) (*Rules, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxLine)
	var rs Rules
	var auth strings.Builder
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if i := strings.Index(text, "#"); i >= 0 {
			text = strings.TrimSpace(text[:i])
		}
		kind, rest, _ := strings.Cut(text, " ")
		switch kind {
		case "":
			auth.WriteString("\n")
			continue
		case "user", "role":
			auth.WriteString(sc.Text())
			auth.WriteString("\n")
			continue
		case "route":
		default:
			return nil, fmt.Errorf("%s:%d: unknown directive %q (want route, user or role)", name, line, kind)
		}
		auth.WriteString("\n")
		rule, err := parseRule(rest, handlers)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		rule.Source = name + ":" + strconv.Itoa(line)
		rs.Rules = append(rs.Rules, rule)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", name, line+1, err)
	}
	rs.AuthText = auth.String()
	return &rs, nil
}

func parseRule(s string, handlers []string) (Rule, error) {
	r := Rule{Handler: "file"}
	seen := map[string]bool{}
	for _, field := range strings.Fields(s) {
		key, val, ok := strings.Cut(field, "=")
		if !ok {
			return r, fmt.Errorf("%q: want key=value", field)
		}
		if seen[key] && key != "redirect" {
			return r, fmt.Errorf("%s: given twice", key)
		}
		seen[key] = true
		if err := r.set(key, val, handlers); err != nil {
			return r, fmt.Errorf("%s: %w", key, err)
		}
	}
	if !seen["uri"] {
		return r, fmt.Errorf("uri: missing")
	}
	r.MethodsGiven = r.Methods != nil
	if r.Methods == nil {
		r.Methods = DefaultMethods
	}
	live := r.Handler == "websocket" || r.Handler == "events"
	for _, k := range []string{"ping", "pong-timeout", "max-message", "max-ws", "origins"} {
		switch {
		case !seen[k] || r.Handler == "websocket":
		case r.Handler == "events" && (k == "ping" || k == "max-ws"):
		default:
			return r, fmt.Errorf("%s: only for handler=websocket%s", k, map[bool]string{true: " or handler=events"}[k == "ping" || k == "max-ws"])
		}
	}
	if live {
		// A long-lived endpoint: its liveness is the pong, the heartbeat
		// and the acknowledged write, never a total time.
		if !seen["handler-timeout"] {
			r.Policy.HandlerTimeout = -1
		}
		if !seen["min-rate"] {
			r.Policy.MinRate = -1
		}
		if !seen["transfer-timeout"] {
			r.Policy.TransferTimeout = -1
		}
	}
	if r.Handler == "jst" && r.Extensions == nil {
		// The pages only: the rest of the tree goes on to the later
		// rules (a file route for its style sheets and images).
		r.Extensions = JSTExtensions
	}
	for _, k := range []string{"escape", "errors"} {
		if seen[k] && r.Handler != "jst" {
			return r, fmt.Errorf("%s: only for handler=jst", k)
		}
	}
	base := strings.TrimSuffix(r.Prefix, "/")
	switch {
	case live && r.Action == "":
		r.Action = path.Base(strings.TrimSuffix(r.Prefix, "/"))
		if r.Action == "/" || r.Action == "." {
			return r, fmt.Errorf("uri: %q names no endpoint: give action=NAME", r.Prefix)
		}
	case live:
		if r.Action == "*" {
			return r, fmt.Errorf("action: handler=%s needs a name, not *", r.Handler)
		}
	case r.Handler != "action" && r.Handler != "upload":
		if seen["action"] {
			return r, fmt.Errorf("action: only for handler=action, upload, websocket or events")
		}
	case r.Action == "*":
		r.Action, r.Dispatch = "", true
	case r.Action == "" && (base == "/action" || base == "/goform"):
		// GoAhead's default "route uri=/action handler=action" and the
		// 2.x forms prefix "/goform": the registry, one segment below.
		r.Dispatch = true
	case r.Action == "":
		r.Action = path.Base(strings.TrimSuffix(r.Prefix, "/"))
		if r.Action == "/" || r.Action == "." {
			return r, fmt.Errorf("uri: %q names no action: give action=NAME or action=*", r.Prefix)
		}
	}
	r.Forms = (r.Handler == "action" || r.Handler == "upload") && Covers("/goform", r.Prefix)
	if seen["limit-parts"] && r.Handler != "upload" {
		return r, fmt.Errorf("limit-parts: only for handler=upload")
	}
	return r, nil
}

func (r *Rule) set(key, val string, handlers []string) error {
	var err error
	switch key {
	case "uri":
		if !strings.HasPrefix(val, "/") {
			return fmt.Errorf("%q must start with /", val)
		}
		r.Prefix = Clean(val)
	case "protocol":
		if val != "http" && val != "https" {
			return fmt.Errorf("%q: want http or https", val)
		}
		r.Protocol = val
	case "methods":
		for _, m := range strings.FieldsFunc(val, func(c rune) bool { return c == '|' || c == ',' }) {
			r.Methods = append(r.Methods, strings.ToUpper(m))
		}
		if len(r.Methods) == 0 {
			return fmt.Errorf("empty")
		}
	case "handler":
		if !slices.Contains(handlers, val) {
			return fmt.Errorf("%q is not a handler this server has (it has %s)", val, strings.Join(handlers, ", "))
		}
		r.Handler = val
	case "extensions":
		for _, e := range strings.FieldsFunc(val, func(c rune) bool { return c == '|' || c == ',' }) {
			r.Extensions = append(r.Extensions, strings.TrimPrefix(e, "."))
		}
	case "abilities":
		for _, alt := range strings.Split(val, "|") {
			var all []string
			for _, a := range strings.Split(alt, ",") {
				if a = strings.TrimSpace(a); a != "" {
					all = append(all, a)
				}
			}
			if len(all) > 0 {
				r.Abilities = append(r.Abilities, all)
			}
		}
	case "auth":
		if val != "basic" && val != "digest" && val != "form" {
			return fmt.Errorf("%q: want basic, digest or form", val)
		}
		r.Auth = val
	case "dir":
		r.Dir = val
	case "action":
		if val == "" || (val != "*" && strings.ContainsAny(val, "/*")) {
			return fmt.Errorf("%q: want a name (no /) or *", val)
		}
		r.Action = val
	case "limit-parts":
		n, perr := strconv.Atoi(val)
		if perr != nil || n <= 0 {
			return fmt.Errorf("%q: want a positive count", val)
		}
		r.MaxParts = n
	case "escape":
		switch val {
		case "html":
			r.EscapeHTML = true
		case "none":
			r.EscapeHTML = false
		default:
			return fmt.Errorf("%q: want html or none (the default)", val)
		}
	case "errors":
		switch val {
		case "inline":
			r.InlineErrors = true
		case "status":
			r.InlineErrors = false
		default:
			return fmt.Errorf("%q: want inline or status (the default)", val)
		}
	case "symlinks":
		switch val {
		case "follow":
			r.FollowSymlinks = true
		case "route":
			r.FollowSymlinks = false
		default:
			return fmt.Errorf("%q: want route (the default) or follow", val)
		}
	case "redirect":
		err = r.setRedirect(val)
	case "limit-body":
		r.Policy.BodyLimit, err = ParseSize(val)
	case "stall-timeout":
		r.Policy.StallTimeout, err = parseDuration(val)
	case "transfer-timeout":
		r.Policy.TransferTimeout, err = parseDuration(val)
	case "handler-timeout":
		r.Policy.HandlerTimeout, err = parseDuration(val)
	case "min-rate":
		r.Policy.MinRate, err = ParseSize(val)
	case "ping":
		r.Live.Ping, err = parsePositive(val)
	case "pong-timeout":
		r.Live.PongTimeout, err = parsePositive(val)
	case "max-message":
		r.Live.MaxMessage, err = ParseSize(val)
		if err == nil && r.Live.MaxMessage <= 0 {
			err = fmt.Errorf("%q: want a positive size", val)
		}
	case "max-ws":
		n, perr := strconv.Atoi(val)
		if perr != nil || n <= 0 {
			return fmt.Errorf("%q: want a positive count", val)
		}
		r.Live.MaxConns = n
	case "origins":
		for _, o := range strings.Split(val, "|") {
			if o = strings.TrimSpace(o); o != "" {
				r.Live.Origins = append(r.Live.Origins, o)
			}
		}
		if len(r.Live.Origins) == 0 {
			return fmt.Errorf("empty")
		}
	default:
		return fmt.Errorf("unknown key")
	}
	return err
}

func (r *Rule) setRedirect(val string) error {
	if val == "https" {
		r.HTTPS = true
		return nil
	}
	status, uri, ok := strings.Cut(val, "@")
	code := 0
	if !ok {
		uri = val
	} else if status != "*" {
		if status == "https" {
			r.HTTPS = true
			return nil
		}
		n, err := strconv.Atoi(status)
		if err != nil || n < 100 || n > 599 {
			return fmt.Errorf("%q: want STATUS@URI, *@URI, URI or https", val)
		}
		code = n
	}
	if uri == "" || (!strings.HasPrefix(uri, "/") && !strings.Contains(uri, "://")) {
		return fmt.Errorf("%q: the target must be a path or an absolute URL", val)
	}
	if r.Redirects == nil {
		r.Redirects = map[int]string{}
	}
	if _, seen := r.Redirects[code]; !seen {
		r.RedirectOrder = append(r.RedirectOrder, code)
	}
	r.Redirects[code] = uri
	return nil
}

// Redirect returns the redirect target for a response status, if any.
func (r *Rule) Redirect(status int) (string, bool) {
	if u, ok := r.Redirects[status]; ok {
		return u, true
	}
	u, ok := r.Redirects[0]
	return u, ok
}

// Matches reports whether the rule applies to a request with this method,
// cleaned path and scheme.
func (r *Rule) Matches(method, p string, tls bool) bool {
	return slices.Contains(r.Methods, method) && r.covers(p, "", tls)
}

// covers reports whether the rule applies, whatever the method, to the
// cleaned path base+suf (given in two parts so that a path the router
// derives, such as an index file or a .gz sibling, is never built).
func (r *Rule) covers(base, suf string, tls bool) bool {
	if !covers2(r.Prefix, base, suf) {
		return false
	}
	switch r.Protocol {
	case "http":
		if tls {
			return false
		}
	case "https":
		if !tls {
			return false
		}
	}
	if len(r.Extensions) > 0 {
		var ext string
		dot := false
		if i := strings.LastIndexByte(suf, '.'); i >= 0 {
			ext, dot = suf[i+1:], true
		} else {
			seg := base[strings.LastIndexByte(base, '/')+1:]
			if j := strings.LastIndexByte(seg, '.'); j >= 0 {
				ext, dot = seg[j+1:]+suf, true
			}
		}
		if !dot || !slices.Contains(r.Extensions, ext) {
			return false
		}
	}
	return true
}

// covers2 is Covers(prefix, base+suf) without building base+suf.
func covers2(prefix, base, suf string) bool {
	if suf == "" {
		return Covers(prefix, base)
	}
	prefix = strings.TrimSuffix(prefix, "/")
	n, nb := len(prefix), len(base)
	switch {
	case n == 0:
		return true
	case n > nb+len(suf):
		return false
	case n <= nb:
		if base[:n] != prefix {
			return false
		}
		if n < nb {
			return base[n] == '/'
		}
		return suf[0] == '/'
	}
	if prefix[:nb] != base || suf[:n-nb] != prefix[nb:] {
		return false
	}
	return n == nb+len(suf) || suf[n-nb] == '/'
}

// Lookup returns the rules a request goes through: those with
// handler=continue that match, then the first other rule that matches (the
// last element), or nil if none does.
//
// A rule that guards (auth= or abilities=) without methods= guards every
// method: for a method it does not handle it is still in the chain, before
// the rule that handles the request, so its checks apply. A guarding rule
// with methods= guards only those methods, on purpose (Warnings lists the
// later rules that then serve a method it leaves unguarded).
func (rs *Rules) Lookup(method, p string, tls bool) []*Rule {
	return rs.AppendChain(nil, method, p, tls)
}

// AppendChain appends to dst the rules Lookup returns and returns the
// result, or dst unchanged if no rule handles the request. Given a dst with
// room, on the caller's stack, it allocates nothing: the router calls it on
// every request.
func (rs *Rules) AppendChain(dst []*Rule, method, p string, tls bool) []*Rule {
	if rs == nil {
		return dst
	}
	return rs.appendChain(dst, method, Clean(p), "", tls)
}

// AppendServed is AppendChain for a file the request for the cleaned path p
// may be answered with instead of p itself, named p+suf: the index file of
// a directory (suf "index.html"), a precompressed sibling (suf ".gz"). The
// router admits the guards of that chain too, so that what is checked is
// what is served. It allocates nothing, as AppendChain.
func (rs *Rules) AppendServed(dst []*Rule, method, p, suf string, tls bool) []*Rule {
	if rs == nil {
		return dst
	}
	return rs.appendChain(dst, method, p, suf, tls)
}

func (rs *Rules) appendChain(dst []*Rule, method, base, suf string, tls bool) []*Rule {
	n := len(dst)
	for i := range rs.Rules {
		r := &rs.Rules[i]
		if !r.covers(base, suf, tls) {
			continue
		}
		if !slices.Contains(r.Methods, method) {
			if !r.MethodsGiven && r.Guards() {
				dst = append(dst, r) // guards this method too, handles it not
			}
			continue
		}
		dst = append(dst, r)
		if r.Handler != "continue" {
			return dst
		}
	}
	return dst[:n]
}

// Match returns the policy route of a request: the rule that handles it.
func (rs *Rules) Match(method, p string, tls bool) (*Rule, bool) {
	if rs == nil {
		return nil, false
	}
	// Lookup without building the chain: Match runs on every request.
	p = Clean(p)
	for i := range rs.Rules {
		r := &rs.Rules[i]
		if r.Handler != "continue" && r.Matches(method, p, tls) {
			return r, true
		}
	}
	return nil, false
}

// Guarded reports whether any rule guards (auth= or abilities=).
func (rs *Rules) Guarded() bool {
	if rs == nil {
		return false
	}
	return slices.ContainsFunc(rs.Rules, func(r Rule) bool { return r.Guards() })
}

// Warnings lists what a careful reader of the route file would want to
// know and the file cannot say: a guarding rule with methods= that leaves a
// method out, and a later rule that serves that method, unguarded, on a
// path the guarding rule covers. Each warning starts with the later rule's
// source ("route.txt:7: ...").
func (rs *Rules) Warnings() []string {
	if rs == nil {
		return nil
	}
	var out []string
	for i := range rs.Rules {
		g := &rs.Rules[i]
		if !g.Guards() || !g.MethodsGiven {
			continue
		}
		for j := i + 1; j < len(rs.Rules); j++ {
			l := &rs.Rules[j]
			if l.Guards() || l.Handler == "continue" || l.Handler == "redirect" || l.Handler == "options" {
				continue
			}
			if !Covers(g.Prefix, l.Prefix) && !Covers(l.Prefix, g.Prefix) {
				continue
			}
			var open []string
			for _, m := range l.Methods {
				if !slices.Contains(g.Methods, m) {
					open = append(open, m)
				}
			}
			if len(open) > 0 {
				out = append(out, fmt.Sprintf("%s: %s on %s is served without the auth of %s, whose methods= leaves %s out",
					l.Source, strings.Join(open, "|"), g.Prefix, g.Source, strings.Join(open, "|")))
			}
		}
	}
	return out
}

func parseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a duration like 30s", s)
	}
	return d, nil
}

// parsePositive parses a duration that must be more than zero.
func parsePositive(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a positive duration like 20s", s)
	}
	return d, nil
}
