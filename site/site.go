package site

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vigilhttp/vigil/auth"
	"github.com/vigilhttp/vigil/demo"
	"github.com/vigilhttp/vigil/jst"
	"github.com/vigilhttp/vigil/live"
	"github.com/vigilhttp/vigil/route"
	"github.com/vigilhttp/vigil/session"
	"github.com/vigilhttp/vigil/static"
	"github.com/vigilhttp/vigil/upload"
)

// Options are what a Site is made of. Paths are read by New and again by
// Reload.
type Options struct {
	// Route is the path of a GoAhead route.txt: routes, their handlers,
	// auth and abilities, and vigil's per-route limits; relative dir= are
	// resolved against its directory. Empty means the demo UI's routes
	// (demo.Routes), with the demo's actions, forms, page functions and
	// live feeds registered.
	Route string
	// Auth is the path of a GoAhead auth.txt: users and roles. Empty means
	// the user and role lines of Route, if any.
	Auth string
	// Realm is the authentication realm; empty means auth.DefaultRealm
	// (GoAhead's compiled-in "example.com", so existing MD5 hashes verify).
	Realm string

	// Content serves the file routes without dir=: a file server of Root
	// or FS (of the demo UI when both are empty), or the embedder's own
	// handler (then set ContentHandler).
	Content http.Handler
	// ContentHandler says Content is an embedder's http.Handler rather
	// than a file server: symbolic links under Root are then not looked
	// at, and without FS or Root a handler=jst rule needs dir=.
	ContentHandler bool
	// Root is the document root directory: where PUT and DELETE write,
	// where a handler=cgi rule without dir= finds cgi-bin/, and where the
	// pages of handler=jst and handler=tmpl rules without dir= are read
	// when FS is nil. Empty means none.
	Root string
	// FS, if set, is where the pages of handler=jst and handler=tmpl rules
	// without dir= are read, instead of Root; with neither, the demo UI's.
	FS fs.FS

	// UploadDir is where handler=upload routes put received files until
	// their action moves them; empty means the system's temporary
	// directory. With StoreUploads it is also where upload routes without
	// dir= keep them.
	UploadDir string
	// StoreUploads gives a handler=upload route that has no action (none
	// registered with Action under the path's last segment) one that
	// stores the received files, atomically, in the route's dir= or else
	// UploadDir, and answers 201. Without it such a request is a 404,
	// logged at Debug.
	StoreUploads bool
	// TemplateFuncs are the functions handler=tmpl pages may call: an
	// html/template.FuncMap (the field's type is its underlying map, so
	// that a build with -tags notmpl links no template engine).
	TemplateFuncs map[string]any

	// Hub, if set, is told of every WebSocket and event stream the
	// handler=websocket and handler=events rules open, so that its
	// Shutdown closes them.
	Hub *live.Hub
	// Logger receives the site's log; nil means discard.
	Logger *slog.Logger
}

