package httpd

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/netip"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigilhttp/vigil/governor"
	"github.com/vigilhttp/vigil/route"
)

// labelKey is the pprof goroutine label that marks a connection's handler
// goroutines with its id, so that a handler's stack can be found when it
// overstays.
const labelKey = "vigil_conn"

// ServeHTTP runs the configured handler under the request's route policy.
// Its own stack frame is kept small (the setup is in begin, the cleanup in
// end): the handler runs on top of it, and net/http's response header
// writer alone takes 2.8 KiB of stack, so a few hundred bytes here decide
// whether a file response outgrows an 8 KiB goroutine stack, whose every
// doubling copies the stack.
//
// The deferred calls run in this order: recoverPanic (a panic becomes a
// 500, or cuts a response already started), done (so the access log and
// metrics see that 500), end.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := clientKey(r)
	if !s.caps.take(key) {
		s.busy(w, r)
		return
	}
	x, ctx := s.begin(w, r)
	x.capKey, x.capHeld = key, true
	defer s.end(x)
	if s.opts.Done != nil {
		defer s.done(x, r)
	}
	defer s.recoverPanic(x, r)
	if x.tooLarge {
		s.refuseBody(x, r)
		return
	}
	s.opts.Handler.ServeHTTP(&x.responseWriter, &x.req)
	if !x.wrote() && !x.hijacked {
		s.unanswered(x, ctx)
	}
	if x.st != nil {
		x.finishStream()
	}
}

// begin prepares a request for its handler: it resolves the route policy,
// tells the governor, wraps the body, registers the flight and labels the
// goroutine. It returns the exchange, whose req is r with the handler's
// context and body, and that context; end undoes what it did. r itself is
// left as net/http made it (its Body in particular: net/http's own reader
// answers Expect: 100-continue only when the handler reads, and knows
// whether the body was read when the response goes out).
func (s *Server) begin(w http.ResponseWriter, r *http.Request) (*exchange, context.Context) {
	pol := s.opts.Default
	var routeName string
	var state any
	switch rs := s.opts.Routes.(type) {
	case nil:
	case StatePolicies:
		if p, name, ok, st := rs.PolicyState(r); ok {
			pol = p.Merge(s.opts.Default)
			routeName = name
			state = st
		} else {
			state = st
		}
	default:
		if p, name, ok := rs.Policy(r); ok {
			pol = p.Merge(s.opts.Default)
			routeName = name
		}
	}
	tunnel, events := longLived(r)
	if tunnel || events {
		pol = longLivedPolicy(pol, tunnel)
	}
	gc := ConnFrom(r.Context())
	if s.opts.HSTS > 0 && r.TLS != nil {
		w.Header().Set("Strict-Transport-Security", "max-age="+strconv.FormatInt(int64(s.opts.HSTS.Seconds()), 10))
	}
	if r.ProtoMajor == 1 && len(r.TransferEncoding) > 0 {
		// net/http drops a Content-Length that came with Transfer-Encoding
		// before we can see it; RFC 9112 §6.1 then requires closing the
		// connection after the response, so no request can be smuggled
		// behind a disputed body. Close after every chunked request.
		w.Header().Set("Connection", "close")
	}
	// One allocation carries the response writer wrapper, the in-flight
	// record, the request body wrapper and the handler's request.
	x := &exchange{
		responseWriter: responseWriter{ResponseWriter: w},
		flight:         flight{method: r.Method, path: r.URL.EscapedPath(), route: routeName, start: s.gov.Now()},
		gc:             gc,
		srv:            s,
	}
	x.responseWriter.x = x
	x.flight.x = x
	x.long = tunnel || events
	hasBody := r.Body != nil && r.Body != http.NoBody
	x.tooLarge = hasBody && pol.BodyLimit > 0 && r.ContentLength > pol.BodyLimit
	lim := governor.Limits{
		StallTimeout:    pol.StallTimeout,
		MinRate:         pol.MinRate,
		TransferTimeout: pol.TransferTimeout,
	}
	// A tunnel's request body is its peer's half of the exchange (an
	// extended CONNECT's WebSocket frames): no body rules bound its reads.
	bounded := hasBody && !x.tooLarge && !tunnel
	if gc != nil {
		x.flight.connID = gc.ID()
		if r.ProtoMajor == 2 {
			x.st = gc.OpenStream(lim, &x.flight, bounded)
			x.flight.st = x.st
			x.dl, _ = w.(deadliner)
		} else {
			gc.BeginRequest(lim, &x.flight, bounded)
		}
	}
	ctx := r.Context()
	if pol.HandlerTimeout > 0 && !x.tooLarge {
		x.flight.deadline = x.flight.start.Add(pol.HandlerTimeout)
	}
	if !x.flight.deadline.IsZero() || state != nil {
		x.ctx.init(ctx, x.flight.deadline)
		x.ctx.state = state
		ctx = &x.ctx
	}
	// r.WithContext's copy, made in the exchange's allocation rather than
	// in one of its own.
	x.req = *r.WithContext(ctx)
	if hasBody && !x.tooLarge {
		rc := r.Body
		if pol.BodyLimit > 0 {
			rc = http.MaxBytesReader(w, rc, pol.BodyLimit)
		}
		x.body = body{rc: rc, x: x}
		x.req.Body = &x.body
	}
	s.flights.add(&x.flight)
	// The connection's context carries its pprof label (see ConnContext):
	// the goroutine profile then finds this handler's stack if it overstays.
	// The handler's context has the same labels, but its Value reads the
	// clock.
	pprof.SetGoroutineLabels(r.Context())
	return x, ctx
}

