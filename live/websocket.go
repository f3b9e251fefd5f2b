package live

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/vigilhttp/vigil/governor"
)

// Defaults applied to zero fields of Options.
const (
	DefaultPing        = 20 * time.Second
	DefaultPongTimeout = 10 * time.Second
	DefaultMaxMessage  = 64 << 10
)

// closeGrace is how long a socket found dead (or cut) waits for its close
// frame to go out before its connection is reset.
const closeGrace = 250 * time.Millisecond

// MessageType is a WebSocket message's type: MessageText or MessageBinary.
type MessageType = websocket.MessageType

// The message types.
const (
	MessageText   = websocket.MessageText
	MessageBinary = websocket.MessageBinary
)

// StatusCode is a WebSocket close code (RFC 6455 §7.4).
type StatusCode = websocket.StatusCode

// Options configures a WebSocket endpoint. The zero value works.
type Options struct {
	// Ping is the interval between pings the server sends; zero means
	// DefaultPing.
	Ping time.Duration
	// PongTimeout is how long after a ping the peer has to answer it, or
	// to send any frame: then it is sent close 1001 and its connection is
	// reset (governor.CausePongTimeout). Zero means DefaultPongTimeout.
	PongTimeout time.Duration
	// MaxMessage caps a message from the peer, in bytes: a frame header
	// declaring more is answered with close 1009 at once. Zero means
	// DefaultMaxMessage.
	MaxMessage int64
	// MaxConns caps the WebSockets open at once on the endpoint; an
	// upgrade beyond gets 503. Zero means no cap of its own (the
	// governor's connection caps still hold).
	MaxConns int
	// Origins are the host patterns (path.Match) of other origins whose
	// pages may open the socket; a browser's Origin must otherwise match
	// the request's host (cross-site WebSocket hijacking).
	Origins []string
	// Hub, if set, tracks the endpoint's sockets for its Shutdown.
	Hub *Hub
	// Logger receives Debug lines for refused upgrades and closes; nil
	// means discard.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Ping <= 0 {
		o.Ping = DefaultPing
	}
	if o.PongTimeout <= 0 {
		o.PongTimeout = DefaultPongTimeout
	}
	if o.MaxMessage <= 0 {
		o.MaxMessage = DefaultMaxMessage
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Handler serves one WebSocket for its life: it reads with c.Read, pushes
// with c.Write and returns when it is done, or when c.Context() is done
// (the socket closed: peer gone, cut, shut down). The socket is closed
// (1000) when it returns.
type Handler func(c *Conn)

// Endpoint is a WebSocket endpoint: an http.Handler that upgrades each
// request and runs its Handler. Create it with WebSocket.
type Endpoint struct {
	fn   Handler
	opts Options
	open atomic.Int64
}

// WebSocket returns the endpoint serving fn with opts.
func WebSocket(fn Handler, opts Options) *Endpoint {
	return &Endpoint{fn: fn, opts: opts.withDefaults()}
}

// Open returns the endpoint's sockets open now.
func (e *Endpoint) Open() int { return int(e.open.Load()) }

// ServeHTTP upgrades r and runs the Handler on the socket. A request that
// is no valid upgrade gets 400 or 426 (a foreign Origin 403), the
// endpoint's cap or a shutdown 503, each with a Debug line.
func (e *Endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o := &e.opts
	if o.Hub != nil && !o.Hub.enter() {
		refuse(w, o.Logger, r, http.StatusServiceUnavailable, "server shutting down")
		return
	}
	if o.Hub != nil {
		defer o.Hub.leave()
	}
	if n := e.open.Add(1); o.MaxConns > 0 && n > int64(o.MaxConns) {
		e.open.Add(-1)
		refuse(w, o.Logger, r, http.StatusServiceUnavailable, "max-ws: "+strconv.Itoa(o.MaxConns)+" WebSockets open on this route")
		return
	}
	defer e.open.Add(-1)
	c := &Conn{opts: o, r: r, closeSent: make(chan struct{}), in: make(chan message, 1), readDone: make(chan struct{})}
	hw := &hijackWriter{ResponseWriter: w, c: c}
	ws, err := websocket.Accept(hw, r, &websocket.AcceptOptions{OriginPatterns: o.Origins})
	if err != nil {
		o.Logger.Debug("live: upgrade refused", "request", r.Method+" "+r.URL.Path, "remote", r.RemoteAddr, "err", err)
		return
	}
	c.ws = ws
	ws.SetReadLimit(o.MaxMessage)
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.start = time.Now()
	c.heardAt.Store(0)
	if o.Hub != nil {
		o.Hub.add(c)
		defer o.Hub.remove(c)
	}
	go c.readLoop()
	c.schedulePing()
	c.run(e.fn)
}

func refuse(w http.ResponseWriter, log *slog.Logger, r *http.Request, code int, why string) {
	log.Debug("live: upgrade refused", "request", r.Method+" "+r.URL.Path, "remote", r.RemoteAddr, "status", code, "why", why)
	w.Header().Set("Retry-After", "1")
	http.Error(w, strconv.Itoa(code)+" "+why, code)
}

// hijackWriter hands the library a hijacked connection wrapped in a wire,
// and finds the governed connection under it.
type hijackWriter struct {
	http.ResponseWriter
	c *Conn
}

func (h *hijackWriter) Unwrap() http.ResponseWriter { return h.ResponseWriter }

func (h *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	c := h.c
	c.gc = governed(nc)
	if c.gc != nil {
		c.sock = c.gc.OpenSocket(true)
	}
	wr := &wire{Conn: nc, c: c}
	c.wire = wr
	// net/http's writer is empty once Hijack returns (the 101 is out).
	brw.Writer.Reset(wr)
	// Its reader may hold the first bytes of the peer's frames (its
	// background read takes what arrives while the 101 goes out): they
	// pass the wire's scanner too, and are read from it first.
	if n := brw.Reader.Buffered(); n > 0 {
		b, _ := brw.Reader.Peek(n)
		kept := append([]byte(nil), b...)
		if cut := wr.in.scan(kept, wr.inFrame); cut >= 0 {
			wr.err = errTooBig
			kept = kept[:cut]
		}
		wr.pending = kept
	}
	brw.Reader.Reset(wr)
	return wr, brw, nil
}

// governed returns the governor.Conn under nc, or nil.
func governed(nc net.Conn) *governor.Conn {
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	gc, _ := nc.(*governor.Conn)
	return gc
}

type message struct {
	typ MessageType
	p   []byte
}

// Conn is one WebSocket, as its Handler sees it. Read and Write may be
// called from different goroutines; each by one at a time.
type Conn struct {
	opts *Options
	r    *http.Request
	ws   *websocket.Conn
	gc   *governor.Conn   // nil when not on a governed listener
	sock *governor.Socket // nil when gc is
	wire *wire

	ctx    context.Context // done when the socket is closed
	cancel context.CancelFunc
	start  time.Time
	// heardAt is when the last frame came from the peer, as time since
	// start (monotonic).
	heardAt atomic.Int64

	in       chan message  // one message read, awaiting the Handler's Read
	waiting  atomic.Bool   // the reader holds a message the Handler has not taken
	readDone chan struct{} // closed when the reader has stopped
	readErr  error         // why; set before readDone is closed

	tooBig    atomic.Bool // a message over MaxMessage was refused at its header
	closing   atomic.Bool // the server began the close handshake
	closeOut  sync.Once
	closeSent chan struct{} // closed when a close frame has gone out

	mu      sync.Mutex // guards pinger and stopped
	pinger  *time.Timer
	ping    int64 // pings sent (the pinger's own)
	stopped bool
	wg      sync.WaitGroup // the pings and closes started in the background
}

// Request returns the upgrade request (its context ends with the handler:
// use Context for the socket's).
func (c *Conn) Request() *http.Request { return c.r }

// Context returns a context done when the socket has closed, for whatever
// reason.
func (c *Conn) Context() context.Context { return c.ctx }

// Read returns the next message from the peer. While a message waits for
// Read the peer is not judged by its pongs (the Handler is the one behind),
// so a Handler that takes messages should keep reading.
func (c *Conn) Read(ctx context.Context) (MessageType, []byte, error) {
	select {
	case m := <-c.in:
		c.waiting.Store(false)
		return m.typ, m.p, nil
	case <-c.readDone:
		select {
		case m := <-c.in:
			c.waiting.Store(false)
			return m.typ, m.p, nil
		default:
		}
		return 0, nil, c.readErr
	case <-ctx.Done():
		return 0, nil, ctx.Err()
	}
}

// Write sends one message. It blocks while the peer is behind; the
// governed connection cuts a peer that acknowledges nothing for the stall
// timeout, and Write then fails.
func (c *Conn) Write(ctx context.Context, typ MessageType, p []byte) error {
	return c.ws.Write(ctx, typ, p)
}

// Close starts the close handshake with code and reason and waits for it,
// at most a few seconds (the library's bound); then the connection closes.
func (c *Conn) Close(code StatusCode, reason string) error {
	c.closing.Store(true)
	return c.ws.Close(code, reason)
}

// run runs the Handler, then closes the socket and waits for everything the
// socket started.
func (c *Conn) run(fn Handler) {
	defer func() {
		c.stopPings()
		if !c.closing.Load() {
			c.Close(websocket.StatusNormalClosure, "")
		}
		// A close begun in the background (1009, 1002, shutdown) ends
		// first: its frame goes out before the connection closes. The
		// library bounds its wait for the peer's answer.
		c.wg.Wait()
		c.ws.CloseNow()
		c.cancel()
		<-c.readDone
		c.wg.Wait()
	}()
	fn(c)
}

// readLoop reads the peer's messages for the Handler; it also reads the
// control frames (pongs, close) in between, which the library handles as
// it reads.
func (c *Conn) readLoop() {
	var err error
	defer func() {
		c.readErr = err
		close(c.readDone)
		c.cancel()
	}()
	for {
		var m message
		m.typ, m.p, err = c.ws.Read(c.ctx)
		if err != nil {
			c.readEnded(err)
			return
		}
		c.waiting.Store(true)
		select {
		case c.in <- m:
		case <-c.ctx.Done():
			err = net.ErrClosed
			return
		}
	}
}

// readEnded closes the socket after the reader's error err, with the code
// it calls for.
func (c *Conn) readEnded(err error) {
	o := c.opts
	switch {
	case c.tooBig.Load() || errors.Is(err, websocket.ErrMessageTooBig):
		o.Logger.Debug("live: message over the limit; closing 1009", "conn_id", c.id(), "max_message", o.MaxMessage)
		c.closeAsync(websocket.StatusMessageTooBig, "message too big")
	case websocket.CloseStatus(err) != -1, c.closing.Load(), c.ctx.Err() != nil:
		// The peer closed (the library answered), or we did.
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed), isNetErr(err):
		// Gone: the governor has its cause.
	default:
		o.Logger.Debug("live: invalid frame; closing 1002", "conn_id", c.id(), "err", err)
		c.closeAsync(websocket.StatusProtocolError, "protocol error")
	}
}

