package site

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/vigilhttp/vigil/auth"
	"github.com/vigilhttp/vigil/httpd"
	"github.com/vigilhttp/vigil/jst"
	"github.com/vigilhttp/vigil/route"
	"github.com/vigilhttp/vigil/session"
	"github.com/vigilhttp/vigil/static"
	"github.com/vigilhttp/vigil/upload"
)

// Handlers lists the route.txt handler names vigil has. A route.txt naming
// another fails to load.
var Handlers = []string{"file", "redirect", "continue", "action", "options", "upload", "tmpl", "cgi", "websocket", "events", "jst"}

// snapshot is what a route.txt and an auth.txt make: replaced whole on
// reload (Site.Reload), and the state Site.PolicyState gives httpd.
type snapshot struct {
	rules *route.Rules
	files map[string]http.Handler // file handler per dir= ("" = the root)
	cgis  map[*route.Rule]http.Handler
	// bound are the action names some rule binds (route.Rule.Action): a
	// dispatching rule (uri=/action) never runs them. boundForms are the
	// same for the forms of /goform rules (route.Rule.Forms).
	bound, boundForms map[string]bool
	// jst are the page engines of the handler=jst rules, by dir= ("" =
	// the content).
	jst map[string]*jst.Engine
	// guarded is set when some rule guards (auth= or abilities=): only then
	// are the files a file route may serve instead of the path (index, .gz
	// sibling, a symbolic link's target) matched too.
	guarded bool
	// real maps each directory files are served from (a dir=, or the
	// document root under "") to its path with symbolic links resolved.
	real map[string]string
}

// Site serves requests by GoAhead's route.txt rules: the first matching
// rule decides; rules with handler=continue on the way apply their auth and
// abilities first. It matches on the cleaned path and serves that path, so
// what was checked is what is served. Its methods are safe for concurrent
// use.
type Site struct {
	opts    Options                  // as New was given them, Realm and Logger defaulted
	snap    atomic.Pointer[snapshot] // the rules now served; swapped whole by Reload
	cgiKids *cgiBound                // bounds the CGI children of every handler=cgi rule together, across reloads
	uploads *upload.Handler
	pages   http.Handler // nil unless a rule says handler=tmpl (tmpl.Handler)
	putRoot string       // document root for PUT and DELETE; "" refuses them
	// fileRoot is the directory s.files serves, "" when it serves an
	// fs.FS or a Handler (no symbolic links to look at).
	fileRoot string
	// httpsPort is the port of the first https:// listener, for redirect=https.
	httpsPort atomic.Pointer[string]
	auth      *auth.Authenticator
	sessions  *session.Store
	files     http.Handler // the content for dir-less file routes
	csrf      *http.CrossOriginProtection
	log       *slog.Logger
	// storeUploads and uploadDir: Options.StoreUploads, Options.UploadDir
	// (check.go).
	storeUploads bool
	uploadDir    string

	// jst renders the handler=jst pages with the functions of Site.JST.
	jst *jstPages

	mu      sync.RWMutex // guards actions and forms
	actions map[string]http.Handler
	live    lives                   // WebSocket and event stream endpoints (live.go)
	forms   map[string]http.Handler // Site.Form: run only by /goform rules
}

// Site is what httpd asks for a request's policy and serves it from.
var _ httpd.StatePolicies = (*Site)(nil)

// Policy gives httpd the policy of the rule that handles r, its name (the
// rule's file:line) and whether a rule matched (httpd.Policies).
func (s *Site) Policy(r *http.Request) (route.Policy, string, bool) {
	return s.snap.Load().rules.Policy(r)
}

// PolicyState is Policy with the site snapshot the policy came from, which
// ServeHTTP then serves the request from (httpd.StatePolicies): a reload
// between the two cannot give a request one route.txt's limits and
// another's handler.
func (s *Site) PolicyState(r *http.Request) (route.Policy, string, bool, any) {
	st := s.snap.Load()
	p, name, ok := st.rules.Policy(r)
	return p, name, ok, st
}

// current returns the snapshot r is to be served from: the one its policy
// came from, else the current one.
func (s *Site) current(r *http.Request) *snapshot {
	if st, ok := httpd.StateFrom(r.Context()).(*snapshot); ok {
		return st
	}
	return s.snap.Load()
}

