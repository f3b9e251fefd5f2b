package site

import (
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/vigilhttp/vigil/governor"
	"github.com/vigilhttp/vigil/httpd"
	"github.com/vigilhttp/vigil/live"
	"github.com/vigilhttp/vigil/route"
)

// lives is the router's long-lived endpoints: the WebSocket and event
// stream handlers registered by name, and the endpoint made for each rule
// that serves one (its socket count is the rule's max-ws).
type lives struct {
	hub *live.Hub

	mu        sync.Mutex // guards the maps
	sockets   map[string]live.Handler
	streams   map[string]live.StreamHandler
	endpoints map[*route.Rule]http.Handler
}

// serveLive serves a handler=websocket or handler=events rule: the
// endpoint registered under the rule's name, or 404.
func (s *Site) serveLive(w http.ResponseWriter, r *http.Request, rule *route.Rule) {
	l := &s.live
	l.mu.Lock()
	h := l.endpoints[rule]
	if h == nil {
		h = s.newEndpointLocked(rule)
		if h != nil {
			if l.endpoints == nil {
				l.endpoints = map[*route.Rule]http.Handler{}
			}
			l.endpoints[rule] = h
		}
	}
	l.mu.Unlock()
	if h == nil {
		s.unserved(w, r, rule, http.StatusNotFound, fmt.Sprintf("handler=%s: nothing registered as %q", rule.Handler, rule.Action))
		return
	}
	h.ServeHTTP(w, r)
}

// newEndpointLocked makes the endpoint of rule, or nil if nothing is
// registered under its name. Guarded by s.live.mu.
func (s *Site) newEndpointLocked(rule *route.Rule) http.Handler {
	l := &s.live
	lv := rule.Live
	if rule.Handler == "events" {
		fn := l.streams[rule.Action]
		if fn == nil {
			return nil
		}
		return live.Events(fn, live.StreamOptions{Heartbeat: lv.Ping, MaxConns: lv.MaxConns, Hub: l.hub,
			Conn: func(r *http.Request) *governor.Conn { return httpd.ConnFrom(r.Context()) }, Logger: s.log})
	}
	fn := l.sockets[rule.Action]
	if fn == nil {
		return nil
	}
	return live.WebSocket(fn, live.Options{Ping: lv.Ping, PongTimeout: lv.PongTimeout, MaxMessage: lv.MaxMessage,
		MaxConns: lv.MaxConns, Origins: lv.Origins, Hub: l.hub, Logger: s.log})
}

func checkName(what, name string) error {
	if name == "" || strings.Contains(name, "/") {
		return fmt.Errorf("%s: %q is not a name", what, name)
	}
	return nil
}

// WebSocket registers fn as the WebSocket endpoint name: it serves the
// handler=websocket rules that name it (action=name, or a uri= whose last
// segment is name), with their auth and abilities, their Origin check
// (the page's origin must be the host's, or one of origins=) and their
// ping=, pong-timeout=, max-message= and max-ws=.
func (s *Site) WebSocket(name string, fn live.Handler) error {
	if err := checkName("websocket", name); err != nil {
		return err
	}
	l := &s.live
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sockets == nil {
		l.sockets = map[string]live.Handler{}
	}
	l.sockets[name] = fn
	l.endpoints = nil // made again, with fn
	return nil
}

// Events registers fn as the event stream endpoint name, served on the
// handler=events rules that name it, like WebSocket; ping= is the
// heartbeat interval there.
func (s *Site) Events(name string, fn live.StreamHandler) error {
	if err := checkName("events", name); err != nil {
		return err
	}
	l := &s.live
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.streams == nil {
		l.streams = map[string]live.StreamHandler{}
	}
	l.streams[name] = fn
	l.endpoints = nil
	return nil
}
