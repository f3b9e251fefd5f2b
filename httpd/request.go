package httpd

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vigilhttp/vigil/governor"
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
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	x, ctx := s.begin(w, r)
	defer s.end(x)
	defer s.recoverPanic(&x.responseWriter, r, x.gc)
	if s.opts.Done != nil {
		defer s.done(x, r)
	}
	s.opts.Handler.ServeHTTP(&x.responseWriter, &x.req)
	if !x.wrote() {
		s.unanswered(x, ctx)
	}
}

// begin prepares a request for its handler: it resolves the route policy,
// tells the governor, wraps the body, registers the flight and labels the
// goroutine. It returns the exchange, whose req is r with the handler's
// context, and that context; end undoes what it did.
func (s *Server) begin(w http.ResponseWriter, r *http.Request) (*exchange, context.Context) {
	pol := s.opts.Default
	var routeName string
	if s.opts.Routes != nil {
		if p, name, ok := s.opts.Routes.Policy(r); ok {
			pol = p.Merge(s.opts.Default)
			routeName = name
		}
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
		flight:         flight{method: r.Method, path: r.URL.EscapedPath(), route: routeName, start: time.Now()},
		gc:             gc,
	}
	hasBody := r.Body != nil && r.Body != http.NoBody
	if gc != nil {
		x.flight.connID = gc.ID()
		if r.ProtoMajor == 2 {
			x.stream = true
			gc.StreamBegin()
		}
		if r.ProtoMajor == 1 {
			gc.BeginRequest(governor.Limits{
				StallTimeout:    pol.StallTimeout,
				MinRate:         pol.MinRate,
				TransferTimeout: pol.TransferTimeout,
			}, &x.flight, hasBody)
		}
	}
	if hasBody {
		rc := r.Body
		if pol.BodyLimit > 0 {
			rc = http.MaxBytesReader(w, rc, pol.BodyLimit)
		}
		x.body = body{rc: rc, gc: gc}
		r.Body = &x.body
	}

	ctx := r.Context()
	if pol.HandlerTimeout > 0 {
		x.flight.deadline = x.flight.start.Add(pol.HandlerTimeout)
		x.ctx.init(ctx, x.flight.deadline)
		ctx = &x.ctx
	}
	// r.WithContext's copy, made in the exchange's allocation rather than
	// in one of its own.
	x.req = *r.WithContext(ctx)
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
	s.flights.remove(&x.flight)
	if x.ctx.parent != nil {
		x.ctx.end()
	}
	if x.stream {
		x.gc.StreamEnd()
	}
}