// lookupAction returns the action registered as name, or nil.
func (s *Site) lookupAction(name string) http.Handler {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.actions[name]
}

// action registers h as /action/name.
func (s *Site) action(name string, h http.Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.actions[name] = h
}

// form registers h as /goform/name.
func (s *Site) form(name string, h http.Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forms[name] = h
}

// ServeHTTP serves r by the rule chain that matches its cleaned path, from
// the snapshot its policy came from (see PolicyState).
func (s *Site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, "\x00\\") {
		http.Error(w, "400 bad request", http.StatusBadRequest)
		return
	}
	clean := route.Clean(p)
	if clean != p {
		// Serve exactly what was matched: a copy with the cleaned path.
		r2 := *r
		u := *r.URL
		u.Path, u.RawPath = clean, ""
		r2.URL = &u
		r = &r2
	}
	st := s.current(r)
	// The handler=continue rules that match, then the handling rule: found
	// in one pass, into room on this stack (a chain longer than it
	// allocates).
	var room [8]*route.Rule
	chain := st.rules.AppendChain(room[:0], r.Method, clean, r.TLS != nil)
	if len(chain) == 0 {
		s.noRoute(w, r, st, clean)
		return
	}
	final := chain[len(chain)-1]
	get := r.Method == http.MethodGet || r.Method == http.MethodHead
	if final.Handler == "file" && get && st.guarded {
		// What is checked is what is served: the index file or .gz
		// sibling the file handler may answer with passes its own rules.
		chain = servedGuards(st, chain, r.Method, clean, r.TLS != nil)
	}
	for _, rule := range chain {
		if !s.admit(w, r, rule) {
			return
		}
	}
	if (final.Handler == "file" && get || final.Handler == "jst") && !final.FollowSymlinks && !s.linksStay(r, st, chain, clean) {
		http.NotFound(w, r)
		return
	}
	switch final.Handler {
	case "redirect":
		s.redirect(w, r, final)
	case "options":
		s.options(w, r, st, clean)
	case "action":
		if final.Forms {
			s.serveForm(w, r, st, final, clean) // handler_form.go
			return
		}
		s.serveAction(w, r, st, final, clean)
	case "jst":
		s.serveJST(w, r, st, final, clean) // handler_jst.go
	case "upload":
		s.serveUpload(w, r, st, final, clean)
	case "cgi":
		st.cgis[final].ServeHTTP(w, r)
	case "websocket", "events":
		s.serveLive(w, r, final)
	case "tmpl":
		if s.pages == nil {
			s.log.Error("vigil: handler=tmpl added by a reload; restart to load templates", "route", final.Source)
			http.Error(w, "500 internal server error", http.StatusInternalServerError)
			return
		}
		s.pages.ServeHTTP(w, r)
	default:
		if r.Method == http.MethodPut || r.Method == http.MethodDelete {
			s.putDelete(w, r, final)
			return
		}
		h := st.files[final.Dir]
		if h == nil {
			h = s.files
		}
		h.ServeHTTP(w, r)
	}
}

// putDelete serves PUT and DELETE on file routes that allow them: written
// beside the target and renamed (201 new, 204 replaced), refused outside
// the route's directory.
func (s *Site) putDelete(w http.ResponseWriter, r *http.Request, rule *route.Rule) {
	root := rule.Dir
	if root == "" {
		root = s.putRoot
	}
	if root == "" {
		http.Error(w, "405 method not allowed: no writable document root", http.StatusMethodNotAllowed)
		return
	}
	(&upload.PutDelete{Root: root, MaxSize: rule.Policy.BodyLimit, Logger: s.log}).ServeHTTP(w, r)
}

type uploadKey struct{}

// Uploaded returns the files and fields a handler=upload route received,
// for the action it hands them to; nil elsewhere.
func Uploaded(r *http.Request) *upload.Result {
	res, _ := r.Context().Value(uploadKey{}).(*upload.Result)
	return res
}

