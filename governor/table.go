package governor

import (
	"cmp"
	"context"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Table is the live connection table and the admission control of the
// listeners it wraps: it enforces MaxConns and MaxConnsPerIP across all of
// them, counts closes by cause and answers Snapshot and Kill. Create it with
// NewTable; all methods are safe for concurrent use.
type Table struct {
	// epoch is the origin of the Table's clock: a time with a monotonic
	// reading, taken when the Table was made; every time the governor keeps
	// is epoch plus a monotonic offset (see now), so that socket deadlines
	// made from them are monotonic too, and a wall-clock step changes none.
	epoch     time.Time
	clock     Clock         // nil: the system's, read directly
	epochMono time.Duration // clock.Mono() at epoch
	opts      Options
	log       *slog.Logger
	nextID    atomic.Uint64
	accepted  atomic.Uint64
	refused   atomic.Uint64
	closes    [numCauses]atomic.Uint64
	resets    [numCauses]atomic.Uint64 // streams reset, by cause
	shutdown  atomic.Bool
	// Sockets (WebSockets, event streams) by kind: open, opened, closed by cause.
	sockOpen   [numKinds]atomic.Int64
	sockOpened [numKinds]atomic.Uint64
	sockCloses [numKinds][numCauses]atomic.Uint64

	mu    sync.Mutex // guards conns, perIP and peak
	conns map[uint64]*Conn
	perIP map[netip.Addr]int
	peak  int // most connections open at once since the last TakePeak
}

// NewTable returns a Table governing connections with opts (zero fields take
// their defaults).
func NewTable(opts Options) *Table {
	opts = opts.withDefaults()
	t := &Table{
		epoch: time.Now(),
		opts:  opts,
		log:   opts.Logger,
		conns: make(map[uint64]*Conn),
		perIP: make(map[netip.Addr]int),
	}
	if _, sys := opts.Clock.(SystemClock); !sys && opts.Clock != nil {
		t.clock = opts.Clock
		t.epochMono = t.clock.Mono()
	}
	return t
}

// now returns the current time on the Table's clock: the epoch plus the
// monotonic time since. It carries a monotonic reading like time.Now's, and
// from the system clock it costs one clock read instead of time.Now's two.
// Governed reads and writes call it twice each.
func (t *Table) now() time.Time {
	if t.clock == nil {
		return t.epoch.Add(time.Since(t.epoch))
	}
	return t.epoch.Add(t.clock.Mono() - t.epochMono)
}

// Now returns the current time on the Table's clock, with which every time
// the governor reports for comparison (Conn.LastProgress, Stream deadlines)
// is to be compared: its monotonic reading is what counts. For display use
// Wall.
func (t *Table) Now() time.Time { return t.now() }

// Wall returns the wall-clock time of the Table's clock, for display.
func (t *Table) Wall() time.Time {
	if t.clock == nil {
		return time.Now()
	}
	return t.clock.Wall()
}

// mono returns tm, a time on the Table's clock, as nanoseconds since the
// epoch (for atomics); at is its inverse.
func (t *Table) mono(tm time.Time) int64 { return int64(tm.Sub(t.epoch)) }

func (t *Table) at(ns int64) time.Time { return t.epoch.Add(time.Duration(ns)) }

// Options returns the Table's options with defaults applied.
func (t *Table) Options() Options { return t.opts }

// ConnInfo is one row of a Snapshot.
type ConnInfo struct {
	ID       uint64 // the connection's id in its Table (Conn.ID)
	Remote   string // the peer's address
	Local    string // the listener's address it came in on
	Phase    Phase  // as Conn.Phase; PhaseStreams for HTTP/2 with streams open
	Request  string // the request being served, as BeginRequest described it
	Route    string // its route, if the describer has a Route() string method
	Requests int64  // requests begun on this connection
	Streams  int64  // HTTP/2 streams open (StreamRows has them)
	BytesIn  int64  // bytes read from the peer, as they came off the socket (TLS records included)
	BytesOut int64  // bytes written to the peer, likewise
	// Start, LastProgress and Deadline are wall-clock times, for display
	// only; Age, SinceProgress and DeadlineIn are what they are measured
	// by, on the monotonic clock.
	Start         time.Time
	Age           time.Duration // since accept
	LastProgress  time.Time     // last byte in or out, or acknowledged by the peer
	SinceProgress time.Duration // time since LastProgress
	Deadline      time.Time     // when the governing rule armed last closes it; zero if none
	DeadlineIn    time.Duration // until Deadline (negative: passed); zero if none
	Rule          Cause         // the cause that deadline closes for
	Kernel        *TCPInfo      // the kernel's view (Linux TCP sockets), nil elsewhere
	StreamRows    []StreamInfo  // the open streams of a multiplexed (HTTP/2) connection
	// Held is, for a peer that is alive (it answers window probes) but has
	// its window closed, the bytes it may hold unread in its receive
	// buffer; zero otherwise. Over ZeroWindowHeld it may be a slow reader
	// draining a large buffer, and its writes get more time (see
	// Options.ZeroWindowTimeout).
	Held int64
	// Socket is its WebSocket or event stream; nil none.
	Socket *SocketInfo
}

// Info returns the connection's row as a Snapshot shows it; now and wall
// are the Table's Now and Wall.
func (c *Conn) Info(now, wall time.Time) ConnInfo {
	lp := c.LastProgress()
	ci := ConnInfo{
		ID:            c.id,
		Remote:        c.nc.RemoteAddr().String(),
		Local:         c.nc.LocalAddr().String(),
		Phase:         c.Phase(),
		Requests:      c.requests.Load(),
		BytesIn:       c.bytesIn.Load(),
		BytesOut:      c.bytesOut.Load(),
		Age:           now.Sub(c.start),
		SinceProgress: now.Sub(lp),
	}
	c.mu.Lock()
	req := c.req
	ci.Streams = int64(c.nstreams)
	ci.StreamRows = c.streamsLocked(now)
	sock := c.sock
	c.mu.Unlock()
	if sock != nil {
		ci.Socket = sock.info(c.t.mono(now))
	}
	if req != nil {
		ci.Request = req.String()
		if r, ok := req.(interface{ Route() string }); ok {
			ci.Route = r.Route()
		}
	}
	if d := c.deadline.Load(); d != 0 {
		ci.DeadlineIn = c.t.at(d).Sub(now)
		ci.Deadline = wall.Add(ci.DeadlineIn)
		ci.Rule = Cause(c.rule.Load())
	}
	if c.tcp != nil && !c.closed.Load() {
		ci.Kernel = tcpInfo(c.tcp)
		if k := ci.Kernel; k != nil {
			ci.SinceProgress = c.ackedProgress(k, now, ci.SinceProgress)
			if k.SendWindow == 0 && k.State == "ESTABLISHED" && !writeStalledGone(k) && ci.Phase == PhaseWrite {
				ci.Held = int64(min(k.BytesAcked, uint64(ci.BytesOut)))
			}
		}
	}
	ci.Start = wall.Add(-ci.Age)
	ci.LastProgress = wall.Add(-ci.SinceProgress)
	return ci
}

// ackedProgress returns the time since the connection's last progress as
// the kernel's view k shows it, given since, the governor's: bytes the peer
// acknowledged since the last look are progress (dated by the last
// acknowledgement's arrival), so a slow reader whose acknowledgements
// advance is never shown stuck; with data in flight (or window probes out)
// and nothing acknowledged, the peer has not progressed since its last
// acknowledgement, whatever went into the kernel's buffer since.
func (c *Conn) ackedProgress(k *TCPInfo, now time.Time, since time.Duration) time.Duration {
	prev := c.infoAcked.Swap(k.BytesAcked)
	if prev != k.BytesAcked && (prev != 0 || k.Unacked > 0 && k.SendWindow > 0) {
		// The first look cannot compare: acknowledgements arriving for
		// data in flight through an open window are progress.
		at := ackedAt(k, now)
		c.progress(at)
		return min(since, now.Sub(at))
	}
	if (k.UnackedBytes > 0 || k.SendWindow == 0 && k.Probes > 0) && k.LastAckRecv > since {
		return k.LastAckRecv
	}
	return since
}

// Snapshot returns a row for every open connection, ordered by id.
func (t *Table) Snapshot() []ConnInfo {
	t.mu.Lock()
	cs := make([]*Conn, 0, len(t.conns))
	for _, c := range t.conns {
		cs = append(cs, c)
	}
	t.mu.Unlock()
	slices.SortFunc(cs, func(a, b *Conn) int { return cmp.Compare(a.id, b.id) })
	now, wall := t.now(), t.Wall()
	out := make([]ConnInfo, len(cs))
	for i, c := range cs {
		out[i] = c.Info(now, wall)
	}
	return out
}

// Conn returns the open connection with the given id, or nil.
func (t *Table) Conn(id uint64) *Conn {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.conns[id]
}

// Kill closes the connection with the given id abortively (CauseKilled) and
// reports whether it was open.
func (t *Table) Kill(id uint64) bool {
	c := t.Conn(id)
	if c == nil {
		return false
	}
	c.CloseFor(CauseKilled)
	return true
}

// Stats are the Table's counters since it was created.
type Stats struct {
	Open     int    // connections open now
	Accepted uint64 // connections admitted (evictions made room for some)
	Refused  uint64 // connections refused at a cap
	// Closed counts closed connections by cause; every cause of Causes
	// has an entry.
	Closed map[Cause]uint64
	// Resets counts the streams of multiplexed connections reset by a
	// rule (Stream.Reset), by cause; their connections went on.
	Resets map[Cause]uint64
	// WebSockets and Streams count the connections that carried a
	// WebSocket or an event stream (Conn.OpenSocket), and their closes by
	// cause.
	WebSockets, Streams SocketStats
}

// TakePeak returns the most connections that were open at once since the
// previous call (or since the Table was made) and the connections open now,
// from which the next period starts.
func (t *Table) TakePeak() (peak, open int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	peak, open = t.peak, len(t.conns)
	t.peak = open
	return peak, open
}

// Stats returns the Table's counters.
func (t *Table) Stats() Stats {
	t.mu.Lock()
	open := len(t.conns)
	t.mu.Unlock()
	s := Stats{Open: open, Accepted: t.accepted.Load(), Refused: t.refused.Load(),
		Closed: make(map[Cause]uint64), Resets: make(map[Cause]uint64)}
	s.WebSockets, s.Streams = t.socketStats(kindWebSocket), t.socketStats(kindStream)
	for _, c := range Causes() {
		s.Closed[c] = t.closes[c].Load()
		if n := t.resets[c].Load(); n > 0 {
			s.Resets[c] = n
		}
	}
	return s
}

// BeginShutdown marks the Table as shutting down: connections closed from now
// on without another cause count as CauseShutdown.
func (t *Table) BeginShutdown() { t.shutdown.Store(true) }

// CloseAll closes every open connection for cause and returns how many it
// closed.
func (t *Table) CloseAll(cause Cause) int {
	t.mu.Lock()
	cs := make([]*Conn, 0, len(t.conns))
	for _, c := range t.conns {
		cs = append(cs, c)
	}
	t.mu.Unlock()
	for _, c := range cs {
		c.CloseFor(cause)
	}
	return len(cs)
}

// admit registers nc if the caps allow, evicting a connection (of the same
// IP when the per-IP cap is the one reached; see victimLocked) if they do
// not. It returns the new Conn and the victim to close, or a nil Conn and
// the reason for refusing. acks says the kernel reports nc's peer's
// acknowledgements (TCP_INFO).
func (t *Table) admit(nc net.Conn, first mode, acks bool) (c, victim *Conn, refusal string) {
	ip := remoteIP(nc)
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.opts.MaxConnsPerIP > 0 && t.perIP[ip] >= t.opts.MaxConnsPerIP:
		if victim = t.victimLocked(ip, true, now); victim == nil {
			return nil, nil, "per-ip cap"
		}
	case t.opts.MaxConns > 0 && len(t.conns) >= t.opts.MaxConns:
		if victim = t.victimLocked(ip, false, now); victim == nil {
			return nil, nil, "connection cap"
		}
	}
	if victim != nil {
		t.forgetLocked(victim)
	}
	c = newConn(t, nc, t.nextID.Add(1), ip, first, now, acks)
	t.conns[c.id] = c
	t.peak = max(t.peak, len(t.conns))
	t.perIP[ip]++
	t.accepted.Add(1)
	return c, victim, ""
}

