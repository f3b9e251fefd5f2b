package governor

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Conn is a governed connection: every read and write on it is bounded by
// the rule of its current phase (see the package documentation). It is safe
// for one reader and one writer at a time, plus any number of goroutines
// calling the protocol-layer methods, Close and the Table.
//
// The files of this type follow a connection's life: conn.go (its state and
// accounting), exchange.go (the protocol layer's calls: where the exchange
// is), rules.go (which deadline bounds what),
// read.go, write.go, deadline.go (callers' deadlines), close.go and
// stream.go (the streams of a multiplexed connection).
type Conn struct {
	nc  net.Conn
	tcp *net.TCPConn // nc as TCP; nil for other conns (in-memory tests)
	// ackProgress: the kernel reports the peer's acknowledgements (TCP_INFO).
	ackProgress bool
	// tls: the connection starts with a TLS handshake, so what it writes
	// are TLS records, never plaintext (see EarlyReply).
	tls   bool
	t     *Table
	id    uint64
	ip    netip.Addr
	start time.Time // on the Table's clock, like every time.Time of a Conn
	chunk int

	// Read without mu by the Table and by Info. Times are nanoseconds on
	// the Table's monotonic clock (see Table.mono).
	rest         atomic.Uint32 // Phase shown when no read or write is under way
	io           atomic.Uint32 // ioBody, ioWrite: I/O under way
	modeSince    atomic.Int64  // when the current mode began (idle eviction order)
	bytesIn      atomic.Int64
	bytesOut     atomic.Int64
	lastProgress atomic.Int64 // the last byte in or out, or acknowledged
	requests     atomic.Int64
	deadline     atomic.Int64  // the governing deadline armed last; 0 none
	rule         atomic.Uint32 // Cause that deadline closes for
	noted        atomic.Uint32 // Cause learned from an I/O error, used if nothing else closes it
	closed       atomic.Bool
	infoAcked    atomic.Uint64 // the kernel's bytes_acked as Info saw it last

	mu         sync.Mutex // guards the fields below; never held across I/O with the peer
	mode       mode
	mux        bool // requests are multiplexed (HTTP/2): see Multiplexed
	modeStart  time.Time
	lim        Limits // resolved limits of the current request
	expectBody bool   // a request body remains to be read
	bodyStart  time.Time
	bodyBytes  int64
	respStart  time.Time // first write of the current response; zero before it
	respBytes  int64
	extRead    time.Time // deadlines set by callers; zero none
	extWrite   time.Time
	sockRead   time.Time // deadline the socket has now
	sockWrite  time.Time
	acked      uint64       // kernel bytes_acked seen last while a write was blocked
	held       int64        // bytes an alive peer with a closed window may hold, seen then; 0 otherwise
	behind     time.Time    // a write blocked past a wake-up: the peer's last acknowledged progress since; zero when it keeps up
	writeStart time.Time    // when the write under way was (re)issued
	early      string       // start of the first write made before BeginRequest
	begun      bool         // BeginRequest was called for the current request
	req        fmt.Stringer // describes the request being served; nil none
	streams    stream       // sentinel of the list of open streams (mux)
	nstreams   int          // open streams
	nextStream uint64       // id of the last stream opened
	sock       *Socket      // the WebSocket or event stream on it; nil none
}

// I/O under way, in Conn.io and Stream.io: the phase shown is derived from
// these and from the mode, so a full-duplex connection (HTTP/2, CGI) blocked
// in a write shows as writing while its reader is done.
const (
	ioBody  uint32 = 1 << iota // a read bounded by the body rules
	ioWrite                    // a write
)