// end undoes begin once the handler has returned (or panicked): the flight
// is removed, the handler's context cancelled and an HTTP/2 stream ended.
func (s *Server) end(x *exchange) {
	x.releaseCap()
	s.flights.remove(&x.flight)
	if x.ctx.parent != nil {
		x.ctx.end()
	}
	if x.st != nil {
		x.mu.Lock()
		x.returned = true
		x.mu.Unlock()
		x.st.Close()
	}
}

// refuseBody answers a request whose declared body is over its route's
// limit, at once and without reading it: a client that sent Expect:
// 100-continue sends none of it. On HTTP/1 the connection then closes
// after a short lingering drain (lingerClose), so that a client already
// sending its body reads the 413 instead of a reset; on HTTP/2 net/http
// resets the stream's unread body.
func (s *Server) refuseBody(x *exchange, r *http.Request) {
	s.log.Debug("httpd: declared body over the limit", "conn_id", x.flight.connID,
		"request", describe(r.Method, r.URL.EscapedPath()), "content_length", r.ContentLength)
	// The length is declared: lingerClose takes the connection over before
	// net/http would end a chunked body.
	const msg = "413 request body too large\n"
	h := x.responseWriter.Header()
	h.Set("Connection", "close")
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(len(msg)))
	x.responseWriter.WriteHeader(http.StatusRequestEntityTooLarge)
	io.WriteString(&x.responseWriter, msg)
	if r.ProtoMajor == 1 {
		lingerClose(x.responseWriter.ResponseWriter, r.ContentLength)
	}
}

// Lingering close bounds: what lingerClose reads and discards of a body
// it refused before it closes, and for how long.
const (
	lingerBytes = 16 << 20
	lingerTime  = 2 * time.Second
)

// lingerClose takes over an HTTP/1 connection whose response is written
// and whose request body will not be read: it flushes the response, sends
// FIN (or TLS close_notify), discards what the client still sends for up
// to lingerTime or lingerBytes, and closes. Closing with the body unread
// in the kernel's buffer would send a RST, which can destroy the response
// before the client reads it.
func lingerClose(w http.ResponseWriter, n int64) {
	rc := http.NewResponseController(w)
	rc.Flush() // Hijack sends the header, not the body buffered behind it
	nc, _, err := rc.Hijack()
	if err != nil {
		return
	}
	defer nc.Close()
	if cw, ok := nc.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	nc.SetReadDeadline(time.Now().Add(lingerTime))
	if n < 0 || n > lingerBytes {
		n = lingerBytes
	}
	io.CopyN(io.Discard, nc, n)
}

// unanswered answers a request whose handler wrote nothing, when the
// reason calls for more than net/http's empty 200: the handler deadline
// passed, or the body was over its limit.
func (s *Server) unanswered(x *exchange, ctx context.Context) {
	var mbe *http.MaxBytesError
	switch {
	case x.cutCause() != governor.CauseNone:
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		http.Error(&x.responseWriter, "503 handler timed out", http.StatusServiceUnavailable)
	case x.body.rc != nil && errors.As(x.body.err, &mbe):
		http.Error(&x.responseWriter, "413 request body too large", http.StatusRequestEntityTooLarge)
	}
}

// done reports a finished request to Options.Done.
func (s *Server) done(x *exchange, r *http.Request) {
	status := x.status
	if status == 0 {
		status = http.StatusOK // net/http sends 200 for a handler that wrote nothing
	}
	if x.panicked {
		status = http.StatusInternalServerError
	}
	s.opts.Done(Done{
		Request:  r,
		ConnID:   x.flight.connID,
		Route:    x.flight.route,
		Status:   status,
		BytesIn:  x.body.bytes,
		BytesOut: x.bytes,
		Start:    x.flight.start,
		Duration: s.gov.Now().Sub(x.flight.start),
		Cut:      x.cutCause(),
	})
}

