package governor

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Conn is a governed connection: every read and write on it is bounded by
// the rule of its current phase (see the package documentation). It is safe
// for one reader and one writer at a time, plus any number of goroutines
// calling the protocol-layer methods, Close and the Table.
type Conn struct {
	nc  net.Conn
	tcp *net.TCPConn // nc as TCP; nil for other conns (in-memory tests)
	// ackProgress: the kernel reports the peer's acknowledgements (TCP_INFO).
	ackProgress bool
	t           *Table
	id          uint64
	ip          netip.Addr
	start       time.Time
	chunk       int

	// Read without mu by the Table and by Info.
	phase        atomic.Uint32 // Phase
	modeSince    atomic.Int64  // unix ns when the current mode began (idle eviction order)
	bytesIn      atomic.Int64
	bytesOut     atomic.Int64
	lastProgress atomic.Int64 // unix ns of the last byte in or out, or acknowledged
	requests     atomic.Int64
	streams      atomic.Int64  // HTTP/2 streams in flight
	deadline     atomic.Int64  // unix ns of the governing deadline armed last; 0 none
	rule         atomic.Uint32 // Cause that deadline closes for
	noted        atomic.Uint32 // Cause learned from an I/O error, used if nothing else closes it
	closed       atomic.Bool

	mu         sync.Mutex // guards the fields below; never held across I/O with the peer
	mode       mode
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
	writeStart time.Time    // when the write under way was (re)issued
	early      string       // start of the first write made before BeginRequest
	begun      bool         // BeginRequest was called for the current request
	req        fmt.Stringer // describes the request being served; nil none
}

// TimeoutError is returned by a Conn's Read, Write or ReadFrom when the
// governor closed the connection because a rule expired. It reports
// Timeout() true and unwraps to os.ErrDeadlineExceeded.
type TimeoutError struct {
	ConnID uint64
	Cause  Cause
	Phase  Phase
}

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
	c.mode, c.modeStart = first, now
	c.lim = Limits{}.resolve(&t.opts)
	c.phase.Store(uint32(c.restPhaseLocked()))
	c.modeSince.Store(now.UnixNano())
	c.lastProgress.Store(now.UnixNano())
	return c
}

// ID returns the connection's id in its Table.
func (c *Conn) ID() uint64 { return c.id }

// Phase returns the connection's current phase.
func (c *Conn) Phase() Phase { return Phase(c.phase.Load()) }

// LastProgress returns when a byte last moved in or out, or was
// acknowledged by the peer.
func (c *Conn) LastProgress() time.Time { return time.Unix(0, c.lastProgress.Load()) }

// LocalAddr returns the local network address.
func (c *Conn) LocalAddr() net.Addr { return c.nc.LocalAddr() }

// RemoteAddr returns the remote network address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// ---- protocol layer -------------------------------------------------------

// HandshakeDone ends the handshake phase: the header phase, bounded by
// HeaderTimeout, starts now.
func (c *Conn) HandshakeDone() {
	c.setMode(modeHeader, c.t.now())
}

// BeginRequest tells the Conn that a request header has been parsed and a
// handler is about to run. l bounds this request's body and response (zero
// fields take the Table's Options); req describes the request for the Table
// (method and path, never secrets: its String is called only when the Table
// is read); hasBody says whether a request body
// remains to be read. Reads are then bounded by the body rules until
// BodyDone, and not at all afterwards (the peer owes nothing while the handler
// runs; keepalive and TCP_USER_TIMEOUT watch it).
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
	c.phase.Store(uint32(c.restPhaseLocked()))
	c.mu.Unlock()
	c.modeSince.Store(now.UnixNano())
}

// Active tells the Conn a request is under way without the details
// BeginRequest gives (net/http reports it once a request header has been
// read, and for HTTP/2 while streams are open): reads are then not bounded
// by the governor, writes by the Table's stall timeout.
//
// Active reads no clock: a request's rules date from BeginRequest and from
// its reads and writes, not from the mode's start, so the mode is dated by
// the connection's last progress (for HTTP/1, the request header's last
// byte).
func (c *Conn) Active() {
	now := time.Unix(0, c.lastProgress.Load())
	c.mu.Lock()
	if c.mode != modeRequest {
		c.mode, c.modeStart = modeRequest, now
		c.begun = false
		c.lim = Limits{}.resolve(&c.t.opts)
		c.expectBody = false
		c.respStart, c.respBytes = time.Time{}, 0
		c.phase.Store(uint32(c.restPhaseLocked()))
	}
	c.mu.Unlock()
	c.modeSince.Store(now.UnixNano())
}