// serveUpload receives a multipart (or raw) body into temporary files, then
// runs the one action the rule binds (see actionName) with the result in
// the request (see Uploaded), or, with none registered, stores the files
// in the rule's upload directory (Options.StoreUploads). Authorization has
// been checked before any of the body is read. The temporary files are
// removed after the action: it must move (upload.MoveTo) what it keeps.
func (s *Site) serveUpload(w http.ResponseWriter, r *http.Request, st *snapshot, rule *route.Rule, clean string) {
	var h http.Handler
	name := actionName(st, rule, clean)
	if name != "" {
		h = s.lookupFor(rule, name)
	}
	if h == nil && s.storeUploads {
		if dir := s.uploadStore(rule); dir != "" {
			h = s.storeFiles(dir, rule)
		}
	}
	if h == nil {
		what := "action"
		if rule.Forms {
			what = "form"
		}
		s.unserved(w, r, rule, http.StatusNotFound, fmt.Sprintf("handler=upload: no %s %q registered and nowhere to store files", what, name))
		return
	}
	res, err := s.uploads.WithMaxParts(rule.MaxParts).Receive(w, r)
	if err != nil {
		code := upload.Status(err)
		if code == 0 {
			// The body ended early (the peer half-closed, reset or
			// stalled): never an answer that looks like success.
			code = http.StatusBadRequest
		}
		s.log.Info("vigil: upload refused", "path", clean, "route", rule.Source, "status", code, "err", err)
		http.Error(w, fmt.Sprintf("%d %s", code, http.StatusText(code)), code)
		return
	}
	defer res.Remove()
	h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), uploadKey{}, res)))
}

// actionName returns the action rule runs for the cleaned path clean, or ""
// (404). A rule that binds an action (route.Rule.Action) runs it at its uri
// exactly: a path below it never selects another action. A dispatching rule
// (uri=/action) runs PREFIX/NAME for an action no other rule binds, so an
// action some rule guards is reached only through that rule.
func actionName(st *snapshot, rule *route.Rule, clean string) string {
	rest := strings.Trim(strings.TrimPrefix(clean, strings.TrimSuffix(rule.Prefix, "/")), "/")
	if !rule.Dispatch {
		if rest != "" {
			return ""
		}
		return rule.Action
	}
	bound := st.bound
	if rule.Forms {
		bound = st.boundForms
	}
	if rest == "" || strings.Contains(rest, "/") || bound[rest] {
		return ""
	}
	return rest
}

// admit applies rule's checks: authentication, abilities and, for state
// changing requests on authenticated routes, cross-origin protection and the
// session's CSRF token. It answers and returns false when the request may
// not go on.
func (s *Site) admit(w http.ResponseWriter, r *http.Request, rule *route.Rule) bool {
	if rule.Auth == "" && len(rule.Abilities) == 0 {
		return true
	}
	if s.auth == nil {
		s.log.Error("vigil: route needs auth but no auth.txt is loaded", "route", rule.Source)
		http.Error(w, "403 forbidden", http.StatusForbidden)
		return false
	}
	if isUnsafe(r.Method) {
		if err := s.csrf.Check(r); err != nil {
			http.Error(w, "403 cross-origin request refused", http.StatusForbidden)
			return false
		}
	}
	_, inSession := s.sessions.User(r)
	if rule.Auth == "form" && !inSession {
		if to, ok := rule.Redirect(http.StatusUnauthorized); ok {
			http.Redirect(w, r, to, http.StatusFound)
			return false
		}
	}
	d := s.auth.Authorize(r, rule.Auth, rule.Abilities)
	if !d.OK() {
		d.Write(w)
		return false
	}
	if isUnsafe(r.Method) && d.Session && !s.sessionIntent(r) {
		http.Error(w, "403 missing or wrong CSRF token", http.StatusForbidden)
		return false
	}
	return true
}

// sessionIntent reports whether a state-changing request that only a
// session cookie authenticates shows that the user meant it: a browser
// sending Fetch metadata or Origin has passed CrossOriginProtection already;
// an old browser sending neither must carry the session's CSRF token. Any
// Authorization header the request carries changes nothing: the session
// authenticated it.
func (s *Site) sessionIntent(r *http.Request) bool {
	if r.Header.Get("Sec-Fetch-Site") != "" || r.Header.Get("Origin") != "" {
		return true
	}
	return s.sessions.CheckCSRF(r)
}