// New loads the route and auth files of opts and builds the Site. Its
// errors name the file and line at fault; they carry no package prefix
// (the caller says what it was loading).
func New(opts Options) (*Site, error) {
	if opts.Realm == "" {
		opts.Realm = auth.DefaultRealm
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	log := opts.Logger
	rules, store, err := load(&opts)
	if err != nil {
		return nil, err
	}
	s := &Site{
		opts:    opts,
		cgiKids: newCGIBound(),
		forms:   map[string]http.Handler{},
		// The route's limit-body bounds an upload (httpd enforces it as
		// bytes arrive); the upload package's own caps are lifted to match.
		uploads:  upload.New(upload.Options{Dir: opts.UploadDir, MaxFileSize: 1 << 40, MaxRequestSize: 1 << 40, Logger: log}),
		putRoot:  opts.Root,
		fileRoot: fileRoot(&opts),
		sessions: session.New(session.Options{Logger: log}),
		files:    opts.Content,
		csrf:     http.NewCrossOriginProtection(),
		log:      log,
		actions:  map[string]http.Handler{},

		storeUploads: opts.StoreUploads,
		uploadDir:    opts.UploadDir,
	}
	s.live.hub = opts.Hub
	s.jst = newJSTPages(s.jstContent, log)
	st, err := newSnapshot(rules, opts.Root, s.jst, log, s.cgiKids)
	if err != nil {
		return nil, err
	}
	warnRules(log, rules)
	if i := slices.IndexFunc(rules.Rules, func(r route.Rule) bool { return r.Handler == "tmpl" }); i >= 0 {
		fsys := opts.FS
		if fsys == nil && opts.Root != "" {
			if fsys, err = static.Dir(opts.Root); err != nil {
				return nil, err
			}
		}
		if fsys == nil {
			fsys = demo.FS()
		}
		if s.pages, err = newPages(fsys, opts.TemplateFuncs, log); err != nil { // handler_tmpl.go
			if !tmplBuilt {
				return nil, fmt.Errorf("%s: %w", rules.Rules[i].Source, err)
			}
			return nil, err
		}
	}
	if store != nil {
		s.auth = auth.New(auth.Options{Store: store, Realm: opts.Realm, Sessions: s.sessions, Logger: log})
	}
	s.snap.Store(st)
	if opts.Route == "" {
		s.bindDemoUI() // demo.go
	}
	return s, nil
}

// load reads the route and auth files of opts.
func load(opts *Options) (*route.Rules, *auth.Store, error) {
	if opts.Route == "" {
		// The embedded demo UI's own routes.
		rules, err := route.ParseRules("demo route.txt", strings.NewReader(demo.Routes), Handlers)
		return rules, nil, err
	}
	rules, err := route.LoadRules(opts.Route, Handlers)
	if err != nil {
		return nil, nil, err
	}
	if err := resolveDirs(rules, filepath.Dir(opts.Route)); err != nil { // check.go
		return nil, nil, err
	}
	var store *auth.Store
	inRoute := strings.TrimSpace(rules.AuthText) != ""
	switch {
	case opts.Auth != "" && inRoute:
		return nil, nil, fmt.Errorf("%s has user or role lines and %s is given too: keep users in one file", opts.Route, opts.Auth)
	case opts.Auth != "":
		store, err = auth.Load(opts.Auth)
	case inRoute:
		store, err = auth.Parse(opts.Route, strings.NewReader(rules.AuthText))
	}
	if err != nil {
		return nil, nil, err
	}
	return rules, store, nil
}

// warnRules logs, at Warn, what route.Rules.Warnings finds: a later rule
// serving a method that an earlier guarding rule's methods= leaves out. So
// "vigil serve --check" shows it.
func warnRules(log *slog.Logger, rules *route.Rules) {
	for _, w := range rules.Warnings() {
		log.Warn("vigil: route: " + w)
	}
}

// fileRoot is the directory Content serves files from, or "" when it
// serves an fs.FS, the demo UI or a Handler.
func fileRoot(opts *Options) string {
	if opts.ContentHandler || opts.FS != nil {
		return ""
	}
	return opts.Root
}

// Reload re-reads the route and auth files and swaps them in whole. On any
// error nothing changes: the old routes and users keep serving. Requests
// already matched finish on the rules they were matched by.
func (s *Site) Reload() error {
	rules, store, err := load(&s.opts)
	if err != nil {
		return err
	}
	st, err := newSnapshot(rules, s.opts.Root, s.jst, s.log, s.cgiKids)
	if err != nil {
		return err
	}
	warnRules(s.log, rules)
	if store != nil {
		if s.auth == nil {
			return errors.New("users appeared; restart to enable authentication")
		}
		s.auth.SetStore(store)
	}
	s.snap.Store(st)
	// Pages are parsed again on their next request, as GoAhead's are
	// after a restart, even if a file kept its time and size.
	s.jst.reset()
	s.log.Info("vigil: reloaded", "route", s.opts.Route, "auth", s.opts.Auth, "rules", len(rules.Rules))
	return nil
}

// SetHTTPSPort gives the port of the first https:// listener, where
// redirect=https rules send requests (none given: the host's 443). Only the
// first call counts.
func (s *Site) SetHTTPSPort(port string) {
	s.httpsPort.CompareAndSwap(nil, &port)
}

// Action registers h as the action name. It runs on the handler=action or
// handler=upload rule that binds name (action=name, or a uri= whose last
// segment is name), under that rule's auth only; or, if no rule binds it,
// as /action/name under a dispatching rule (uri=/action or action=*). The
// built-in login, logout and csrf cannot be replaced.
func (s *Site) Action(name string, h http.Handler) error {
	if name == "login" || name == "logout" || name == "csrf" || name == "" || strings.Contains(name, "/") {
		return fmt.Errorf("action: %q is reserved or not a name", name)
	}
	s.action(name, h)
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
// field as websGetVar would.
func (s *Site) Form(name string, h http.Handler) error {
	if name == "" || strings.ContainsAny(name, "/*") {
		return fmt.Errorf("form: %q is not a name", name)
	}
	s.form(name, h)
	return nil
}

// JST binds name, for every handler=jst page, to fn (GoAhead's
// websDefineJst or websAspDefine; see jst.Call). A nil fn removes the
// binding. Bindings hold across reloads. It fails if name is not a
// JavaScript identifier.
func (s *Site) JST(name string, fn jst.Func) error {
	if !jsIdent(name) {
		return fmt.Errorf("jst: %q is not a JavaScript identifier", name)
	}
	s.jst.define(name, fn)
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
// pages from: Options.FS, else Options.Root, else, unless Content is the
// embedder's handler, the demo UI.
func (s *Site) jstContent() (fs.FS, error) {
	switch {
	case s.opts.FS != nil:
		return s.opts.FS, nil
	case s.opts.Root != "":
		fsys, err := static.Dir(s.opts.Root)
		if err != nil {
			return nil, fmt.Errorf("root: %w", err)
		}
		return fsys, nil
	case !s.opts.ContentHandler:
		return demo.FS(), nil
	}
	return nil, nil
}