// StreamBegin and StreamEnd count the HTTP/2 streams in flight on the
// connection, for the Table (HTTP/2 bounds its streams itself).
func (c *Conn) StreamBegin() { c.streams.Add(1); c.requests.Add(1) }

// StreamEnd ends a stream counted by StreamBegin.
func (c *Conn) StreamEnd() { c.streams.Add(-1) }

// BodyDone tells the Conn the request body has been read to its end. A read
// already blocked (net/http's background read) is no longer bounded: at its
// next wake-up it finds no rule and waits on.
func (c *Conn) BodyDone() {
	c.mu.Lock()
	c.expectBody = false
	c.mu.Unlock()
}

// Idle tells the Conn the response is complete and the connection waits for
// the next request, bounded by IdleTimeout from now.
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
// was none.
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
	c.phase.Store(uint32(c.restPhaseLocked()))
	c.mu.Unlock()
	c.modeSince.Store(now.UnixNano())
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
		return PhaseHijacked
	}
	return PhaseHandler
}

// ---- deadlines ------------------------------------------------------------

// readRuleLocked returns the governing deadline of a read that began at base,
// and the cause it closes for; a zero time means no governor deadline.
func (c *Conn) readRuleLocked(base time.Time) (time.Time, Cause) {
	o := &c.t.opts
	switch c.mode {
	case modeHandshake:
		return c.modeStart.Add(o.HandshakeTimeout), CauseHandshake
	case modeHeader:
		return c.modeStart.Add(o.HeaderTimeout), CauseHeaderTimeout
	case modeIdle:
		return c.modeStart.Add(o.IdleTimeout), CauseIdle
	case modeRequest:
		if c.expectBody {
			return c.transferRuleLocked(base, c.bodyStart, c.bodyBytes, c.lim.BodyMinRate)
		}
	}
	return time.Time{}, CauseNone
}

// writeRuleLocked is readRuleLocked for a write whose last progress was at base.
func (c *Conn) writeRuleLocked(base time.Time) (time.Time, Cause) {
	if c.mode == modeRequest {
		return c.transferRuleLocked(base, c.respStart, c.respBytes, c.lim.MinRate)
	}
	return base.Add(c.t.opts.StallTimeout), CauseStall
}

// transferRuleLocked combines the stall, min-rate and cap rules of a body or
// response that started at start and has moved n bytes; rate is its
// minimum rate (0: none).
func (c *Conn) transferRuleLocked(base, start time.Time, n, rate int64) (time.Time, Cause) {
	l := &c.lim
	dl, cause := base.Add(l.StallTimeout), CauseStall
	if start.IsZero() {
		return dl, cause
	}
	if rate > 0 && n > 0 { // no byte yet: the stall rule says it
		allowed := l.StallTimeout + time.Duration(float64(n)/float64(rate)*float64(time.Second))
		if r := start.Add(allowed); r.Before(dl) {
			dl, cause = r, CauseMinRate
		}
	}
	if l.TransferTimeout > 0 {
		if r := start.Add(l.TransferTimeout); r.Before(dl) {
			dl, cause = r, CauseTransferTimeout
		}
	}
	return dl, cause
}

// earliest returns the earlier of two deadlines, zero meaning none.
func earliest(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero() || a.Before(b):
		return a
	}
	return b
}

func (c *Conn) setReadLocked(d time.Time) {
	if d.Equal(c.sockRead) {
		return
	}
	c.sockRead = d
	c.nc.SetReadDeadline(d)
}

func (c *Conn) setWriteLocked(d time.Time) {
	if d.Equal(c.sockWrite) {
		return
	}
	c.sockWrite = d
	c.nc.SetWriteDeadline(d)
}

// arm returns the deadline to give the socket for an operation whose rules
// want it woken by want (zero: never), given cur, the deadline the socket
// has. The socket's deadline is only a wake-up: the operation then
// re-evaluates its rules and either fails or goes on. So cur is kept when it
// is good enough (not later than want, not earlier than the target by more
// than slack), which saves re-arming the runtime timer on nearly every read
// and write; the target is at most one horizon ahead, which bounds how often
// a kept deadline wakes an operation early.
func arm(cur, want, now time.Time, horizon, slack time.Duration) time.Time {
	if want.IsZero() {
		if cur.After(now) {
			return cur
		}
		return time.Time{}
	}
	target := want
	if h := now.Add(horizon); h.Before(target) {
		target = h
	}
	if cur.After(now) && !cur.After(want) && !cur.Before(target.Add(-slack)) {
		return cur
	}
	return target
}

