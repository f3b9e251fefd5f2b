package governor

import (
	"fmt"
	"time"
)

// The protocol layer's calls: the HTTP server above tells the Conn where the
// exchange is (handshake done, request begun, body read, idle, hijacked),
// and the Conn's phase, and so the rule that bounds its reads and writes,
// follows.

// HandshakeDone ends the handshake phase: the header phase, bounded by
// HeaderTimeout, starts now.
func (c *Conn) HandshakeDone() {
	c.setMode(modeHeader, c.t.now())
}

// Multiplexed tells the Conn that its requests are multiplexed (HTTP/2,
// chosen by ALPN): it ends the handshake phase, if any, and from now on
// the connection itself has no header or body rules. It is idle, bounded by
// IdleTimeout (plus MuxIdleGrace, so that the protocol's own idle timer,
// which sends GOAWAY, acts first), while no stream is open;
// Active and Idle say when streams are open. Each request is a Stream
// (OpenStream) with its own body and response rules. Writes stay bounded by
// the stall timeout.
func (c *Conn) Multiplexed() {
	now := c.t.now()
	c.mu.Lock()
	c.mux = true
	c.mode, c.modeStart = modeIdle, now
	c.expectBody = false
	c.req = nil
	c.rest.Store(uint32(c.restPhaseLocked()))
	c.mu.Unlock()
	c.modeSince.Store(c.t.mono(now))
}

// MuxIdleGrace is how long after IdleTimeout the governor closes an idle
// multiplexed connection itself, if the protocol layer has not: HTTP/2's
// idle timer sends GOAWAY at IdleTimeout and waits a second more for the
// client to close; a client that is gone (its keepalive probes unanswered)
// is cut then, abortively, and one that is there but silent closed.
const MuxIdleGrace = 250 * time.Millisecond

// BeginRequest tells the Conn that a request header has been parsed and a
// handler is about to run. l bounds this request's body and response (zero
// fields take the Table's Options); req describes the request for the Table
// (method and path, never secrets: its String is called only when the Table
// is read); hasBody says whether a request body remains to be read. Reads
// are then bounded by the body rules until BodyDone, and not at all
// afterwards (the peer owes nothing while the handler runs; keepalive
// watches it). On a multiplexed connection use OpenStream instead.
func (c *Conn) BeginRequest(l Limits, req fmt.Stringer, hasBody bool) {
	now := c.t.now()
	c.requests.Add(1)
	c.mu.Lock()
	c.mode, c.modeStart = modeRequest, now
	c.begun = true
	c.req = req
	c.lim = l.resolve(&c.t.opts)
	c.expectBody = hasBody
	c.bodyStart, c.bodyBytes = now, 0
	c.respStart, c.respBytes = time.Time{}, 0
	c.rest.Store(uint32(c.restPhaseLocked()))
	c.mu.Unlock()
	c.modeSince.Store(c.t.mono(now))
}

// Active tells the Conn a request is under way without the details
// BeginRequest gives (net/http reports it once a request header has been
// read, and for HTTP/2 while streams are open): reads are then not bounded
// by the governor, writes by the Table's stall timeout. On a multiplexed
// connection it means streams are open: the idle rule no longer applies.
//
// Active reads no clock: a request's rules date from BeginRequest and from
// its reads and writes, not from the mode's start, so the mode is dated by
// the connection's last progress (for HTTP/1, the request header's last
// byte).
func (c *Conn) Active() {
	ns := c.lastProgress.Load()
	c.mu.Lock()
	switch {
	case c.mux:
		c.mode, c.modeStart = modeStreams, c.t.at(ns)
	case c.mode != modeRequest:
		c.mode, c.modeStart = modeRequest, c.t.at(ns)
		c.begun = false
		c.lim = Limits{}.resolve(&c.t.opts)
		c.expectBody = false
		c.respStart, c.respBytes = time.Time{}, 0
	}
	c.rest.Store(uint32(c.restPhaseLocked()))
	c.mu.Unlock()
	c.modeSince.Store(ns)
}

// BodyDone tells the Conn the request body has been read to its end. A read
// already blocked (net/http's background read) is no longer bounded: at its
// next wake-up it finds no rule and waits on.
func (c *Conn) BodyDone() {
	c.mu.Lock()
	c.expectBody = false
	c.mu.Unlock()
}

// Idle tells the Conn the response is complete and the connection waits for
// the next request, bounded by IdleTimeout from now. On a multiplexed
// connection it means no stream is open.
func (c *Conn) Idle() {
	c.setMode(modeIdle, c.t.now())
}

// Hijacked tells the Conn the protocol layer gave it away: reads are no
// longer bounded by the governor (the new owner sets its own deadlines);
// writes still are, by StallTimeout.
func (c *Conn) Hijacked() {
	c.setMode(modeHijacked, c.t.now())
}

// EarlyReply returns the start of the first write made before any
// BeginRequest of its exchange: a reply the protocol layer sent without a
// handler, such as an error response to a malformed request. Empty if there
// was none, and always empty on a TLS connection, whose writes are
// encrypted records (the governor never sees their plaintext).
func (c *Conn) EarlyReply() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.early
}

func (c *Conn) setMode(m mode, now time.Time) {
	c.mu.Lock()
	c.mode, c.modeStart = m, now
	c.expectBody = false
	c.req = nil
	c.rest.Store(uint32(c.restPhaseLocked()))
	c.mu.Unlock()
	c.modeSince.Store(c.t.mono(now))
}

// restPhaseLocked is the phase shown when no read or write is under way.
func (c *Conn) restPhaseLocked() Phase {
	switch c.mode {
	case modeHandshake:
		return PhaseHandshake
	case modeHeader:
		return PhaseHeader
	case modeIdle:
		return PhaseIdle
	case modeHijacked:
		if c.sock != nil && c.sock.kind == kindWebSocket {
			return PhaseWebSocket
		}
		return PhaseHijacked
	case modeStreams:
		return PhaseStreams
	case modeRequest:
		if c.sock != nil && c.sock.kind == kindStream {
			return PhaseStream
		}
	}
	return PhaseHandler
}
