package governor

import (
	"sync/atomic"
	"time"
)

// Socket is the liveness record of a long-lived exchange on a Conn: a
// WebSocket (phase websocket) or an event stream (phase stream). The layer
// that speaks the protocol (package live) tells it what moves: messages in
// and out, every frame heard from the peer, pings sent and pongs received,
// so the Table can show each one alive by proof (a pong, acknowledged
// bytes) or say how long the peer has been silent. A Socket adds no rule:
// the pong timeout is the protocol layer's to enforce (it closes the Conn
// with CausePongTimeout); writes stay bounded by the stall timeout, and a
// WebSocket's reads, on a hijacked Conn, by nothing of the governor's.
// Its methods are safe for concurrent use.
type Socket struct {
	c     *Conn
	kind  socketKind
	start int64 // on the Table's monotonic clock, in ns (see Table.mono), like the fields below

	msgsIn  atomic.Int64
	msgsOut atomic.Int64
	heard   atomic.Int64 // the last frame from the peer; start until one arrives
	pong    atomic.Int64 // the last pong; 0 none
	rtt     atomic.Int64 // the last pong's round trip, ns; 0 none
	ping    atomic.Int64 // the ping awaiting its pong; 0 none
	done    atomic.Bool  // counted as closed (End, or the Conn's close)
}

type socketKind uint8

const (
	kindWebSocket socketKind = iota
	kindStream
	numKinds
)

var kindNames = [numKinds]string{"websocket", "stream"}

// OpenSocket marks the Conn as carrying a WebSocket (ws true; the Conn is
// or will be hijacked) or an event stream (a response that lasts): its
// phase is then websocket or stream, and its row shows the Socket. Call it
// once per exchange; End ends an event stream whose connection goes on.
func (c *Conn) OpenSocket(ws bool) *Socket {
	k := kindStream
	if ws {
		k = kindWebSocket
	}
	now := c.t.mono(c.t.now())
	s := &Socket{c: c, kind: k, start: now}
	s.heard.Store(now)
	c.mu.Lock()
	c.sock = s
	c.rest.Store(uint32(c.restPhaseLocked()))
	c.mu.Unlock()
	c.t.sockOpen[k].Add(1)
	c.t.sockOpened[k].Add(1)
	return s
}

// End ends the exchange the Socket records while its Conn stays open (an
// event stream whose handler returned, on a keep-alive connection). It
// counts as a close for CauseClosed; a Socket still open when its Conn
// closes is counted with the Conn's cause.
func (s *Socket) End() {
	c := s.c
	c.mu.Lock()
	if c.sock == s {
		c.sock = nil
		c.rest.Store(uint32(c.restPhaseLocked()))
	}
	c.mu.Unlock()
	s.count(CauseClosed)
}

func (s *Socket) count(cause Cause) {
	if s.done.CompareAndSwap(false, true) {
		s.c.t.sockOpen[s.kind].Add(-1)
		s.c.t.sockCloses[s.kind][cause].Add(1)
	}
}

// MessageIn counts a message received from the peer.
func (s *Socket) MessageIn() { s.msgsIn.Add(1) }

// MessageOut counts a message (or an event) sent to the peer.
func (s *Socket) MessageOut() { s.msgsOut.Add(1) }

// Heard records a frame from the peer, of any kind: proof it is there.
func (s *Socket) Heard() { s.heard.Store(s.c.t.mono(s.c.t.now())) }

// PingSent records a ping sent; the next Pong measures its round trip.
func (s *Socket) PingSent() { s.ping.CompareAndSwap(0, s.c.t.mono(s.c.t.now())) }

// Pong records a pong from the peer (a frame heard too), and its round
// trip from the ping PingSent recorded, if one awaits its pong.
func (s *Socket) Pong() {
	now := s.c.t.mono(s.c.t.now())
	s.heard.Store(now)
	s.pong.Store(now)
	if p := s.ping.Swap(0); p != 0 {
		s.rtt.Store(now - p)
	}
}

// HeardSince reports whether a frame has come from the peer at or after t
// (a time on the Table's clock).
func (s *Socket) HeardSince(t time.Time) bool { return s.heard.Load() >= s.c.t.mono(t) }

// PeerClosed notes that the peer closed the exchange (a WebSocket close
// frame): the Conn's close then counts as CausePeerClosed.
func (s *Socket) PeerClosed() {
	s.c.noted.CompareAndSwap(uint32(CauseNone), uint32(CausePeerClosed))
}

// Conn returns the Conn the Socket is on.
func (s *Socket) Conn() *Conn { return s.c }

// SocketInfo is a Socket as a Snapshot row shows it.
type SocketInfo struct {
	Kind        string // "websocket" or "stream"
	MessagesIn  int64
	MessagesOut int64
	// PongRTT is the last pong's round trip; zero before the first.
	PongRTT time.Duration
	// SincePong is the time since the last pong, or since the socket
	// opened when none has come; SinceHeard since the last frame of any
	// kind (a message, a ping, a pong) or the opening.
	SincePong  time.Duration
	SinceHeard time.Duration
	// PingWait is how long the ping sent last has waited for its pong;
	// zero when none waits.
	PingWait time.Duration
}

func (s *Socket) info(now int64) *SocketInfo {
	si := &SocketInfo{
		Kind:        kindNames[s.kind],
		MessagesIn:  s.msgsIn.Load(),
		MessagesOut: s.msgsOut.Load(),
		PongRTT:     time.Duration(s.rtt.Load()),
		SinceHeard:  time.Duration(now - s.heard.Load()),
	}
	p := s.pong.Load()
	if p == 0 {
		p = s.start
	}
	si.SincePong = time.Duration(now - p)
	if w := s.ping.Load(); w != 0 {
		si.PingWait = time.Duration(now - w)
	}
	return si
}

// SocketStats are the Table's counters of one kind of Socket.
type SocketStats struct {
	Open   int64
	Opened uint64
	// Closed counts the sockets ended, by the cause their Conn closed
	// for (CauseClosed for an event stream that ended on an open Conn).
	Closed map[Cause]uint64
}

func (t *Table) socketStats(k socketKind) SocketStats {
	s := SocketStats{Open: t.sockOpen[k].Load(), Opened: t.sockOpened[k].Load(), Closed: map[Cause]uint64{}}
	for _, c := range Causes() {
		if n := t.sockCloses[k][c].Load(); n > 0 {
			s.Closed[c] = n
		}
	}
	return s
}