// readHorizonLocked and writeHorizonLocked are arm's horizon for reads and
// writes; their slack is an eighth and a quarter of it.
func (c *Conn) readHorizonLocked() time.Duration {
	return min(c.t.opts.HeaderTimeout, c.lim.StallTimeout)
}

// A blocked write is woken every quarter of the stall timeout to date the
// progress made meanwhile: bytes it wrote, or the peer's acknowledgements.
func (c *Conn) writeHorizonLocked() time.Duration {
	return c.lim.StallTimeout / 4
}

func (c *Conn) showDeadline(d time.Time, rule Cause) {
	var ns int64
	if d.IsZero() {
		rule = CauseNone
	} else {
		ns = d.UnixNano()
	}
	// Loads are cheaper than stores, and the deadline shown changes far
	// less often than reads and writes happen.
	if c.deadline.Load() != ns {
		c.deadline.Store(ns)
	}
	if Cause(c.rule.Load()) != rule {
		c.rule.Store(uint32(rule))
	}
}

// ---- reads ----------------------------------------------------------------

// armFirstRead gives the socket the wake-up of its first read (for the
// header or handshake rule) on the accepting goroutine, which the first
// Read then keeps (see arm). Arming it there rather than in that Read
// keeps the runtime's timer code off the connection goroutine's young
// stack, which it would otherwise outgrow and copy, deep in the header
// read.
func (c *Conn) armFirstRead() {
	c.mu.Lock()
	now := c.modeStart
	gov, _ := c.readRuleLocked(now)
	h := c.readHorizonLocked()
	c.setReadLocked(arm(c.sockRead, earliest(gov, c.extRead), now, h, h/8))
	c.mu.Unlock()
}

// Read reads from the peer, bounded by the rule of the current phase.
func (c *Conn) Read(p []byte) (int, error) {
	var base time.Time // set by the first beginRead
	for {
		if err := c.beginRead(&base); err != nil {
			return 0, err
		}
		n, err := c.nc.Read(p)
		if retry := c.endRead(n, err); !retry {
			return n, c.classify(err)
		}
	}
}

func (c *Conn) beginRead(base *time.Time) error {
	now := c.t.now()
	if base.IsZero() {
		*base = now
	}
	c.mu.Lock()
	gov, rule := c.readRuleLocked(*base)
	if !gov.IsZero() && !now.Before(gov) {
		c.mu.Unlock()
		return c.expire(rule)
	}
	if c.mode == modeRequest && c.expectBody {
		c.phase.Store(uint32(PhaseBody))
	}
	h := c.readHorizonLocked()
	c.setReadLocked(arm(c.sockRead, earliest(gov, c.extRead), now, h, h/8))
	c.mu.Unlock()
	if !gov.IsZero() {
		c.showDeadline(gov, rule)
	}
	return nil
}

// endRead accounts for a read and reports whether it must be retried: a
// timeout that is neither the caller's nor an expired rule was an early wake.
func (c *Conn) endRead(n int, err error) (retry bool) {
	now := c.t.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if n > 0 {
		c.bytesIn.Add(int64(n))
		c.lastProgress.Store(now.UnixNano())
		switch c.mode {
		case modeIdle:
			// The first byte of the next request starts its header phase.
			c.mode, c.modeStart = modeHeader, now
			c.modeSince.Store(now.UnixNano())
		case modeRequest:
			if c.expectBody {
				c.bodyBytes += int64(n)
			}
		}
	}
	c.phase.Store(uint32(c.restPhaseLocked()))
	if err == nil || n > 0 || !isTimeout(err) {
		return false
	}
	if !c.extRead.IsZero() && !now.Before(c.extRead) {
		return false // the caller's deadline
	}
	return !c.closed.Load()
}

// ---- writes ---------------------------------------------------------------