func isUnsafe(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, "TRACE":
		return false
	}
	return true
}

// noRoute answers a request no rule matches: 405 if rules cover the path
// for other methods, else 404.
func (s *Site) noRoute(w http.ResponseWriter, r *http.Request, st *snapshot, clean string) {
	if allow := allowedMethods(st, clean, r.TLS != nil); len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		s.log.Debug("vigil: request not served", "rule", "-", "method", r.Method, "path", clean, "status", http.StatusMethodNotAllowed, "reason", "no rule for this method")
		http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
		return
	}
	s.unserved(w, r, nil, http.StatusNotFound, "no rule matches")
}

// allowedMethods lists the methods some rule accepts for the path.
func allowedMethods(st *snapshot, clean string, tls bool) []string {
	var out []string
	for _, m := range []string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"} {
		if len(st.rules.Lookup(m, clean, tls)) > 0 {
			out = append(out, m)
		}
	}
	return out
}

// redirect serves handler=redirect: to HTTPS for redirect=https, else to the
// rule's target, with its 3xx status if it names one.
func (s *Site) redirect(w http.ResponseWriter, r *http.Request, rule *route.Rule) {
	if rule.HTTPS {
		host := hostOnly(r.Host)
		if p := s.httpsPort.Load(); p != nil && *p != "443" {
			host = net.JoinHostPort(strings.Trim(host, "[]"), *p)
		}
		http.Redirect(w, r, "https://"+host+r.URL.RequestURI(), http.StatusMovedPermanently)
		return
	}
	for _, status := range rule.RedirectOrder { // file order: the same target every time
		to := rule.Redirects[status]
		if status >= 300 && status < 400 {
			http.Redirect(w, r, to, status)
			return
		}
		if status == 0 {
			http.Redirect(w, r, to, http.StatusFound)
			return
		}
	}
	s.unserved(w, r, rule, http.StatusNotFound, "handler=redirect without a redirect= target")
}

// hostOnly returns the host of a Host header without a port, refusing
// anything that is not a plain host name or address (GoAhead's huge-Host
// redirect overflow, CVE-2019-19240, came through here).
func hostOnly(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
		if strings.Contains(h, ":") {
			h = "[" + h + "]" // an IPv6 literal, bracketed again
		}
	}
	if len(h) == 0 || len(h) > 255 || strings.ContainsAny(h, "/\\@?#% \t\r\n") {
		return "localhost"
	}
	return h
}

// options serves handler=options: OPTIONS lists the allowed methods, TRACE
// is refused (it would echo the request, credentials included).
func (s *Site) options(w http.ResponseWriter, r *http.Request, st *snapshot, clean string) {
	if r.Method != http.MethodOptions {
		w.Header().Set("Allow", "OPTIONS")
		http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
		return
	}
	allow := slices.DeleteFunc(allowedMethods(st, clean, r.TLS != nil), func(m string) bool { return m == "TRACE" })
	w.Header().Set("Allow", strings.Join(allow, ", "))
	w.WriteHeader(http.StatusNoContent)
}