// PressureGrace is how long a connection must have been idle, or waiting
// for its request header (or TLS handshake), before it is preferred for
// eviction at a cap. A browser's keep-alive connection is idle for
// milliseconds between requests and sends a header in one packet; a
// slowloris header sits for seconds.
const PressureGrace = time.Second

// victimLocked picks the connection to evict at a cap, among those of ip
// when sameIP: the connection idle longest, if for PressureGrace or more;
// else the one waiting longest for its header or handshake (so that a
// flood of slow headers cannot push out the keep-alive connections of real
// clients, whose headers take milliseconds); else the connection idle
// longest, however briefly; else none. Connections with a request or a
// response under way are never evicted: their progress rules bound them.
func (t *Table) victimLocked(ip netip.Addr, sameIP bool, now time.Time) *Conn {
	var idle, waiting *Conn
	var idleSince, waitingSince int64
	for _, c := range t.conns {
		if sameIP && c.ip != ip {
			continue
		}
		s := c.modeSince.Load()
		switch c.Phase() {
		case PhaseIdle:
			if idle == nil || s < idleSince {
				idle, idleSince = c, s
			}
		case PhaseHeader, PhaseHandshake:
			if waiting == nil || s < waitingSince {
				waiting, waitingSince = c, s
			}
		}
	}
	stale := t.mono(now.Add(-PressureGrace))
	switch {
	case idle != nil && idleSince <= stale:
		return idle
	case waiting != nil:
		return waiting
	}
	return idle
}

