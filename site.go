package vigil

import (
	"errors"
	"fmt"
	"html"
	"io/fs"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vigilhttp/vigil/auth"
	"github.com/vigilhttp/vigil/demo"
	"github.com/vigilhttp/vigil/jst"
	"github.com/vigilhttp/vigil/route"
	"github.com/vigilhttp/vigil/session"
	"github.com/vigilhttp/vigil/static"
	"github.com/vigilhttp/vigil/tlsconf"
	"github.com/vigilhttp/vigil/upload"
)

// DefaultRealm is GoAhead's compiled-in realm, so that its MD5 hashes verify.
const DefaultRealm = "example.com"

// loadSite reads the route and auth files of cfg.
func loadSite(cfg *Config) (*route.Rules, *auth.Store, error) {
	if cfg.Route == "" {
		// The embedded demo UI's own routes.
		rules, err := route.ParseRules("demo route.txt", strings.NewReader(demo.Routes), Handlers)
		return rules, nil, err
	}
	rules, err := route.LoadRules(cfg.Route, Handlers)
	if err != nil {
		return nil, nil, err
	}
	if err := resolveDirs(rules, filepath.Dir(cfg.Route)); err != nil { // site_check.go
		return nil, nil, err
	}
	var store *auth.Store
	inRoute := strings.TrimSpace(rules.AuthText) != ""
	switch {
	case cfg.Auth != "" && inRoute:
		return nil, nil, fmt.Errorf("%s has user or role lines and %s is given too: keep users in one file", cfg.Route, cfg.Auth)
	case cfg.Auth != "":
		store, err = auth.Load(cfg.Auth)
	case inRoute:
		store, err = auth.Parse(cfg.Route, strings.NewReader(rules.AuthText))
	}
	if err != nil {
		return nil, nil, err
	}
	return rules, store, nil
}

// newRouter builds the route.txt router in front of files.
func (s *Server) newRouter(files http.Handler) (*router, error) {
	if s.cfg.Realm == "" {
		s.cfg.Realm = DefaultRealm
	}
	rules, store, err := loadSite(&s.cfg)
	if err != nil {
		return nil, fmt.Errorf("vigil: %w", err)
	}
	pages := newJSTPages(s.jstContent, s.log)
	st, err := newSite(rules, s.cfg.Root, pages, s.log, s.cgiChildren)
	if err != nil {
		return nil, fmt.Errorf("vigil: %w", err)
	}
	warnRules(s.log, rules)
	rt := &router{
		jst:   pages,
		forms: map[string]http.Handler{},
		// The route's limit-body bounds an upload (httpd enforces it as
		// bytes arrive); the upload package's own caps are lifted to match.
		uploads:  upload.New(upload.Options{Dir: s.cfg.UploadDir, MaxFileSize: 1 << 40, MaxRequestSize: 1 << 40, Logger: s.log}),
		putRoot:  s.cfg.Root,
		fileRoot: fileRoot(&s.cfg),
		sessions: session.New(session.Options{Logger: s.log}),
		files:    files,
		csrf:     http.NewCrossOriginProtection(),
		log:      s.log,
		actions:  map[string]http.Handler{},

		storeUploads: s.cfg.StoreUploads,
		uploadDir:    s.cfg.UploadDir,
	}
	if i := slices.IndexFunc(rules.Rules, func(r route.Rule) bool { return r.Handler == "tmpl" }); i >= 0 {
		fsys := s.cfg.FS
		if fsys == nil && s.cfg.Root != "" {
			if fsys, err = static.Dir(s.cfg.Root); err != nil {
				return nil, fmt.Errorf("vigil: %w", err)
			}
		}
		if fsys == nil {
			fsys = demo.FS()
		}
		if rt.pages, err = newPages(fsys, s.cfg.TemplateFuncs, s.log); err != nil { // handler_tmpl.go
			if !tmplBuilt {
				return nil, fmt.Errorf("vigil: %s: %w", rules.Rules[i].Source, err)
			}
			return nil, fmt.Errorf("vigil: %w", err)
		}
	}
	if store != nil {
		rt.auth = auth.New(auth.Options{Store: store, Realm: s.cfg.Realm, Sessions: rt.sessions, Logger: s.log})
	}
	rt.site.Store(st)
	return rt, nil
}