// Done is what Options.Done hears of each finished request.
type Done struct {
	Request  *http.Request // as net/http made it (the handler saw a copy with its own context and body)
	ConnID   uint64        // the governed connection's id; 0 if not governed
	Route    string        // the matched route's prefix; empty if none
	Status   int           // 500 for a handler that panicked
	BytesIn  int64         // request body bytes read by the handler
	BytesOut int64         // response body bytes written
	Start    time.Time     // when the handler began, on the governor's clock (compare with Table.Now)
	Duration time.Duration // the handler's run time
	// Cut is why an HTTP/2 stream was reset by a rule (stall, min-rate,
	// transfer-timeout, handler-timeout); CauseNone otherwise.
	Cut governor.Cause
}

// exchange is everything ServeHTTP allocates for one request.
type exchange struct {
	responseWriter
	flight   flight
	body     body       // rc is nil when the request has no body
	ctx      handlerCtx // parent is nil when the request has no handler deadline
	gc       *governor.Conn
	srv      *Server
	req      http.Request // the request as the handler sees it: with ctx and body
	tooLarge bool         // the declared body is over the route's limit
	// capKey is the client the handler counts for in the handler caps;
	// capHeld says it still does (a hijack releases it early). The
	// handler's goroutine's.
	capKey   netip.Addr
	capHeld  bool
	panicked bool // the handler panicked
	hijacked bool // the handler hijacked the connection: nothing is written on the writer after
	long     bool // a long-lived exchange (see longLived)

	// HTTP/2: the stream, and the writer's deadline methods (per stream).
	st *governor.Stream
	dl deadliner
	// The caller's own deadlines (http.ResponseController), the
	// deadlines armed on the stream, and the cause of a reset; used by the
	// handler's goroutine only.
	extWrite time.Time     // the handler's own write deadline (finishStream keeps it)
	cut      atomic.Uint32 // governor.Cause the watchdog reset the stream for

	mu       sync.Mutex // guards returned; held by the watchdog while it resets the stream
	returned bool       // the handler returned: the stream's writer may be gone
}

// releaseCap ends the handler's count in the handler caps, once: when it
// returns, or when it hijacks the connection, which is then bounded by the
// governor's connection caps (a WebSocket lives for hours; it must not
// hold a handler slot meanwhile).
func (x *exchange) releaseCap() {
	if x.capHeld {
		x.capHeld = false
		x.srv.caps.put(x.capKey)
	}
}

// deadliner is the per-stream deadline methods of net/http's HTTP/2
// response writer (what http.ResponseController calls).
type deadliner interface {
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
}

// longLived reports whether r opens a long-lived exchange, whose liveness is
// progress and never a total time: a tunnel (a protocol upgrade, as
// WebSocket's handshake over HTTP/1.1, or a CONNECT, as WebSocket over
// HTTP/2 is) or an event stream (the request accepts text/event-stream, as
// every EventSource does).
func longLived(r *http.Request) (tunnel, events bool) {
	if r.Method == http.MethodConnect {
		return true, false
	}
	if r.ProtoMajor == 1 && r.Header.Get("Upgrade") != "" {
		return true, false
	}
	for _, a := range r.Header.Values("Accept") {
		if strings.Contains(a, "text/event-stream") {
			return false, true
		}
	}
	return false, false
}

// longLivedPolicy is the policy of a long-lived exchange, from its route's
// pol: no handler deadline, no minimum rate and no transfer cap, so that
// only the stall rule bounds its writes (each must make progress within
// the stall timeout); a tunnel's body has no size limit either.
func longLivedPolicy(pol route.Policy, tunnel bool) route.Policy {
	pol.HandlerTimeout = -1
	pol.MinRate = -1
	pol.TransferTimeout = -1
	if tunnel {
		pol.BodyLimit = -1
	}
	return pol
}

// describe is a request as the connection table shows it: method and path,
// without query string or credentials, control bytes replaced.
func describe(method, p string) string {
	if len(p) > 120 {
		p = p[:120] + "…"
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, method+" "+p)
}

func (s *Server) recoverPanic(x *exchange, r *http.Request) {
	v := recover()
	if v == nil {
		return
	}
	if v == http.ErrAbortHandler {
		panic(v)
	}
	x.panicked = true
	s.log.Error("httpd: handler panic", "conn_id", x.flight.connID, "request", describe(r.Method, r.URL.EscapedPath()), "panic", v)
	if x.hijacked {
		// The connection is the handler's, and net/http no longer closes
		// it: close it here, and write nothing on it.
		if x.gc != nil {
			x.gc.Close()
		}
		return
	}
	if !x.wrote() {
		http.Error(&x.responseWriter, "500 internal server error", http.StatusInternalServerError)
		return
	}
	// Part of a response is out: the only honest end is to cut it.
	panic(http.ErrAbortHandler)
}
