// Package site is the GoAhead site of a vigil Server: a route.txt and an
// auth.txt made into a router that sends each request, on its cleaned
// path, through the matching rules (authentication and abilities, then a
// handler) and serves exactly the path it checked.
//
// It owns the rules → handlers glue: files and PUT/DELETE (static,
// upload), uploads handed to actions, GoAhead 2.x /goform forms, the
// built-in login, logout and csrf actions (auth, session), JST/ASP pages
// (jst), html/template pages (tmpl), CGI (cgi), WebSocket and event stream
// endpoints (live) and redirects; the site snapshot, which Reload replaces
// whole and which httpd hands back to ServeHTTP (Site implements
// httpd.StatePolicies), so that a reload between a request's policy and
// its handler cannot mix two route tables; and Check, which names each
// rule that cannot work as configured.
//
// A Site is an http.Handler behind httpd: it does not listen, and the
// limits of a rule (limit-body, handler-timeout, …) are enforced by httpd
// from the Policy the Site gives it. Package site imports the feature
// packages, route, httpd, governor (a stream's connection) and demo; it
// must not import the root package vigil, which assembles it, nor
// faultkit, net/http/httptest or testing (deps_test.go).
//
// Build tags leave parts out: nocgi (a handler=cgi rule then fails to
// load; handler_cgi_omit.go) and notmpl (no html/template: a handler=tmpl
// rule fails to load; JST pages stay).
package site