// serveAction runs the one action the rule binds (see actionName): the
// built-in login, logout and csrf, or an action the program registered; its
// status picks the rule's redirect=STATUS@URI.
func (s *Site) serveAction(w http.ResponseWriter, r *http.Request, st *snapshot, rule *route.Rule, clean string) {
	name := actionName(st, rule, clean)
	status := 0
	switch name {
	case "":
		http.NotFound(w, r)
		return
	case "login":
		if s.auth == nil {
			http.Error(w, "404 page not found", http.StatusNotFound)
			return
		}
		if err := s.csrf.Check(r); err != nil {
			http.Error(w, "403 cross-origin request refused", http.StatusForbidden)
			return
		}
		_, status = s.auth.FormLogin(w, r)
	case "logout":
		// A logout changes state: POST only, from this origin, and from an
		// old browser with the session's CSRF token (a cross-site page must
		// not end the user's session).
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if err := s.csrf.Check(r); err != nil {
			http.Error(w, "403 cross-origin request refused", http.StatusForbidden)
			return
		}
		if _, in := s.sessions.User(r); in && !s.sessionIntent(r) {
			http.Error(w, "403 missing or wrong CSRF token", http.StatusForbidden)
			return
		}
		s.sessions.Logout(w, r)
		status = http.StatusOK
	case "csrf":
		// The session's CSRF token, for pages that post forms from
		// browsers sending neither Sec-Fetch-Site nor Origin. Same-origin
		// scripts can read it; other origins cannot (no CORS headers).
		tok := s.sessions.CSRFToken(r)
		if tok == "" {
			http.Error(w, "401 not logged in", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprintf(w, "{\"csrf_token\":%q}\n", tok)
		return
	default:
		h := s.lookupAction(name)
		if h == nil {
			s.unserved(w, r, rule, http.StatusNotFound, fmt.Sprintf("no action %q registered", name))
			return
		}
		h.ServeHTTP(w, r)
		return
	}
	if status == http.StatusTooManyRequests {
		return // FormLogin answered already, with Retry-After
	}
	if to, ok := rule.Redirect(status); ok {
		http.Redirect(w, r, to, http.StatusFound)
		return
	}
	switch status {
	case http.StatusOK:
		w.WriteHeader(http.StatusNoContent)
	default:
		http.Error(w, fmt.Sprintf("%d invalid credentials", status), status)
	}
}

// newSnapshot builds a snapshot from rules: a file handler per distinct dir=, a CGI
// host per cgi rule (programs in DIR/cgi-bin, DIR the rule's dir= or root),
// a page engine of pages per handler=jst dir=.
func newSnapshot(rules *route.Rules, root string, pages *jstPages, log *slog.Logger, children *cgiBound) (*snapshot, error) {
	st := &snapshot{rules: rules, files: map[string]http.Handler{}, cgis: map[*route.Rule]http.Handler{},
		bound: map[string]bool{}, boundForms: map[string]bool{}, jst: map[string]*jst.Engine{},
		guarded: rules.Guarded(), real: map[string]string{}}
	for i := range rules.Rules {
		r := &rules.Rules[i]
		switch {
		case r.Action != "" && r.Forms:
			st.boundForms[r.Action] = true
		case r.Action != "":
			st.bound[r.Action] = true
		}
		if r.Handler == "jst" && st.jst[r.Dir] == nil {
			e, err := pages.engine(r.Dir)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", r.Source, err)
			}
			st.jst[r.Dir] = e
		}
		if r.Handler != "cgi" {
			continue
		}
		dir := r.Dir
		if dir == "" {
			dir = root
		}
		if dir == "" {
			return nil, fmt.Errorf("%s: handler=cgi needs dir= or a document root", r.Source)
		}
		// The child's run time ends a little before the handler's deadline, so
		// that a child that overruns is a 502 from the CGI host, with its
		// reason logged, rather than a bare handler timeout.
		h, err := newCGI(dir, r.Prefix, r.Policy.HandlerTimeout*9/10, log, children) // handler_cgi.go; an error with -tags nocgi
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.Source, err)
		}
		st.cgis[r] = cgiNotFound(h, r, dir, log)
	}
	for _, r := range rules.Rules {
		if r.Handler != "file" || r.Dir == "" || st.files[r.Dir] != nil {
			continue
		}
		fsys, err := static.Dir(r.Dir)
		if err != nil {
			return nil, fmt.Errorf("%s: dir: %w", r.Source, err)
		}
		st.files[r.Dir] = static.New(fsys, static.Options{Logger: log})
	}
	for _, r := range rules.Rules {
		dir := r.Dir
		if r.Handler != "file" && r.Handler != "jst" {
			continue
		}
		if dir == "" {
			dir = root
		}
		if _, ok := st.real[r.Dir]; ok || dir == "" {
			continue
		}
		real, err := filepath.EvalSymlinks(dir)
		if err != nil {
			return nil, fmt.Errorf("%s: dir: %w", r.Source, err)
		}
		if real, err = filepath.Abs(real); err != nil {
			return nil, fmt.Errorf("%s: dir: %w", r.Source, err)
		}
		st.real[r.Dir] = real
	}
	return st, nil
}
