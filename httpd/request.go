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
	"sync/atomic"
	"time"

	"github.com/vigilhttp/vigil/governor"
)

// labelKey is the pprof goroutine label that marks a handler's goroutine, so
// that its stack can be found when it overstays.
const labelKey = "vigil_req"

// ServeHTTP runs the configured handler under the request's route policy.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	pol := s.opts.Default
	if rt, ok := s.opts.Routes.Match(r.URL.Path); ok {
		pol = rt.Policy.Merge(s.opts.Default)
	}
	gc := ConnFrom(r.Context())
	if gc != nil && r.ProtoMajor == 1 {
		gc.BeginRequest(governor.Limits{
			StallTimeout:    pol.StallTimeout,
			MinRate:         pol.MinRate,
			TransferTimeout: pol.TransferTimeout,
		}, r.Body != nil && r.Body != http.NoBody)
		gc.SetRequest(describe(r))
	}
	var b *body
	if r.Body != nil && r.Body != http.NoBody {
		rc := r.Body
		if pol.BodyLimit > 0 {
			rc = http.MaxBytesReader(w, rc, pol.BodyLimit)
		}
		b = &body{rc: rc, gc: gc}
		r.Body = b
	}

	fl := s.flights.begin(gc, r)
	defer s.flights.end(fl)
	rw := &responseWriter{ResponseWriter: w}
	ctx := r.Context()
	if pol.HandlerTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, pol.HandlerTimeout)
		defer cancel()
		overstay := time.AfterFunc(pol.HandlerTimeout+HandlerGrace, func() { s.overstayed(fl) })
		defer overstay.Stop()
	}
	pprof.SetGoroutineLabels(pprof.WithLabels(ctx, pprof.Labels(labelKey, fl.Key)))
	defer pprof.SetGoroutineLabels(r.Context())
	defer s.recoverPanic(rw, r, gc)

	s.opts.Handler.ServeHTTP(rw, r.WithContext(ctx))

	if !rw.wrote.Load() {
		var mbe *http.MaxBytesError
		switch {
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			http.Error(rw, "503 handler timed out", http.StatusServiceUnavailable)
		case b != nil && errors.As(b.err, &mbe):
			http.Error(rw, "413 request body too large", http.StatusRequestEntityTooLarge)
		}
	}
}

// describe is the request as the connection table shows it: method and
// path, without query string or credentials, control bytes escaped.
func describe(r *http.Request) string {
	p := r.URL.EscapedPath()
	if len(p) > 120 {
		p = p[:120] + "…"
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, r.Method+" "+p)
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
	s.log.Error("httpd: handler panic", "conn_id", id, "request", describe(r), "panic", v)
	if !rw.wrote.Load() {
		http.Error(rw, "500 internal server error", http.StatusInternalServerError)
		return
	}
	// Part of a response is out: the only honest end is to cut it.
	panic(http.ErrAbortHandler)
}

// body wraps a request body: it tells the governor when the body has been
// read to its end, and remembers the error a handler saw.
type body struct {
	rc   io.ReadCloser
	gc   *governor.Conn
	err  error
	done bool
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
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

// responseWriter records whether the handler wrote anything.
type responseWriter struct {
	http.ResponseWriter
	wrote atomic.Bool
}

// Unwrap gives http.ResponseController the underlying writer.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *responseWriter) WriteHeader(code int) {
	if code >= 200 {
		w.wrote.Store(true)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(p []byte) (int, error) {
	w.wrote.Store(true)
	return w.ResponseWriter.Write(p)
}

// ReadFrom keeps net/http's sendfile path for files.
func (w *responseWriter) ReadFrom(r io.Reader) (int64, error) {
	w.wrote.Store(true)
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{w.ResponseWriter}, r)
}

// Flush flushes buffered data, for handlers that type-assert http.Flusher.
func (w *responseWriter) Flush() {
	w.wrote.Store(true)
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
	Key     string // pprof label value of its goroutine
	ConnID  uint64
	Request string
	Start   time.Time
	Overdue bool   // it ran past its deadline and grace; its conn was cut
	Stack   string // its goroutine's stack, captured when it overstayed
}

type flights struct {
	seq atomic.Uint64
	mu  sync.Mutex // guards m
	m   map[string]*Flight
}

func (f *flights) init() { f.m = make(map[string]*Flight) }

func (f *flights) begin(gc *governor.Conn, r *http.Request) *Flight {
	fl := &Flight{Key: strconv.FormatUint(f.seq.Add(1), 10), Request: describe(r), Start: time.Now()}
	if gc != nil {
		fl.ConnID = gc.ID()
	}
	f.mu.Lock()
	f.m[fl.Key] = fl
	f.mu.Unlock()
	return fl
}

func (f *flights) end(fl *Flight) {
	f.mu.Lock()
	delete(f.m, fl.Key)
	f.mu.Unlock()
}

// Flights returns the handlers in flight, oldest first.
func (s *Server) Flights() []Flight {
	s.flights.mu.Lock()
	out := make([]Flight, 0, len(s.flights.m))
	for _, fl := range s.flights.m {
		out = append(out, *fl)
	}
	s.flights.mu.Unlock()
	slices.SortFunc(out, func(a, b Flight) int { return a.Start.Compare(b.Start) })
	return out
}

// overstayed runs when a handler is still running HandlerGrace after its
// deadline: it logs the handler's stack and cuts its connection, so the
// peer is not left waiting and the stuck goroutine is on record.
func (s *Server) overstayed(fl *Flight) {
	stack := goroutineStack(fl.Key)
	s.flights.mu.Lock()
	_, running := s.flights.m[fl.Key]
	if running {
		fl.Overdue, fl.Stack = true, stack
	}
	s.flights.mu.Unlock()
	if !running {
		return
	}
	s.log.Warn("httpd: handler overstayed its deadline; connection cut",
		"conn_id", fl.ConnID, "request", fl.Request, "elapsed", time.Since(fl.Start).Round(time.Millisecond),
		"stack", stack)
	if c := s.gov.Conn(fl.ConnID); c != nil && fl.ConnID != 0 {
		c.CloseFor(governor.CauseHandlerTimeout)
	}
}

// goroutineStack returns the stacks of the goroutines labelled key (the
// handler's, and any it started), from the runtime's goroutine profile.
func goroutineStack(key string) string {
	var buf bytes.Buffer
	pprof.Lookup("goroutine").WriteTo(&buf, 1)
	want := `"` + labelKey + `":"` + key + `"`
	var out []string
	for _, rec := range strings.Split(buf.String(), "\n\n") {
		if strings.Contains(rec, want) {
			out = append(out, strings.TrimSpace(rec))
		}
	}
	return strings.Join(out, "\n\n")
}