// warnRules logs, at Warn, what route.Rules.Warnings finds: a later rule
// serving a method that an earlier guarding rule's methods= leaves out. So
// "vigil serve --check" shows it.
func warnRules(log *slog.Logger, rules *route.Rules) {
	for _, w := range rules.Warnings() {
		log.Warn("vigil: route: " + w)
	}
}

// fileRoot is the directory the content handler serves files from, or ""
// when it serves an fs.FS, the demo UI or a Handler.
func fileRoot(cfg *Config) string {
	if cfg.Handler != nil || cfg.FS != nil {
		return ""
	}
	return cfg.Root
}

// Reload re-reads the route and auth files and swaps them in whole. On any
// error nothing changes: the old routes and users keep serving.
func (s *Server) Reload() error {
	if s.certs != nil {
		if err := s.certs.Reload(); err != nil {
			return fmt.Errorf("vigil: reload: tls: %w", err)
		}
	}
	if s.router == nil {
		return nil
	}
	rules, store, err := loadSite(&s.cfg)
	if err != nil {
		return fmt.Errorf("vigil: reload: %w", err)
	}
	st, err := newSite(rules, s.cfg.Root, s.router.jst, s.log, s.cgiChildren)
	if err != nil {
		return fmt.Errorf("vigil: reload: %w", err)
	}
	warnRules(s.log, rules)
	if store != nil {
		if s.router.auth == nil {
			return errors.New("vigil: reload: users appeared; restart to enable authentication")
		}
		s.router.auth.SetStore(store)
	}
	s.router.site.Store(st)
	// Pages are parsed again on their next request, as GoAhead's are
	// after a restart, even if a file kept its time and size.
	s.router.jst.reset()
	s.log.Info("vigil: reloaded", "route", s.cfg.Route, "auth", s.cfg.Auth, "rules", len(rules.Rules))
	return nil
}

// Action registers h as the action name. It runs on the handler=action or
// handler=upload rule that binds name (action=name, or a uri= whose last
// segment is name), under that rule's auth only; or, if no rule binds it,
// as /action/name under a dispatching rule (uri=/action or action=*). It
// fails without a route file.
func (s *Server) Action(name string, h http.Handler) error {
	if s.router == nil {
		return errors.New("vigil: action: no route file (actions are reached through handler=action routes)")
	}
	if name == "login" || name == "logout" || name == "csrf" || name == "" || strings.Contains(name, "/") {
		return fmt.Errorf("vigil: action: %q is reserved or not a name", name)
	}
	s.router.action(name, h)
	return nil
}

// Form registers h as the GoAhead 2.x form name (websFormDefine): it runs
// at /goform/name, on the handler=action (or handler=upload) rule that
// binds it (uri=/goform/name) or, if none does, under the dispatching rule
// "route uri=/goform handler=action", with that rule's auth and abilities
// only. Forms and actions are separate registries: a form is never reached
// through /action/, an action never through /goform/. Before h runs, the
// request's query and urlencoded body are parsed, the body within the
// rule's limit-body (over it: 413, and h does not run); FormVar reads a
// field as websGetVar would. It fails without a route file.
func (s *Server) Form(name string, h http.Handler) error {
	if s.router == nil {
		return errors.New("vigil: form: no route file (forms are reached through a /goform handler=action route)")
	}
	if name == "" || strings.ContainsAny(name, "/*") {
		return fmt.Errorf("vigil: form: %q is not a name", name)
	}
	s.router.form(name, h)
	return nil
}