// Write writes to the peer in pieces of at most WriteChunk bytes, each of
// which must make progress within the stall timeout.
func (c *Conn) Write(p []byte) (int, error) {
	var n int
	for n < len(p) {
		end := min(len(p), n+c.chunk)
		m, err := c.writeChunk(p[n:end])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func (c *Conn) writeChunk(p []byte) (int, error) {
	var base time.Time // set by the first beginWrite
	var n int
	for {
		if err := c.beginWrite(&base, p); err != nil {
			return n, err
		}
		m, err := c.nc.Write(p[n:])
		n += m
		retry := c.endWrite(m, err, &base)
		if !retry || n == len(p) {
			return n, c.classify(err)
		}
	}
}

// ReadFrom copies r to the peer. When r is a file or a socket (possibly inside
// an *io.LimitedReader, as net/http passes it) the kernel copies it with
// sendfile or splice, one WriteChunk at a time, so that the stall timeout
// measures a stall and not the whole transfer.
func (c *Conn) ReadFrom(r io.Reader) (int64, error) {
	lr, _ := r.(*io.LimitedReader)
	src := r
	if lr != nil {
		src = lr.R
	}
	if _, ok := src.(syscall.Conn); !ok || c.tcp == nil {
		bp := copyBufs.Get().(*[]byte)
		defer copyBufs.Put(bp)
		return io.CopyBuffer(writerOnly{c}, r, *bp)
	}
	var total int64
	part := &io.LimitedReader{R: src}
	chunk := int64(c.chunk)
	if c.ackProgress {
		chunk = max(chunk, sendfileChunk)
	}
	for {
		part.N = chunk
		if lr != nil {
			if lr.N <= 0 {
				return total, nil
			}
			part.N = min(part.N, lr.N)
		}
		var base time.Time
		for part.N > 0 {
			if err := c.beginWrite(&base, nil); err != nil {
				return total, err
			}
			before := part.N
			m, err := c.tcp.ReadFrom(part)
			total += m
			if lr != nil {
				lr.N -= m
			}
			if retry := c.endWrite(int(m), err, &base); !retry {
				if err != nil {
					return total, c.classify(err)
				}
				if m < before {
					return total, nil // the source is exhausted
				}
			}
		}
	}
}

// sendfileChunk is the sendfile piece where the kernel's acknowledgements
// show progress (Linux TCP): a blocked call is woken every StallTimeout/4
// anyway to compare them, so pieces need not be small to measure a stall,
// and each extra sendfile call costs (measured: a 100 KiB file served 15 %
// slower in 64 KiB pieces than in one).
const sendfileChunk = 1 << 20

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// writerOnly hides ReadFrom so io.CopyBuffer does not recurse into it.
type writerOnly struct{ io.Writer }

func (c *Conn) beginWrite(base *time.Time, p []byte) error {
	now := c.t.now()
	if base.IsZero() {
		*base = now
	}
	c.mu.Lock()
	if (c.mode == modeHeader || (c.mode == modeRequest && !c.begun)) && c.early == "" && len(p) > 0 {
		c.early = string(p[:min(len(p), 64)])
	}
	if c.mode == modeRequest && c.respStart.IsZero() {
		c.respStart = now
	}
	gov, rule := c.writeRuleLocked(*base)
	if !now.Before(gov) {
		c.mu.Unlock()
		return c.expire(rule)
	}
	c.phase.Store(uint32(PhaseWrite))
	c.writeStart = now
	h := c.writeHorizonLocked()
	c.setWriteLocked(arm(c.sockWrite, earliest(gov, c.extWrite), now, h, h/4))
	c.mu.Unlock()
	c.showDeadline(gov, rule)
	return nil
}

// endWrite accounts for a write of m bytes and reports whether it must be
// retried; it moves base forward on any progress, including bytes the peer
// acknowledged while the write was blocked.
func (c *Conn) endWrite(m int, err error, base *time.Time) (retry bool) {
	timeout := err != nil && isTimeout(err)
	var acked uint64
	var sinceAck time.Duration
	var haveAcked bool
	if timeout && c.ackProgress {
		acked, sinceAck, haveAcked = bytesAcked(c.tcp)
	}
	now := c.t.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if m > 0 {
		c.bytesOut.Add(int64(m))
		if c.mode == modeRequest {
			c.respBytes += int64(m)
		}
		// A write cut short by a wake-up moved its bytes at some time since
		// it was issued: date that progress by the issue, not by the wake.
		// Where the peer's acknowledgements are seen, bytes that only went
		// into the kernel's buffer meanwhile are not the peer's progress.
		if !timeout || !c.ackProgress {
			at := now
			if timeout {
				at = c.writeStart
			}
			if at.UnixNano() > c.lastProgress.Load() {
				c.lastProgress.Store(at.UnixNano())
			}
			if at.After(*base) {
				*base = at
			}
		}
	}
	c.phase.Store(uint32(c.restPhaseLocked()))
	if !timeout {
		return false
	}
	if !c.extWrite.IsZero() && !now.Before(c.extWrite) {
		return false // the caller's deadline
	}
	if haveAcked && acked != c.acked {
		// The peer acknowledged data since the last look: progress, dated
		// by the last acknowledgement's arrival, not by this wake-up.
		c.acked = acked
		at := now.Add(-sinceAck)
		if at.After(*base) {
			*base = at
		}
		if at.UnixNano() > c.lastProgress.Load() {
			c.lastProgress.Store(at.UnixNano())
		}
	}
	return !c.closed.Load()
}

// ---- caller deadlines -----------------------------------------------------

// SetDeadline sets the caller's read and write deadlines. The governor's own
// deadlines still apply; the earlier one wins.
func (c *Conn) SetDeadline(t time.Time) error {
	c.SetReadDeadline(t)
	return c.SetWriteDeadline(t)
}

// SetReadDeadline sets the caller's read deadline (zero: none). A read that
// times out on it returns the timeout to the caller and leaves the connection
// open.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	prev := c.extRead
	c.extRead = t
	c.setReadLocked(c.callerLocked(c.sockRead, prev, t))
	return nil
}

// SetWriteDeadline sets the caller's write deadline (zero: none), like
// SetReadDeadline.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	prev := c.extWrite
	c.extWrite = t
	c.setWriteLocked(c.callerLocked(c.sockWrite, prev, t))
	return nil
}

