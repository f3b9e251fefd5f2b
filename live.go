package vigil

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vigilhttp/vigil/demo"
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
func (rt *router) serveLive(w http.ResponseWriter, r *http.Request, rule *route.Rule) {
	l := &rt.live
	l.mu.Lock()
	h := l.endpoints[rule]
	if h == nil {
		h = rt.newEndpointLocked(rule)
		if h != nil {
			if l.endpoints == nil {
				l.endpoints = map[*route.Rule]http.Handler{}
			}
			l.endpoints[rule] = h
		}
	}
	l.mu.Unlock()
	if h == nil {
		rt.unserved(w, r, rule, http.StatusNotFound, fmt.Sprintf("handler=%s: nothing registered as %q", rule.Handler, rule.Action))
		return
	}
	h.ServeHTTP(w, r)
}

// newEndpointLocked makes the endpoint of rule, or nil if nothing is
// registered under its name. Guarded by rt.live.mu.
func (rt *router) newEndpointLocked(rule *route.Rule) http.Handler {
	l := &rt.live
	lv := rule.Live
	if rule.Handler == "events" {
		fn := l.streams[rule.Action]
		if fn == nil {
			return nil
		}
		return live.Events(fn, live.StreamOptions{Heartbeat: lv.Ping, MaxConns: lv.MaxConns, Hub: l.hub,
			Conn: func(r *http.Request) *governor.Conn { return httpd.ConnFrom(r.Context()) }, Logger: rt.log})
	}
	fn := l.sockets[rule.Action]
	if fn == nil {
		return nil
	}
	return live.WebSocket(fn, live.Options{Ping: lv.Ping, PongTimeout: lv.PongTimeout, MaxMessage: lv.MaxMessage,
		MaxConns: lv.MaxConns, Origins: lv.Origins, Hub: l.hub, Logger: rt.log})
}

func checkName(what, name string) error {
	if name == "" || strings.Contains(name, "/") {
		return fmt.Errorf("vigil: %s: %q is not a name", what, name)
	}
	return nil
}

// WebSocket registers fn as the WebSocket endpoint name: it serves the
// handler=websocket rules that name it (action=name, or a uri= whose last
// segment is name), with their auth and abilities, their Origin check
// (the page's origin must be the host's, or one of origins=) and their
// ping=, pong-timeout=, max-message= and max-ws=. It fails without a
// route file. For a handler of your own, see WebSocketHandler.
func (s *Server) WebSocket(name string, fn live.Handler) error {
	if s.router == nil {
		return errors.New("vigil: websocket: no route file (sockets are reached through handler=websocket routes)")
	}
	if err := checkName("websocket", name); err != nil {
		return err
	}
	l := &s.router.live
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
func (s *Server) Events(name string, fn live.StreamHandler) error {
	if s.router == nil {
		return errors.New("vigil: events: no route file (streams are reached through handler=events routes)")
	}
	if err := checkName("events", name); err != nil {
		return err
	}
	l := &s.router.live
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.streams == nil {
		l.streams = map[string]live.StreamHandler{}
	}
	l.streams[name] = fn
	l.endpoints = nil
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

// demoFeeds serves the demo UI's live feeds: a demo.Sample every
// demo.LiveEvery over WebSocket (/ws/live) and as events (/events/live).
func (s *Server) demoFeeds() {
	sampler := demo.NewSampler()
	s.WebSocket("live", func(c *live.Conn) {
		go func() { // the demo ignores what the page sends, but reads it
			for {
				if _, _, err := c.Read(c.Context()); err != nil {
					return
				}
			}
		}()
		t := time.NewTicker(demo.LiveEvery)
		defer t.Stop()
		for {
			if c.Write(c.Context(), live.MessageText, sampler.Next(time.Now())) != nil {
				return
			}
			select {
			case <-c.Context().Done():
				return
			case <-t.C:
			}
		}
	})
	s.Events("live", func(st *live.Stream) {
		t := time.NewTicker(demo.LiveEvery)
		defer t.Stop()
		for n := 1; ; n++ {
			if st.Send(live.Event{ID: strconv.Itoa(n), Event: "sample", Data: string(sampler.Next(time.Now()))}) != nil {
				return
			}
			select {
			case <-st.Context().Done():
				return
			case <-t.C:
			}
		}
	})
}
