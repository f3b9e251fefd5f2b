package status

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/vigilhttp/vigil/governor"
)

// Options configures a Server. The zero value works: it serves empty tables.
type Options struct {
	// Table is the governor's live connection table. Nil shows no
	// connections and zero counters, and kills nothing.
	Table *governor.Table

	// Handlers reports the handlers in flight, as the HTTP layer sees them.
	// It is called once per GET /handlers and must not block. Nil means none.
	Handlers func() []Handler

	// Stack returns the goroutine stack of the handler(s) serving the
	// connection connID, for GET /handlers. Nil means no stacks beyond
	// those the Handlers already carry.
	Stack func(connID uint64) string

	// Info is the build information and configuration summary shown in the
	// status page's header (version, go, listen, timeouts...), sorted by key.
	Info map[string]string

	// Started is when the process started, for the uptime. Zero means when
	// New was called.
	Started time.Time

	// Logger receives a line per kill (Info) and per event stream that ends
	// on an error (Debug). Nil means discard.
	Logger *slog.Logger
}

// Bounds of the server-sent event stream of GET /status/events.
const (
	// EventInterval is the time between two events of a stream.
	EventInterval = time.Second
	// EventWriteTimeout bounds each write of an event: a client that does not
	// take an event within it loses its stream.
	EventWriteTimeout = 10 * time.Second
	// EventStreamLife bounds a stream's life; the browser's EventSource then
	// reconnects, so no response runs forever.
	EventStreamLife = 10 * time.Minute
)

// Server serves the status page, the JSON API, the metrics and pprof (see
// the package documentation for the routes). Create it with New; it is safe
// for concurrent use.
type Server struct {
	opts    Options
	log     *slog.Logger
	started time.Time
	mux     *http.ServeMux
	cop     *http.CrossOriginProtection
	met     *requestMetrics

	closeOnce sync.Once
	done      chan struct{} // closed by Close: event streams end
}

// New returns a Server reading opts.Table.
func New(opts Options) *Server {
	s := &Server{
		opts:    opts,
		log:     opts.Logger,
		started: opts.Started,
		mux:     http.NewServeMux(),
		cop:     http.NewCrossOriginProtection(),
		done:    make(chan struct{}),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.started.IsZero() {
		s.started = time.Now()
	}
	s.met = newRequestMetrics()

	m := s.mux
	m.HandleFunc("GET /{$}", s.serveRoot)
	m.HandleFunc("GET /status", s.servePage)
	m.HandleFunc("GET /status/events", s.serveEvents)
	m.HandleFunc("GET /status/app.js", s.serveAsset)
	m.HandleFunc("GET /status/style.css", s.serveAsset)
	m.HandleFunc("GET /conns", s.serveConns)
	m.HandleFunc("POST /conns/{id}/kill", s.serveKill)
	m.HandleFunc("GET /handlers", s.serveHandlers)
	m.HandleFunc("GET /metrics", s.serveMetrics)
	s.handlePprof(m) // pprof.go; absent with -tags nopprof
	return s
}

// ServeHTTP serves the routes listed in the package documentation. A
// request no route matches gets a JSON error (404, or 405 with Allow).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// A kill is a state change: a page of another origin must not be able
	// to make a visitor's browser post one. Safe methods and clients that
	// send neither Sec-Fetch-Site nor Origin (the CLI, curl) pass.
	if err := s.cop.Check(r); err != nil {
		writeError(w, http.StatusForbidden, "cross-origin request refused")
		return
	}
	h, pattern := s.mux.Handler(r)
	if pattern == "" {
		// The mux's own 404, 405 or redirect: keep its status and headers,
		// replace a plain-text error by a JSON one.
		cw := &codeWriter{w: w}
		h.ServeHTTP(cw, r)
		if cw.code >= 400 {
			writeError(w, cw.code, http.StatusText(cw.code))
		} else if cw.code != 0 {
			w.WriteHeader(cw.code)
		}
		return
	}
	s.mux.ServeHTTP(w, r) // matches again, setting the path values
}

// Close ends the event streams under way and makes new ones end after their
// first event. Other routes keep working. It is idempotent.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.done) })
}

func (s *Server) serveRoot(w http.ResponseWriter, r *http.Request) {
	// Relative, so that the page is found also where the admin listener
	// mounts this Server under a prefix.
	w.Header().Set("Location", "status")
	w.WriteHeader(http.StatusFound)
}

// codeWriter records the status code of a handler's response and discards
// its body, for replacing the mux's plain-text errors.
type codeWriter struct {
	w    http.ResponseWriter
	code int
}

func (c *codeWriter) Header() http.Header { return c.w.Header() }

func (c *codeWriter) Write(p []byte) (int, error) {
	if c.code == 0 {
		c.code = http.StatusOK
	}
	return len(p), nil
}

func (c *codeWriter) WriteHeader(code int) {
	if c.code == 0 {
		c.code = code
	}
}

// errorReply is the body of every error answer.
type errorReply struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, errorReply{Error: msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	h := w.Header()
	h.Del("Content-Length")
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.Encode(v)
}