// JST binds name, for every handler=jst page, to fn: GoAhead's
// websDefineJst (3.x) or websAspDefine (2.x). A page's
// <% name(1, "lanIp"); %> calls fn with a *jst.Call that carries the
// request (c.Request, c.Context()), the arguments as strings (c.Args,
// c.Arg(i)), and the page: c is an io.Writer (fmt.Fprintf(c, …)) that
// applies the route's escape= and the output bound, and c.Return(v) gives
// the call its value (jsSetResult). A non-nil error fails the page: 500 and
// a "file:line: name: err" log line. fn runs on the request's goroutine
// and must not keep c. A nil fn removes the binding. Bindings hold across
// reloads, and may be made before or after Start. It fails without a route
// file, or if name is not a JavaScript identifier.
func (s *Server) JST(name string, fn jst.Func) error {
	if s.router == nil {
		return errors.New("vigil: jst: no route file (pages are reached through handler=jst routes)")
	}
	if !jsIdent(name) {
		return fmt.Errorf("vigil: jst: %q is not a JavaScript identifier", name)
	}
	s.router.jst.define(name, fn)
	return nil
}

// jsIdent reports whether s is a JavaScript identifier as a page can call
// it ([A-Za-z_$][A-Za-z0-9_$]*); jst.Engine.Define panics on any other.
func jsIdent(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '_' && c != '$' && (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return s != ""
}

// jstContent opens the tree the handler=jst rules without dir= render
// pages from: Config.FS, else Config.Root, else, without a Handler, the
// demo UI.
func (s *Server) jstContent() (fs.FS, error) {
	switch {
	case s.cfg.FS != nil:
		return s.cfg.FS, nil
	case s.cfg.Root != "":
		fsys, err := static.Dir(s.cfg.Root)
		if err != nil {
			return nil, fmt.Errorf("root: %w", err)
		}
		return fsys, nil
	case s.cfg.Handler == nil:
		return demo.FS(), nil
	}
	return nil, nil
}

// SetPassword adds or replaces user's line in the auth.txt at path (created
// 0600 if missing), with a hash of password made by cipher: "bcrypt" (the
// default), "md5" (GoAhead's HA1 of user:realm:password, which digest
// authentication needs) or "blowfish" (GoAhead's BF1 format).
func SetPassword(path, cipher, realm, user, password string, roles []string) error {
	if realm == "" {
		realm = DefaultRealm
	}
	h, err := auth.MakePassword(cipher, user, realm, password)
	if err != nil {
		return fmt.Errorf("vigil: passwd: %w", err)
	}
	if err := auth.SetUser(path, user, h, roles); err != nil {
		return fmt.Errorf("vigil: passwd: %w", err)
	}
	return nil
}

// TLSFingerprint returns the SHA-256 fingerprint, as browsers show it, of
// the certificate in certFile or, if certFile is empty, of the device
// certificate in selfSignedDir (made there if missing).
func TLSFingerprint(certFile, selfSignedDir string) (string, error) {
	if certFile != "" {
		return tlsconf.Fingerprint(certFile)
	}
	c, err := tlsconf.Load(tlsconf.Options{SelfSignedDir: selfSignedDir})
	if err != nil {
		return "", err
	}
	return c.Fingerprint(), nil
}

// demoUpgrade is the demo UI's firmware upgrade action: it reports what it
// received (size, SHA-256) and flashes nothing; the temporary file is
// removed after it.
func demoUpgrade(w http.ResponseWriter, r *http.Request) {
	res := Uploaded(r)
	if res == nil || len(res.Files) != 1 {
		demo.Page(w, http.StatusBadRequest, "Firmware", "upgrade.html", "<h1>No image</h1><p>Choose exactly one firmware image.</p><p><a href=/upgrade.html>Back</a></p>")
		return
	}
	f := res.Files[0]
	if f.Size == 0 {
		demo.Page(w, http.StatusBadRequest, "Firmware", "upgrade.html", "<h1>Empty image</h1><p>"+html.EscapeString(f.ClientName)+
			" has no bytes: it cannot be a firmware image.</p><p><a href=/upgrade.html>Back</a></p>")
		return
	}
	demo.Page(w, http.StatusOK, "Firmware", "upgrade.html", fmt.Sprintf("<h1>Image received</h1>"+
		"<p>%s: %d bytes, SHA-256 <code>%s</code>.</p><p class=note>The demo does not flash images.</p><p><a href=/upgrade.html>Back</a></p>",
		html.EscapeString(f.ClientName), f.Size, f.SHA256))
}