func isNetErr(err error) bool {
	var ne net.Error
	return errors.As(err, &ne)
}

// closeAsync starts the close handshake with code in the background (the
// reader cannot wait for it: it would read the peer's answer).
func (c *Conn) closeAsync(code StatusCode, reason string) {
	if !c.closing.CompareAndSwap(false, true) {
		return
	}
	c.wg.Go(func() { c.ws.Close(code, reason) })
}

// cut sends close code (if the connection takes it within closeGrace) and
// then closes the connection for cause: abortively, when the cause is.
func (c *Conn) cut(code StatusCode, reason string, cause governor.Cause) {
	c.closeAsync(code, reason)
	t := time.NewTimer(closeGrace)
	select {
	case <-c.closeSent:
	case <-t.C:
	}
	t.Stop()
	if c.gc != nil {
		c.gc.CloseFor(cause)
	}
	c.ws.CloseNow()
}

func (c *Conn) id() uint64 {
	if c.gc != nil {
		return c.gc.ID()
	}
	return 0
}

// heard records a frame from the peer.
func (c *Conn) heard() {
	c.heardAt.Store(int64(time.Since(c.start)))
	if c.sock != nil {
		c.sock.Heard()
	}
}

func (c *Conn) heardSince(t time.Duration) bool { return time.Duration(c.heardAt.Load()) >= t }