// callerLocked returns the socket deadline after a caller replaced its
// deadline prev by t, given cur, the socket's: the socket must wake an
// operation under way no later than t; a deadline armed earlier, or for the
// governor, is kept (an operation woken early re-evaluates its rules and
// the caller's deadline, and re-arms).
func (c *Conn) callerLocked(cur, prev, t time.Time) time.Time {
	switch {
	case t.IsZero():
		if cur.IsZero() || !cur.Equal(prev) {
			// The governor's own wake-up: kept without a clock read
			// (net/http clears deadlines several times per request).
			return cur
		}
		if now := c.t.now(); !cur.After(now) {
			// Expired (net/http's abortPendingRead leaves one): replace it
			// by a wake-up one horizon ahead, which the next operation's
			// rule will most likely keep, saving a timer change.
			return now.Add(c.readHorizonLocked())
		}
		return cur
	case cur.IsZero() || cur.After(t):
		return t
	}
	return cur
}

// ---- close ----------------------------------------------------------------

// CloseWrite shuts down the writing side of a TCP connection (a FIN), as
// net/http does before closing a connection whose request it did not read.
func (c *Conn) CloseWrite() error {
	if c.tcp != nil {
		return c.tcp.CloseWrite()
	}
	return nil
}

// Close closes the connection. Its cause is what the governor learnt
// (peer closed, shutdown) or else a normal close.
func (c *Conn) Close() error { return c.CloseFor(CauseNone) }

// CloseFor closes the connection for cause, abortively (SO_LINGER 0) when
// cause.Abortive(). CauseNone means whatever the governor learnt, else a
// normal close. Only the first close counts; later ones return nil.
func (c *Conn) CloseFor(cause Cause) error {
	if !c.closed.CompareAndSwap(false, true) {
		return nil
	}
	if cause == CauseNone {
		cause = Cause(c.noted.Load())
	}
	if cause == CauseNone {
		cause = CauseClosed
		if c.t.shutdown.Load() {
			cause = CauseShutdown
		}
	}
	phase := Phase(c.phase.Swap(uint32(PhaseClosed)))
	var ki *TCPInfo
	if cause.Abortive() && c.tcp != nil {
		ki = tcpInfo(c.tcp)
		c.tcp.SetLinger(0)
	}
	err := c.nc.Close()
	c.t.remove(c, cause, phase, ki)
	return err
}

// expire closes the connection for an expired rule and returns the error the
// blocked operation reports.
func (c *Conn) expire(rule Cause) error {
	phase := c.Phase()
	c.CloseFor(rule)
	return &TimeoutError{ConnID: c.id, Cause: rule, Phase: phase}
}

// classify notes what an I/O error says about the peer. A peer the kernel
// gave up on is closed at once, abortively.
func (c *Conn) classify(err error) error {
	switch {
	case err == nil:
		return nil
	case isTimeout(err):
		// A deadline, the caller's (net/http aborts its background read
		// with one after every request) or the governor's: nothing learnt
		// about the peer, and one look at the error instead of seven.
		return err
	case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		c.noted.CompareAndSwap(uint32(CauseNone), uint32(CausePeerClosed))
	case errors.Is(err, syscall.ETIMEDOUT), errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTDOWN):
		c.CloseFor(CauseDeadPeer)
	}
	return err
}

// isTimeout reports whether err is a deadline expiring (a caller's or the
// governor's), as opposed to the kernel's ETIMEDOUT for a dead peer.
func isTimeout(err error) bool {
	return errors.Is(err, os.ErrDeadlineExceeded)
}
