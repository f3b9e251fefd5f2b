package httpd

import (
	"net"
	"net/http"
	"net/netip"
	"sync"
)

// Defaults applied by New to zero fields of Options: the handlers that may
// run at once, in all and for one client. Connections are capped by the
// governor; these cap what one connection can multiply (an HTTP/2
// connection carries up to 250 streams, each a handler that may hold a
// file or a CGI child).
const (
	DefaultMaxHandlers      = 512
	DefaultMaxHandlersPerIP = 128
)

// handlerCaps counts the handlers running, in all and per client (an IPv4
// address or an IPv6 /64, as the governor counts connections).
type handlerCaps struct {
	max, perIP int

	mu   sync.Mutex // guards n and byIP
	n    int
	byIP map[netip.Addr]int
}

// take admits a handler for a request from key, or reports false at a cap.
func (c *handlerCaps) take(key netip.Addr) bool {
	if c.max <= 0 && c.perIP <= 0 {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.max > 0 && c.n >= c.max || c.perIP > 0 && c.byIP[key] >= c.perIP {
		return false
	}
	c.n++
	if c.perIP > 0 {
		if c.byIP == nil {
			c.byIP = make(map[netip.Addr]int)
		}
		c.byIP[key]++
	}
	return true
}

// put ends a handler take admitted.
func (c *handlerCaps) put(key netip.Addr) {
	if c.max <= 0 && c.perIP <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n--
	if c.perIP > 0 {
		if n := c.byIP[key] - 1; n > 0 {
			c.byIP[key] = n
		} else {
			delete(c.byIP, key)
		}
	}
}

// clientKey is the client a request counts for: its governed connection's
// key, else its remote address (an IPv6 one by its /64).
func clientKey(r *http.Request) netip.Addr {
	if gc := ConnFrom(r.Context()); gc != nil {
		return gc.IPKey()
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	a = a.Unmap()
	if a.Is6() {
		if p, err := a.Prefix(64); err == nil {
			return p.Addr()
		}
	}
	return a
}

// busy answers a request refused at a handler cap: 503 with Retry-After,
// at once, without reading its body. It is reported to Options.Done like
// any request, so the access log and the metrics count it.
func (s *Server) busy(w http.ResponseWriter, r *http.Request) {
	s.log.Debug("httpd: handler cap reached; 503", "remote", r.RemoteAddr,
		"request", describe(r.Method, r.URL.EscapedPath()))
	start := s.gov.Now()
	w.Header().Set("Retry-After", "1")
	if r.ProtoMajor == 1 {
		w.Header().Set("Connection", "close")
	}
	http.Error(w, "503 server busy", http.StatusServiceUnavailable)
	if s.opts.Done != nil {
		var id uint64
		if gc := ConnFrom(r.Context()); gc != nil {
			id = gc.ID()
		}
		s.opts.Done(Done{Request: r, ConnID: id, Status: http.StatusServiceUnavailable,
			Start: start, Duration: s.gov.Now().Sub(start)})
	}
}
