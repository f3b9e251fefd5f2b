package live

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vigilhttp/vigil/governor"
)

// DefaultHeartbeat is the interval of an event stream's heartbeat comment
// when StreamOptions.Heartbeat is zero.
const DefaultHeartbeat = 15 * time.Second

// StreamOptions configures event streams. The zero value works.
type StreamOptions struct {
	// Heartbeat is how long a stream may go without a write before a
	// comment line is sent, so that proxies keep it open and a vanished
	// peer is found by the stall rule; zero means DefaultHeartbeat.
	Heartbeat time.Duration
	// Retry, if positive, is sent as the stream's retry field: how long a
	// browser waits before it reconnects.
	Retry time.Duration
	// MaxConns caps the streams open at once on the endpoint (Events); zero
	// means no cap of its own.
	MaxConns int
	// Hub, if set, tracks the streams for its Shutdown.
	Hub *Hub
	// Conn, if set, returns the governed connection under a request (the
	// stream then shows in the Table with phase stream); nil means none.
	Conn func(*http.Request) *governor.Conn
	// Logger receives Debug lines; nil means discard.
	Logger *slog.Logger
}

func (o StreamOptions) withDefaults() StreamOptions {
	if o.Heartbeat <= 0 {
		o.Heartbeat = DefaultHeartbeat
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Event is one server-sent event. Data may hold several lines; ID and
// Event have line breaks removed.
type Event struct {
	ID    string
	Event string // the event type; empty means "message"
	Data  string
	Retry time.Duration // if positive, a retry field
}

// Stream is a server-sent event stream on a response. Send may be called
// from any goroutine; the heartbeat runs beside it. Create it with
// NewStream (or serve with Events) and Close it before the handler returns.
type Stream struct {
	w      http.ResponseWriter
	rc     *http.ResponseController
	r      *http.Request
	sock   *governor.Socket // nil unless on a governed HTTP/1 connection
	hub    *Hub
	every  time.Duration
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex // guards w, closed, err and hb; held across the write of an event (bounded by the stall rule)
	closed bool
	err    error
	hb     *time.Timer
}

// ErrStreamClosed is what Send returns once the stream is closed.
var ErrStreamClosed = errors.New("live: event stream closed")

// NewStream starts an event stream on w: the header (200,
// text/event-stream) goes out at once, with the retry field if
// o.Retry is set. The stream's context (Context) ends when the request's
// does, when a write fails and at the Hub's shutdown.
func NewStream(w http.ResponseWriter, r *http.Request, o StreamOptions) (*Stream, error) {
	o = o.withDefaults()
	s := &Stream{w: w, rc: http.NewResponseController(w), r: r, hub: o.Hub, every: o.Heartbeat}
	s.ctx, s.cancel = context.WithCancel(r.Context())
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // proxies: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	var first string
	if o.Retry > 0 {
		first = "retry: " + strconv.FormatInt(o.Retry.Milliseconds(), 10) + "\n\n"
	}
	if o.Conn != nil && r.ProtoMajor == 1 {
		if gc := o.Conn(r); gc != nil {
			s.sock = gc.OpenSocket(false)
		}
	}
	s.mu.Lock()
	err := s.writeLocked(first)
	s.hb = time.AfterFunc(s.every, s.heartbeat)
	s.mu.Unlock()
	if s.hub != nil {
		s.hub.addStream(s)
	}
	if err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Context returns a context done when the stream can carry no more events.
func (s *Stream) Context() context.Context { return s.ctx }

// LastEventID returns the Last-Event-ID the browser sent when it
// reconnected: the id of the last event it received; empty on a first
// connection.
func (s *Stream) LastEventID() string { return s.r.Header.Get("Last-Event-ID") }

// Send writes ev and flushes it. It blocks while the peer is behind: the
// governed connection cuts a peer that acknowledges nothing for the stall
// timeout, and Send then fails (and the stream's context ends).
func (s *Stream) Send(ev Event) error {
	var b strings.Builder
	if ev.ID != "" {
		b.WriteString("id: " + oneLine(ev.ID) + "\n")
	}
	if ev.Event != "" {
		b.WriteString("event: " + oneLine(ev.Event) + "\n")
	}
	if ev.Retry > 0 {
		b.WriteString("retry: " + strconv.FormatInt(ev.Retry.Milliseconds(), 10) + "\n")
	}
	for _, line := range strings.Split(strings.ReplaceAll(ev.Data, "\r\n", "\n"), "\n") {
		b.WriteString("data: " + strings.ReplaceAll(line, "\r", "") + "\n")
	}
	b.WriteString("\n")
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.writeLocked(b.String())
	if err == nil {
		if s.sock != nil {
			s.sock.MessageOut()
		}
		s.hb.Reset(s.every)
	}
	return err
}

func oneLine(v string) string {
	return strings.NewReplacer("\r", "", "\n", "").Replace(v)
}

// heartbeat sends the comment line that keeps a quiet stream alive.
func (s *Stream) heartbeat() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if s.writeLocked(": heartbeat\n\n") == nil {
		s.hb.Reset(s.every)
	}
}

func (s *Stream) writeLocked(p string) error {
	if s.closed {
		return ErrStreamClosed
	}
	if s.err != nil {
		return s.err
	}
	if p != "" {
		if _, err := s.w.Write([]byte(p)); err != nil {
			s.fail(err)
			return err
		}
	}
	if err := s.rc.Flush(); err != nil {
		s.fail(err)
		return err
	}
	return nil
}

func (s *Stream) fail(err error) {
	s.err = err
	s.cancel()
}

// end ends the stream's context (shutdown): the handler returns and
// closes it.
func (s *Stream) end() { s.cancel() }

// Close stops the heartbeat and ends the stream; nothing is written to the
// response after it returns. It is safe to call more than once.
func (s *Stream) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.hb.Stop()
	s.mu.Unlock()
	s.cancel()
	if s.sock != nil {
		s.sock.End()
	}
	if s.hub != nil {
		s.hub.removeStream(s)
	}
}

// StreamHandler serves one event stream: it sends events until
// s.Context() is done, then returns.
type StreamHandler func(s *Stream)

// Events returns an http.Handler that serves each GET as an event stream
// to fn (other methods get 405).
func Events(fn StreamHandler, o StreamOptions) http.Handler {
	o = o.withDefaults()
	var open sync.Mutex
	n := 0
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if o.Hub != nil && !o.Hub.enter() {
			refuse(w, o.Logger, r, http.StatusServiceUnavailable, "server shutting down")
			return
		}
		if o.Hub != nil {
			defer o.Hub.leave()
		}
		open.Lock()
		full := o.MaxConns > 0 && n >= o.MaxConns
		if !full {
			n++
		}
		open.Unlock()
		if full {
			refuse(w, o.Logger, r, http.StatusServiceUnavailable, "too many event streams on this route")
			return
		}
		defer func() { open.Lock(); n--; open.Unlock() }()
		s, err := NewStream(w, r, o)
		if err != nil {
			o.Logger.Debug("live: event stream failed at its start", "request", r.URL.Path, "err", err)
			return
		}
		defer s.Close()
		if r.Method == http.MethodHead {
			return
		}
		fn(s)
	})
}