// forgetLocked drops c from the table and reports whether it was there.
func (t *Table) forgetLocked(c *Conn) bool {
	if _, ok := t.conns[c.id]; !ok {
		return false
	}
	delete(t.conns, c.id)
	if n := t.perIP[c.ip] - 1; n > 0 {
		t.perIP[c.ip] = n
	} else {
		delete(t.perIP, c.ip)
	}
	return true
}

func (t *Table) remove(c *Conn, cause Cause, phase Phase, ki *TCPInfo) {
	t.mu.Lock()
	t.forgetLocked(c)
	t.mu.Unlock()
	t.closes[cause].Add(1)
	c.mu.Lock()
	sock := c.sock
	c.mu.Unlock()
	if sock != nil {
		sock.count(cause)
	}
	level := slog.LevelDebug
	if cause.Abortive() {
		level = slog.LevelInfo
	}
	if !t.log.Enabled(context.Background(), level) {
		return
	}
	attrs := []slog.Attr{
		slog.Uint64("conn_id", c.id),
		slog.String("remote", c.nc.RemoteAddr().String()),
		slog.String("phase", phase.String()),
		slog.String("cause", cause.String()),
		slog.Int64("bytes_in", c.bytesIn.Load()),
		slog.Int64("bytes_out", c.bytesOut.Load()),
		slog.Duration("age", t.now().Sub(c.start)),
		slog.Duration("since_progress", t.now().Sub(c.LastProgress())),
	}
	if ki != nil {
		attrs = append(attrs, slog.Int("kernel_unacked_bytes", int(ki.UnackedBytes)),
			slog.Int("kernel_retransmits", int(ki.Retransmits)), slog.String("kernel_state", ki.State))
	}
	t.log.LogAttrs(context.Background(), level, "governor: conn closed", attrs...)
}

// remoteIP returns the key nc's peer is counted under for MaxConnsPerIP:
// its IPv4 address, or its IPv6 /64 (one host's addresses, as the
// throttling of logins counts it: a client gets a /64, and privacy
// addresses rotate within it).
func remoteIP(nc net.Conn) netip.Addr {
	var a netip.Addr
	if ta, ok := nc.RemoteAddr().(*net.TCPAddr); ok {
		a = ta.AddrPort().Addr().Unmap()
	} else if ap, err := netip.ParseAddrPort(nc.RemoteAddr().String()); err == nil {
		a = ap.Addr().Unmap()
	}
	if a.Is6() {
		if p, err := a.Prefix(64); err == nil {
			return p.Addr()
		}
	}
	return a
}