// TimeoutError is returned by a Conn's Read, Write or ReadFrom when the
// governor closed the connection because a rule expired (and, through
// package httpd, by an HTTP/2 request body's Read or a response's Write when
// a rule reset the stream). It reports Timeout() true and unwraps to
// os.ErrDeadlineExceeded.
//
// What a handler can rely on: errors.As(err, &te) with te a
// *TimeoutError is true exactly when the governor cut the exchange, and
// te.Cause is its verdict (stall, min-rate, transfer-timeout, dead-peer,
// header-timeout, idle, handshake-timeout). The cause never depends on
// which of the governor, the kernel or a caller's deadline woke the
// operation first: when a governor rule has expired, it is the one
// reported. A caller's own deadline (SetReadDeadline, or
// http.ResponseController's) that expires first is returned as the plain
// os.ErrDeadlineExceeded it is, not as a TimeoutError, and leaves the
// connection open. The connection is closed (or the stream reset) when a
// TimeoutError is returned; later operations fail too.
type TimeoutError struct {
	ConnID uint64 // the connection's id in its Table
	Cause  Cause  // the rule that expired: the governor's verdict
	Phase  Phase  // the phase whose rule expired: write for a stalled write
}

// Error describes the cut: connection, cause and phase.
func (e *TimeoutError) Error() string {
	return fmt.Sprintf("governor: conn %d: %s in phase %s", e.ConnID, e.Cause, e.Phase)
}

// Timeout reports true: the connection was cut for lack of progress.
func (e *TimeoutError) Timeout() bool { return true }

// Temporary reports false: the connection is closed.
func (e *TimeoutError) Temporary() bool { return false }

// Unwrap returns os.ErrDeadlineExceeded.
func (e *TimeoutError) Unwrap() error { return os.ErrDeadlineExceeded }

func newConn(t *Table, nc net.Conn, id uint64, ip netip.Addr, first mode, now time.Time, acks bool) *Conn {
	c := &Conn{nc: nc, t: t, id: id, ip: ip, start: now, chunk: t.opts.WriteChunk}
	c.tcp, _ = nc.(*net.TCPConn)
	c.ackProgress = acks && c.tcp != nil
	c.tls = first == modeHandshake
	c.mode, c.modeStart = first, now
	c.lim = Limits{}.resolve(&t.opts)
	c.streams.prev, c.streams.next = &c.streams, &c.streams
	c.rest.Store(uint32(c.restPhaseLocked()))
	ns := t.mono(now)
	c.modeSince.Store(ns)
	c.lastProgress.Store(ns)
	return c
}

// ID returns the connection's id in its Table.
func (c *Conn) ID() uint64 { return c.id }

// Phase returns the connection's current phase: write while a write is
// under way, body while a read of a request body is, else the phase of
// where the protocol layer said it is.
func (c *Conn) Phase() Phase {
	if c.closed.Load() {
		return PhaseClosed
	}
	return shownPhase(c.io.Load(), Phase(c.rest.Load()))
}

func shownPhase(io uint32, rest Phase) Phase {
	switch {
	case io&ioWrite != 0:
		return PhaseWrite
	case io&ioBody != 0:
		return PhaseBody
	}
	return rest
}

// LastProgress returns when a byte last moved in or out, or was
// acknowledged by the peer, on the Table's clock (compare it with
// Table.Now, not time.Now).
func (c *Conn) LastProgress() time.Time { return c.t.at(c.lastProgress.Load()) }

// LocalAddr returns the local network address.
func (c *Conn) LocalAddr() net.Addr { return c.nc.LocalAddr() }

// IPKey returns the client the connection counts for in MaxConnsPerIP:
// its IPv4 address, or its IPv6 /64.
func (c *Conn) IPKey() netip.Addr { return c.ip }

// RemoteAddr returns the remote network address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// NetConn returns the connection the Conn governs. Reads and writes on it
// bypass the governor.
func (c *Conn) NetConn() net.Conn { return c.nc }

// progress records progress at now, unless a later one is recorded.
func (c *Conn) progress(now time.Time) {
	ns := c.t.mono(now)
	if ns > c.lastProgress.Load() {
		c.lastProgress.Store(ns)
	}
}