// unanswered answers a request whose handler wrote nothing, when the
// reason calls for more than net/http's empty 200: the handler deadline
// passed, or the body was over its limit.
func (s *Server) unanswered(x *exchange, ctx context.Context) {
	var mbe *http.MaxBytesError
	switch {
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
	s.opts.Done(Done{
		Request:  r,
		ConnID:   x.flight.connID,
		Route:    x.flight.route,
		Status:   status,
		BytesIn:  x.body.bytes,
		BytesOut: x.bytes,
		Start:    x.flight.start,
		Duration: time.Since(x.flight.start),
	})
}

// Done is what Options.Done hears of each finished request.
type Done struct {
	Request  *http.Request
	ConnID   uint64
	Route    string // the matched route's prefix; empty if none
	Status   int
	BytesIn  int64 // request body bytes read by the handler
	BytesOut int64 // response body bytes written
	Start    time.Time
	Duration time.Duration
}

// exchange is everything ServeHTTP allocates for one request.
type exchange struct {
	responseWriter
	flight flight
	body   body       // rc is nil when the request has no body
	ctx    handlerCtx // parent is nil when the request has no handler deadline
	gc     *governor.Conn
	stream bool         // an HTTP/2 stream, counted on gc
	req    http.Request // the request as the handler sees it: with ctx
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

func (s *Server) recoverPanic(rw *responseWriter, r *http.Request, gc *governor.Conn) {
	v := recover()
	if v == nil {
		return
	}
	if v == http.ErrAbortHandler {
		panic(v)
	}
	var id uint64
	if gc != nil {
		id = gc.ID()
	}
	s.log.Error("httpd: handler panic", "conn_id", id, "request", describe(r.Method, r.URL.EscapedPath()), "panic", v)
	if !rw.wrote() {
		http.Error(rw, "500 internal server error", http.StatusInternalServerError)
		return
	}
	// Part of a response is out: the only honest end is to cut it.
	panic(http.ErrAbortHandler)
}

// body wraps a request body: it tells the governor when the body has been
// read to its end, and remembers the error a handler saw.
type body struct {
	rc    io.ReadCloser
	gc    *governor.Conn
	err   error
	done  bool
	bytes int64
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.bytes += int64(n)
	if err != nil {
		b.err = err
		if err == io.EOF && !b.done && b.gc != nil {
			b.done = true
			b.gc.BodyDone()
		}
	}
	return n, err
}

func (b *body) Close() error { return b.rc.Close() }

// responseWriter records the status and the bytes of the response.
type responseWriter struct {
	http.ResponseWriter
	status int   // 0 until a final status is written
	bytes  int64 // body bytes written
}

// Unwrap gives http.ResponseController the underlying writer.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *responseWriter) wrote() bool { return w.status != 0 }

func (w *responseWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

// ReadFrom keeps net/http's sendfile path for files.
func (w *responseWriter) ReadFrom(r io.Reader) (int64, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	var n int64
	var err error
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(r)
	} else {
		n, err = io.Copy(struct{ io.Writer }{w.ResponseWriter}, r)
	}
	w.bytes += n
	return n, err
}

// Flush flushes buffered data, for handlers that type-assert http.Flusher.
func (w *responseWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack hands the connection over, for handlers that type-assert
// http.Hijacker.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// ---- handlers in flight ---------------------------------------------------

// Flight is a handler in flight, as Flights reports it.
type Flight struct {
	ConnID   uint64
	Request  string // method and path
	Route    string // the matched route's prefix
	Start    time.Time
	Deadline time.Time // the handler deadline; zero if none
	Overdue  bool      // it ran HandlerGrace past its deadline; its conn was cut
	Stack    string    // its goroutine's stack, captured when it overstayed
}

// flight is the live record behind a Flight.
type flight struct {
	connID       uint64
	method, path string
	route        string
	start        time.Time
	deadline     time.Time // zero: none

	overdue    bool    // guarded by flights.mu
	stack      string  // guarded by flights.mu
	prev, next *flight // in the flights list; guarded by flights.mu
}

// String describes the request, for the connection table.
func (f *flight) String() string { return describe(f.method, f.path) }

// Route is the matched route's prefix, for the connection table.
func (f *flight) Route() string { return f.route }

// flights is the handlers in flight: a doubly linked list through the
// flights themselves, so that adding and removing one, on every request,
// costs no hashing and no allocation.
type flights struct {
	mu   sync.Mutex // guards the list (root and the prev and next of its flights), n and the overdue fields of its flights
	root flight     // sentinel: root.next is the first flight added, root.prev the last
	n    int
}

func (f *flights) init() { f.root.prev, f.root.next = &f.root, &f.root }

func (f *flights) add(fl *flight) {
	f.mu.Lock()
	fl.prev, fl.next = f.root.prev, &f.root
	f.root.prev.next = fl
	f.root.prev = fl
	f.n++
	f.mu.Unlock()
}

func (f *flights) remove(fl *flight) {
	f.mu.Lock()
	fl.prev.next, fl.next.prev = fl.next, fl.prev
	fl.prev, fl.next = nil, nil
	f.n--
	f.mu.Unlock()
}

// Flights returns the handlers in flight, oldest first.
func (s *Server) Flights() []Flight {
	s.flights.mu.Lock()
	out := make([]Flight, 0, s.flights.n)
	for fl := s.flights.root.next; fl != &s.flights.root; fl = fl.next {
		out = append(out, Flight{ConnID: fl.connID, Request: fl.String(), Route: fl.route, Start: fl.start,
			Deadline: fl.deadline, Overdue: fl.overdue, Stack: fl.stack})
	}
	s.flights.mu.Unlock()
	slices.SortFunc(out, func(a, b Flight) int { return a.Start.Compare(b.Start) })
	return out
}

// watchInterval is how often the watchdog looks for overdue handlers.
const watchInterval = 250 * time.Millisecond

// watch runs until stop is closed, reporting every handler still running
// HandlerGrace after its deadline: its stack is logged and its connection
// cut, so the peer is not left waiting and the stuck goroutine is on record.
// One goroutine for the whole server, instead of a timer per request.
func (s *Server) watch(stop <-chan struct{}) {
	t := time.NewTicker(watchInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			for _, fl := range s.overdue(now) {
				s.overstayed(fl)
			}
		}
	}
}

// overdue marks and returns the flights not yet reported that are past
// deadline and grace and still working without moving data. A handler
// blocked on its peer, or whose connection made progress within
// HandlerGrace, is transferring, not stuck: the governor's stall, rate and
// cap rules bound that, so a slow download is not cut by the handler
// timeout (a total deadline).
func (s *Server) overdue(now time.Time) []*flight {
	var out []*flight
	s.flights.mu.Lock()
	defer s.flights.mu.Unlock()
	for fl := s.flights.root.next; fl != &s.flights.root; fl = fl.next {
		if fl.overdue || fl.deadline.IsZero() || now.Sub(fl.deadline) < HandlerGrace {
			continue
		}
		if c := s.gov.Conn(fl.connID); c != nil {
			switch c.Phase() {
			case governor.PhaseBody, governor.PhaseWrite:
				continue
			}
			if now.Sub(c.LastProgress()) < HandlerGrace {
				continue
			}
		}
		fl.overdue = true
		out = append(out, fl)
	}
	return out
}

func (s *Server) overstayed(fl *flight) {
	stack := goroutineStack(fl.connID)
	s.flights.mu.Lock()
	fl.stack = stack
	s.flights.mu.Unlock()
	s.log.Warn("httpd: handler overstayed its deadline; connection cut",
		"conn_id", fl.connID, "request", fl.String(), "elapsed", time.Since(fl.start).Round(time.Millisecond),
		"stack", stack)
	if fl.connID != 0 {
		if c := s.gov.Conn(fl.connID); c != nil {
			c.CloseFor(governor.CauseHandlerTimeout)
		}
	}
}

// Stack returns the goroutine stacks of the handlers running on connection
// connID (and of goroutines they started), for diagnosis.
func Stack(connID uint64) string { return goroutineStack(connID) }

// goroutineStack returns the stacks of the goroutines labelled with the
// connection id (its handler's, and any the handler started), from the
// runtime's goroutine profile.
func goroutineStack(connID uint64) string {
	var buf bytes.Buffer
	pprof.Lookup("goroutine").WriteTo(&buf, 1)
	want := `"` + labelKey + `":"` + strconv.FormatUint(connID, 10) + `"`
	var out []string
	for _, rec := range strings.Split(buf.String(), "\n\n") {
		if strings.Contains(rec, want) {
			out = append(out, strings.TrimSpace(rec))
		}
	}
	return strings.Join(out, "\n\n")
}
