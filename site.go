package vigil

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/vigilhttp/vigil/auth"
	"github.com/vigilhttp/vigil/governor"
	"github.com/vigilhttp/vigil/httpd"
	"github.com/vigilhttp/vigil/jst"
	"github.com/vigilhttp/vigil/live"
	"github.com/vigilhttp/vigil/site"
	"github.com/vigilhttp/vigil/upload"
)

// The embedding API of the route.txt site (package site): what a program
// registers for its routes, and Reload and Check.

// DefaultRealm is the authentication realm when Config names none:
// GoAhead's compiled-in realm, so that its MD5 hashes verify.
const DefaultRealm = auth.DefaultRealm

// Reload re-reads the TLS certificate files and the route and auth files,
// and swaps them in whole. On any error nothing changes: the old routes and
// users keep serving.
func (s *Server) Reload() error {
	if s.certs != nil {
		if err := s.certs.Reload(); err != nil {
			return fmt.Errorf("vigil: reload: tls: %w", err)
		}
	}
	if s.site == nil {
		return nil
	}
	if err := s.site.Reload(); err != nil {
		return fmt.Errorf("vigil: reload: %w", err)
	}
	return nil
}

// Check reports every route.txt rule whose handler cannot work as
// configured, one error per rule (errors.Join), each starting with the
// rule's file:line: a CGI rule without its programs directory, an upload
// rule with no action and nowhere to store files, an action rule naming an
// action nobody registered, a redirect without a target, a route needing
// users when there are none, PUT or DELETE with no directory to write. Call
// it after registering actions.
func (s *Server) Check() error {
	if s.site == nil {
		return nil
	}
	return s.site.Check()
}

// Action registers h as the action name. It runs on the handler=action or
// handler=upload rule that binds name (action=name, or a uri= whose last
// segment is name), under that rule's auth only; or, if no rule binds it,
// as /action/name under a dispatching rule (uri=/action or action=*). It
// fails without a route file.
func (s *Server) Action(name string, h http.Handler) error {
	if s.site == nil {
		return errors.New("vigil: action: no route file (actions are reached through handler=action routes)")
	}
	return vigilErr(s.site.Action(name, h))
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
	if s.site == nil {
		return errors.New("vigil: form: no route file (forms are reached through a /goform handler=action route)")
	}
	return vigilErr(s.site.Form(name, h))
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
	if s.site == nil {
		return errors.New("vigil: jst: no route file (pages are reached through handler=jst routes)")
	}
	return vigilErr(s.site.JST(name, fn))
}

// WebSocket registers fn as the WebSocket endpoint name: it serves the
// handler=websocket rules that name it (action=name, or a uri= whose last
// segment is name), with their auth and abilities, their Origin check
// (the page's origin must be the host's, or one of origins=) and their
// ping=, pong-timeout=, max-message= and max-ws=. It fails without a
// route file. For a handler of your own, see WebSocketHandler.
func (s *Server) WebSocket(name string, fn live.Handler) error {
	if s.site == nil {
		return errors.New("vigil: websocket: no route file (sockets are reached through handler=websocket routes)")
	}
	return vigilErr(s.site.WebSocket(name, fn))
}

// Events registers fn as the event stream endpoint name, served on the
// handler=events rules that name it, like WebSocket; ping= is the
// heartbeat interval there.
func (s *Server) Events(name string, fn live.StreamHandler) error {
	if s.site == nil {
		return errors.New("vigil: events: no route file (streams are reached through handler=events routes)")
	}
	return vigilErr(s.site.Events(name, fn))
}

// vigilErr prefixes a registration error of package site with the
// package's name, as the Server's other errors are.
func vigilErr(err error) error {
	if err != nil {
		return fmt.Errorf("vigil: %w", err)
	}
	return nil
}

// WebSocketHandler returns fn as an http.Handler, for a Config.Handler of
// your own: the socket is governed as on a handler=websocket route, and
// Shutdown sends it close 1001. opts.Hub is the Server's.
func (s *Server) WebSocketHandler(fn live.Handler, opts live.Options) http.Handler {
	opts.Hub = &s.hub
	if opts.Logger == nil {
		opts.Logger = s.log
	}
	return live.WebSocket(fn, opts)
}

// SSE starts a server-sent event stream on w, for a handler of your own
// (an action, or a Config.Handler): it shows in the connection table with
// phase stream, and Shutdown ends it. Close it before the handler returns.
// Its route should have no handler timeout (handler-timeout= negative, or
// a handler=events rule, which Events serves).
func (s *Server) SSE(w http.ResponseWriter, r *http.Request, opts live.StreamOptions) (*live.Stream, error) {
	opts.Hub = &s.hub
	if opts.Conn == nil {
		opts.Conn = func(r *http.Request) *governor.Conn { return httpd.ConnFrom(r.Context()) }
	}
	if opts.Logger == nil {
		opts.Logger = s.log
	}
	return live.NewStream(w, r, opts)
}

// Uploaded returns the files and fields a handler=upload route received,
// for the action it hands them to; nil elsewhere.
func Uploaded(r *http.Request) *upload.Result { return site.Uploaded(r) }

// FormVar returns the form field name of r as GoAhead's websGetVar(wp, name,
// def) returns it: def if the field is in neither the query nor a
// urlencoded body, else its values, those of the query first, joined with
// a space (GoAhead's websSetVar appends a repeated field so). A form run by
// a /goform rule has its fields parsed already, within the rule's
// limit-body; elsewhere FormVar parses them (http.Request.ParseForm) and
// an unreadable body counts as no fields.
func FormVar(r *http.Request, name, def string) string { return site.FormVar(r, name, def) }
