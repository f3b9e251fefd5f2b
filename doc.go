// Package vigil is an embedded web server for device web UIs (routers,
// appliances, gateways, admin consoles) that no peer can hang.
//
// # Architecture
//
// Arrows point down only:
//
//	cmd/vigil → config → vigil → {site, status} → httpd → governor
//	                               site → features (auth, static, jst, live, …)
//
// vigil and site import httpd and the features directly too; the governor,
// route and most features are leaves.
//
// The governor (package governor) sits at the bottom and imports nothing of
// ours, not even net/http. It is the only component that sees every
// connection from Accept to close, including connections that never produce
// a request (a stalled TLS handshake, a slowloris header), so the live
// connection table lives there and everything else reads it. It bounds every
// wait on a peer by progress, not by a total deadline:
//
//   - the request header by a total deadline (HeaderTimeout) from accept or
//     from the first byte after keep-alive idle;
//   - each read of a request body and each write of a response by
//     StallTimeout (no progress for that long cuts the connection), with an
//     optional minimum average rate and an optional hard cap; writes and
//     sendfile go out in 64 KiB chunks, and on Linux bytes the peer
//     acknowledges while a write is blocked count as progress, so a slow but
//     alive client finishes while a vanished or zero-window one is cut;
//   - keep-alive idle by IdleTimeout;
//   - the governor, not the kernel, judges a peer that sends nothing back:
//     alive but not reading (stall) or gone (dead-peer), from TCP_INFO; short
//     TCP keepalive finds an idle dead peer, and TCP_USER_TIMEOUT is set
//     only at a graceful close, to bound the orphan;
//   - every close caused by a stall, a timeout or a dead peer is abortive
//     (SO_LINGER 0): the peer, if still there, receives a RST, and no orphan
//     socket is left holding a send buffer;
//   - HTTP/2 connections are multiplexed: each stream has its own body and
//     response rules and is reset alone when one expires;
//   - every time kept is monotonic, so a wall clock that steps changes none;
//   - caps on connections, global and per IP, evict the oldest idle
//     keep-alive connection under pressure and refuse with a fast 503 when
//     nothing can be evicted.
//
// Package httpd runs net/http (HTTP/1.1 and HTTP/2; no parser of ours) on the
// governed listeners. It tells each connection where the HTTP exchange is
// (header parsed, body read to its end, idle, hijacked), applies per-route
// policy from package route, and bounds handlers: the handler timeout is the
// request context's deadline, and a handler still running a second after it
// has its connection cut and its goroutine stack logged.
//
// Package vigil assembles a Server from a Config: the governor, httpd and the
// content (a document root, an fs.FS, the embedded demo device UI of package
// demo, or an http.Handler); it is the embedding API and nothing else. With a
// GoAhead route.txt (package route) the content is behind package site, whose
// router sends each request through the matching rules, on the cleaned path:
// authentication and abilities (auth, session), then a handler: files
// (static), PUT and DELETE and uploads (upload), templates (tmpl), GoAhead
// JST/ASP pages (jst), CGI (cgi), actions and GoAhead 2.x /goform forms,
// WebSocket and server-sent event endpoints (live: alive by pong and by
// acknowledged writes, never by a total time), redirects. TLS listeners take
// their certificates from tlsconf. The admin endpoint serves package status
// (the live table, handlers in flight, metrics, pprof) on a governed
// listener of its own.
//
// One request's way down:
//
//	listener  governor.Listener admits the connection (caps, eviction, a
//	          fast 503) and returns a governor.Conn
//	governor  bounds every read and write on it by its phase's rule
//	          (header, body, response, idle), judged by progress
//	httpd     net/http parses it (TLS and, by ALPN, HTTP/2 on top); httpd
//	          tells the Conn where the exchange is, or opens a
//	          governor.Stream per HTTP/2 request, and bounds the body, the
//	          response and the handler with the route's policy
//	site      resolves the rule chain from one site snapshot: auth, then
//	          the rule's handler
//	handler   files, uploads, JST, CGI, actions, WebSocket, ...
//
// Package config declares every setting once (config.Settings: key, type,
// default, unit, doc, the phase it bounds, the options it reaches); the
// serve flags, the vigil.conf keys, vigil.conf.example and the README's
// table derive from it, and its tests check it against Config and the
// packages' options. cmd/vigil is the one binary: it takes its flags and
// vigil.conf from config, its password and certificate commands from auth
// and tlsconf, and assembles a Server.
//
// Package faultkit owns every fault scenario (cable pull in a network
// namespace, many at once, zero window, slowloris, slow body, reset
// mid-body and mid-response, floods from many source addresses, HTTP/2
// attacks, the replay set of bad inputs; over HTTP/1.1, TLS and HTTP/2) for
// tests, for the hangcheck command and for bench/attack, which only pick
// targets, call it and print. Serving code never depends on it, and the
// device build (-tags nohangcheck) compiles no hangcheck file.
// deps_test.go enforces these import rules, transitively.
//
// Build tags leave optional parts out for the smallest devices (README,
// "Small devices"): nometrics and nopprof (package status), nocgi (a
// handler=cgi rule then fails to load; site/handler_cgi_omit.go), notmpl (no
// html/template: handler=tmpl fails to load, JST stays), nohangcheck and
// Go's own nethttpomithttp2 (HTTP/1.1 only; package httpd).
package vigil