func (c *Conn) msgIn() {
	if c.sock != nil {
		c.sock.MessageIn()
	}
}

func (c *Conn) pong() {
	c.heardAt.Store(int64(time.Since(c.start)))
	if c.sock != nil {
		c.sock.Pong()
	}
}

// schedulePing arms the next ping, one interval from now.
func (c *Conn) schedulePing() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return
	}
	if c.pinger == nil {
		c.pinger = time.AfterFunc(c.opts.Ping, c.pingOnce)
		return
	}
	c.pinger.Reset(c.opts.Ping)
}

func (c *Conn) stopPings() {
	c.mu.Lock()
	c.stopped = true
	if c.pinger != nil {
		c.pinger.Stop()
	}
	c.mu.Unlock()
}

// pingOnce sends a ping and judges the peer by what it hears within the
// pong timeout: its pong or any frame means alive (the next ping is
// armed); nothing, while the reader was free to hear it, means gone.
func (c *Conn) pingOnce() {
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return
	}
	c.wg.Add(1)
	c.mu.Unlock()
	defer c.wg.Done()
	sent := time.Since(c.start)
	if c.sock != nil {
		c.sock.PingSent()
	}
	ctx, cancel := context.WithCancel(c.ctx)
	var dead atomic.Bool
	verdict := time.AfterFunc(c.opts.PongTimeout, func() {
		// Judged before the ping's context ends: the library closes a
		// connection whose write is still blocked when it does, and the
		// cause is then to be pong-timeout, not a plain close.
		if !c.heardSince(sent) && !c.waiting.Load() && !c.closing.Load() {
			dead.Store(true)
			c.opts.Logger.Debug("live: no pong; closing 1001 and resetting", "conn_id", c.id(),
				"pong_timeout", c.opts.PongTimeout, "since_heard", time.Since(c.start)-time.Duration(c.heardAt.Load()))
			c.cut(websocket.StatusGoingAway, "pong timeout", governor.CausePongTimeout)
		}
		cancel()
	})
	err := c.ws.Ping(ctx)
	if err != nil && c.ctx.Err() == nil && !dead.Load() && !c.heardSince(sent) {
		<-ctx.Done() // a failed write: the verdict is the timer's
	}
	verdict.Stop()
	cancel()
	if dead.Load() || c.ctx.Err() != nil || c.closing.Load() {
		return
	}
	c.schedulePing()
}
