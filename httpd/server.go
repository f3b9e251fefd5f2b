// Package httpd serves HTTP (net/http: HTTP/1.1, HTTP/2) on connections
// governed by package governor. It maps HTTP progress onto the governor's
// phases (a request header parsed, a body read to its end, a connection gone
// idle or hijacked), applies the per-route policy (body limit, stall timeout,
// minimum rate, transfer cap, handler timeout), recovers handler panics,
// reports handlers that overstay their deadline with their goroutine stack,
// and owns the Start/Shutdown/Close lifecycle of the http.Server.
//
// Govern does the same for an application's own http.Server: one call, and
// its mux, middleware, event streams, WebSockets and downloads run on
// governed connections (see its example).
//
// Built with -tags nethttpomithttp2 (net/http's own tag, which drops its
// bundled HTTP/2 for the smallest devices), TLS listeners offer and serve
// HTTP/1.1 only; HTTP2 says which.
//
// Package httpd imports governor and route of this module, nothing else of
// it.
package httpd

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"log/slog"
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
	"github.com/vigilhttp/vigil/route"
)

// Defaults applied by New to zero fields of Options.
const (
	DefaultHandlerTimeout  = 60 * time.Second
	DefaultShutdownTimeout = 10 * time.Second
	DefaultBodyLimit       = 16 << 20
	DefaultMaxHeaderBytes  = 64 << 10
	// HandlerGrace is how long a handler may run past its deadline (its
	// context is done by then) before its connection is cut and its stack
	// logged.
	HandlerGrace = time.Second
)

// Options configures a Server. The zero value serves 404s on a new
// http.Server with every bound at its default.
type Options struct {
	// HTTP, if set, is the http.Server to run: an application's own, whose
	// ErrorLog, BaseContext, TLSConfig, timeouts and HTTP/2 settings are kept
	// and whose ConnState, ConnContext and TLS callbacks are chained, never
	// replaced (see Govern, which is New with this field and no bounds on
	// handlers). New makes the server's Handler the Server itself. Nil means
	// a new http.Server made for vigil.
	HTTP *http.Server
	// Handler serves requests; nil means HTTP's Handler when HTTP is set
	// (nil there too: http.DefaultServeMux, as net/http), else
	// http.NotFoundHandler().
	Handler http.Handler
	// Governor is the connection table the listeners are governed by; nil
	// means a new one with default options.
	Governor *governor.Table
	// Routes gives per-route policy; nil means Default for every request.
	Routes Policies
	// Default is the policy of requests whose route leaves a field zero.
	// Zero fields take DefaultBodyLimit and DefaultHandlerTimeout (the
	// transfer fields default to the Governor's options).
	//
	// Long-lived exchanges are bounded by progress alone, whatever the
	// policy says: a request with an Upgrade header (WebSocket over
	// HTTP/1.1), a CONNECT (WebSocket over HTTP/2) or one that accepts
	// text/event-stream (every EventSource) has no handler deadline, no
	// minimum rate and no transfer cap; each of its writes must make
	// progress within the stall timeout. A tunnel's (Upgrade, CONNECT)
	// reads are not bounded and its body has no limit: its liveness is
	// the protocol's (a WebSocket ping), or the kernel's keepalive.
	Default route.Policy
	// MaxHeaderBytes caps the request header, in bytes; zero means
	// HTTP's MaxHeaderBytes when HTTP is set (zero there too: net/http's
	// 1 MiB), else DefaultMaxHeaderBytes. Larger headers get 431.
	MaxHeaderBytes int
	// TLSConfig, if set, is the TLS configuration of ServeTLS (StartTLS
	// takes its own); nil means HTTP's TLSConfig when HTTP is set.
	TLSConfig *tls.Config
	// Logger receives the server's log lines; nil means discard. Without
	// HTTP, net/http's own ErrorLog lines (about peers: TLS handshake
	// errors, malformed requests) go to it at Debug level.
	Logger *slog.Logger
	// HSTS, if positive, is the max-age of a Strict-Transport-Security
	// header sent on every TLS response.
	HSTS time.Duration
	// Done, if set, is called on the request's goroutine after each request
	// with what it did, for the access log and metrics; it must be cheap.
	Done func(Done)
	// MaxHandlers and MaxHandlersPerIP cap the handlers running at once,
	// in all and for one client (an IPv4 address or IPv6 /64): over a cap
	// a request gets 503 with Retry-After at once. One HTTP/2 connection
	// can carry hundreds of streams, each a handler holding a file or a
	// CGI child; the governor's connection caps cannot see them. Zero
	// means DefaultMaxHandlers and DefaultMaxHandlersPerIP; negative means
	// no cap.
	MaxHandlers, MaxHandlersPerIP int
}

// Policies gives the policy of a request's route (and the route's name, for
// the connection table), or ok false when no route has one.
// *route.Rules implements it.
type Policies interface {
	Policy(r *http.Request) (p route.Policy, name string, ok bool)
}

// StatePolicies is Policies for a handler that serves requests from a
// snapshot of its rules (vigil's router): PolicyState also returns the
// snapshot the policy came from, which the handler then finds with
// StateFrom, so that a reload between the two can never give a request
// one rule set's policy and another's handler.
type StatePolicies interface {
	Policies
	PolicyState(r *http.Request) (p route.Policy, name string, ok bool, state any)
}

// StateFrom returns the state StatePolicies gave for the request whose
// context ctx is, or nil.
func StateFrom(ctx context.Context) any { return ctx.Value(stateKey{}) }

type stateKey struct{}

// PoliciesFunc adapts a function to Policies.
type PoliciesFunc func(r *http.Request) (p route.Policy, name string, ok bool)

// Policy returns f(r).
func (f PoliciesFunc) Policy(r *http.Request) (route.Policy, string, bool) { return f(r) }

// Server is an HTTP server on governed listeners: net/http's http.Server
// (its own or an application's) with the governor told where each
// connection and request is. Create it with New or Govern. Its methods are
// safe for concurrent use.
type Server struct {
	opts    Options
	gov     *governor.Table
	log     *slog.Logger
	hs      *http.Server
	h2      bool // hs serves HTTP/2 over TLS (h2Offered, read before it serves)
	flights flights
	caps    handlerCaps

	mu      sync.Mutex // guards stopped and stop
	stopped bool
	stop    chan struct{}  // closed when the server stops: ends watch
	live    atomic.Int64   // connections net/http is serving (ConnState)
	wg      sync.WaitGroup // the Start goroutines and watch
}

type connKey struct{}

// New returns a Server for opts; it does not listen until Serve, ServeTLS,
// Start or StartTLS.
func New(opts Options) *Server {
	hs := opts.HTTP
	if hs == nil {
		hs = &http.Server{
			ErrorLog: log.New(slogWriter{cmp.Or(opts.Logger, discard)}, "", 0),
			// No HTTP/2 WriteByteTimeout and no PING health check: the
			// governor judges the connection's writes by what the peer
			// acknowledges (a write deadline cannot tell a slow reader
			// from a dead one), kernel keepalive finds a silent dead peer,
			// and each stream has its own stall, rate and cap rules (see
			// responseWriter).
			HTTP2: &http.HTTP2Config{},
			// No ReadTimeout, WriteTimeout or ReadHeaderTimeout: the
			// governor bounds those phases by progress.
		}
		if opts.Handler == nil {
			opts.Handler = http.NotFoundHandler()
		}
		if opts.MaxHeaderBytes <= 0 {
			opts.MaxHeaderBytes = DefaultMaxHeaderBytes
		}
	}
	if opts.Handler == nil {
		opts.Handler = hs.Handler
		if opts.Handler == nil {
			opts.Handler = http.DefaultServeMux // as net/http
		}
	}
	if opts.Governor == nil {
		opts.Governor = governor.NewTable(governor.Options{Logger: opts.Logger})
	}
	if opts.Logger == nil {
		opts.Logger = discard
	}
	if opts.MaxHandlers == 0 {
		opts.MaxHandlers = DefaultMaxHandlers
	}
	if opts.MaxHandlersPerIP == 0 {
		opts.MaxHandlersPerIP = DefaultMaxHandlersPerIP
	}
	opts.Default = opts.Default.Merge(route.Policy{
		BodyLimit:      DefaultBodyLimit,
		HandlerTimeout: DefaultHandlerTimeout,
	})
	s := &Server{opts: opts, gov: opts.Governor, log: opts.Logger, hs: hs, h2: h2Offered(hs),
		caps: handlerCaps{max: opts.MaxHandlers, perIP: opts.MaxHandlersPerIP}}
	s.flights.init()
	s.adopt()
	return s
}

var discard = slog.New(slog.DiscardHandler)

// Govern returns a Server that runs srv, an application's own http.Server,
// on connections governed by t: call its Serve or ServeTLS instead of srv's
// (and its Shutdown or srv's, alike). Every read and write is then bounded
// by progress (the governor's header, stall, minimum-rate and idle rules;
// request bodies and responses per request, on HTTP/2 per stream), every
// request shows in t's table, and connections refused at t's caps get
// Refusal (a 503). Handlers are not bounded: no handler timeout and no body
// limit are added (use New with Options.HTTP for those).
//
// Govern changes srv, once, before it serves: srv.Handler becomes the
// returned Server, which calls srv's handler (http.DefaultServeMux if nil);
// srv.ConnState and srv.ConnContext are chained (the governor's first for
// ConnState, the application's first for ConnContext); srv.IdleTimeout,
// if zero, becomes t's IdleTimeout, so that HTTP/2 ends an idle connection
// with GOAWAY. ServeTLS chains srv.TLSConfig's GetConfigForClient and
// VerifyConnection. Everything else of srv (ErrorLog, BaseContext,
// MaxHeaderBytes, HTTP2, Protocols) is kept. srv's ReadTimeout,
// ReadHeaderTimeout and WriteTimeout, if set, still apply as total
// deadlines beside the governor's rules; leave them zero, since a
// WriteTimeout cuts a slow download or an event stream that the governor
// would keep. Connections srv serves on a listener of its own (srv.Serve)
// are not governed and unchanged.
func Govern(srv *http.Server, t *governor.Table) *Server {
	return New(Options{
		HTTP:     srv,
		Governor: t,
		Default:  route.Policy{BodyLimit: -1, HandlerTimeout: -1},
	})
}

// adopt makes s the handler of its http.Server and chains the server's
// callbacks after (ConnState) or before (ConnContext) its own.
func (s *Server) adopt() {
	hs := s.hs
	hs.Handler = s
	if s.opts.MaxHeaderBytes > 0 {
		hs.MaxHeaderBytes = s.opts.MaxHeaderBytes
	}
	if hs.IdleTimeout == 0 {
		// HTTP/2's own idle timer is the governor's idle timeout: it closes
		// an idle multiplexed connection with GOAWAY, as the governor would
		// without (governor.MuxIdleGrace later). On HTTP/1 the governor's
		// idle rule acts first, and net/http's deadline is never the one
		// reported.
		hs.IdleTimeout = s.gov.Options().IdleTimeout
	}
	userState := hs.ConnState
	hs.ConnState = func(c net.Conn, st http.ConnState) {
		s.connState(c, st)
		if userState != nil {
			userState(c, st)
		}
	}
	userCtx := hs.ConnContext
	hs.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		if userCtx != nil {
			ctx = userCtx(ctx, c)
		}
		if gc := governed(c); gc != nil {
			ctx = context.WithValue(ctx, connKey{}, gc)
			return pprof.WithLabels(ctx, pprof.Labels(labelKey, strconv.FormatUint(gc.ID(), 10)))
		}
		return ctx
	}
}

// Governor returns the connection table the server's listeners feed.
func (s *Server) Governor() *governor.Table { return s.gov }

// Refusal is the response written to connections refused at a cap (a 503
// with Retry-After: 1 and Connection: close), for governor.ListenerOptions;
// Serve, Start and Govern's Serve use it on plain listeners.
var Refusal = []byte("HTTP/1.1 503 Service Unavailable\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"Content-Length: 19\r\nRetry-After: 1\r\nConnection: close\r\n\r\n" +
	"server at capacity\n")

// Serve serves HTTP/1.1 on ln, governed by the server's Table (connections
// refused at its caps get Refusal), and blocks until the server is shut
// down or closed, when it returns http.ErrServerClosed, or until ln fails,
// as http.Server.Serve does. It may be called for several listeners, each
// on its own goroutine.
func (s *Server) Serve(ln net.Listener) error {
	gl := s.gov.Listen(ln, governor.ListenerOptions{Refusal: Refusal})
	return s.serve(gl, true)
}

// ServeTLS is Serve over TLS (HTTP/1.1 and, unless built with -tags
// nethttpomithttp2, HTTP/2 by ALPN), with Options.TLSConfig and, as
// http.Server.ServeTLS, the certificate in certFile and keyFile (PEM) when
// they are given or the config has none. The handshake is a governed phase,
// bounded by the Table's HandshakeTimeout; connections refused at a cap are
// reset, not answered. The config's own GetConfigForClient and
// VerifyConnection are chained as StartTLS says.
func (s *Server) ServeTLS(ln net.Listener, certFile, keyFile string) error {
	cfg := s.opts.TLSConfig
	if cfg == nil {
		cfg = s.hs.TLSConfig // as it is now: set after New, like net/http's
	}
	cfg = cfg.Clone()
	if cfg == nil {
		cfg = &tls.Config{}
	}
	hasCert := len(cfg.Certificates) > 0 || cfg.GetCertificate != nil || cfg.GetConfigForClient != nil
	if !hasCert || certFile != "" || keyFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			ln.Close()
			return fmt.Errorf("httpd: serve TLS: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	h2 := s.h2
	if tc := s.hs.TLSConfig; h2 && tc != nil && !slices.Contains(tc.NextProtos, "h2") {
		// net/http's Serve sets HTTP/2 up only for a server without a
		// TLSConfig or whose TLSConfig offers "h2"; its ServeTLS adds "h2"
		// to the server's TLSConfig to get it. So does this one.
		tc.NextProtos = append(tc.NextProtos, "h2")
	}
	gl := s.gov.Listen(ln, governor.ListenerOptions{TLS: true})
	return s.serve(tls.NewListener(gl, governedTLS(cfg, h2)), true)
}

// h2Offered reports whether hs serves HTTP/2 over TLS, by net/http's rules:
// the build (nethttpomithttp2), hs.Protocols, else hs.TLSNextProto.
func h2Offered(hs *http.Server) bool {
	switch {
	case !HTTP2:
		return false
	case hs.Protocols != nil:
		return hs.Protocols.HTTP2()
	case hs.TLSNextProto != nil:
		_, ok := hs.TLSNextProto["h2"]
		return ok
	}
	return true
}

// alpnFor returns the ALPN protocols a TLS listener offers: protos with
// "h2" first, when h2, and "http/1.1" last, added where missing.
func alpnFor(protos []string, h2 bool) []string {
	if h2 {
		return alpn(protos) // h2.go; no "h2" with -tags nethttpomithttp2
	}
	protos = slices.DeleteFunc(slices.Clone(protos), func(p string) bool { return p == "h2" })
	if !slices.Contains(protos, "http/1.1") {
		protos = append(protos, "http/1.1")
	}
	return protos
}

// Start serves on ln (governed by the server's Table) in a goroutine the
// Server owns, and returns at once. It fails after Shutdown or Close.
func (s *Server) Start(ln net.Listener) error {
	gl := s.gov.Listen(ln, governor.ListenerOptions{Refusal: Refusal})
	return s.serve(gl, false)
}

// StartTLS serves TLS (HTTP/1.1 and, unless built with -tags
// nethttpomithttp2, HTTP/2 by ALPN) on ln like Start, with cfg's
// certificates. The handshake is a governed phase: it must finish within
// the governor's HandshakeTimeout, and connections refused at a cap are
// reset, not answered. cfg's own GetConfigForClient and VerifyConnection
// are kept: they run first, and the config GetConfigForClient returns is
// served (with "h2" and "http/1.1" added to its NextProtos).
func (s *Server) StartTLS(ln net.Listener, cfg *tls.Config) error {
	gl := s.gov.Listen(ln, governor.ListenerOptions{TLS: true})
	return s.serve(tls.NewListener(gl, governedTLS(cfg, s.h2)), false)
}

// governedTLS returns cfg with the callbacks that tell a governed
// connection its handshake is done, and whether ALPN chose HTTP/2 (offered
// when h2).
func governedTLS(cfg *tls.Config, h2 bool) *tls.Config {
	cfg = cfg.Clone()
	cfg.NextProtos = alpnFor(cfg.NextProtos, h2)
	userConfig := cfg.GetConfigForClient
	cfg.GetConfigForClient = nil
	base := cfg.Clone()
	cfg.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		c := base
		if userConfig != nil {
			uc, err := userConfig(hello)
			if err != nil {
				return nil, err
			}
			if uc != nil {
				c = uc.Clone()
				c.NextProtos = alpnFor(c.NextProtos, h2)
			}
		}
		gc, _ := hello.Conn.(*governor.Conn)
		if gc == nil {
			if c == base {
				return nil, nil
			}
			return c, nil
		}
		if c == base {
			c = base.Clone()
		}
		// VerifyConnection runs at the end of every server handshake: the
		// header phase, or the multiplexed connection, starts there.
		verify := c.VerifyConnection
		c.VerifyConnection = func(cs tls.ConnectionState) error {
			if verify != nil {
				if err := verify(cs); err != nil {
					return err
				}
			}
			if cs.NegotiatedProtocol == "h2" {
				gc.Multiplexed()
			} else {
				gc.HandshakeDone()
			}
			return nil
		}
		return c, nil
	}
	return cfg
}

// serve runs the http.Server on ln: on the caller's goroutine when wait,
// else on one the Server owns. The first call starts the watchdog, which
// runs until the Server stops: through its Shutdown or Close, or the
// http.Server's own (after which Serve returns http.ErrServerClosed).
func (s *Server) serve(ln net.Listener, wait bool) error {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		ln.Close()
		if wait {
			return http.ErrServerClosed
		}
		return errors.New("httpd: start: server stopped")
	}
	if s.stop == nil {
		s.stop = make(chan struct{})
		s.wg.Go(func() { s.watch(s.stop) })
	}
	if !wait {
		s.wg.Go(func() {
			if err := s.hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error("httpd: serve", "addr", ln.Addr().String(), "err", err)
			}
		})
	}
	s.mu.Unlock()
	if !wait {
		return nil
	}
	err := s.hs.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		// Shut down, perhaps by the http.Server's own Shutdown or Close,
		// which the Server does not hear of otherwise.
		s.markStopped()
		s.endWatch()
	}
	return err
}

// Shutdown stops accepting, lets requests in flight finish and closes idle
// connections, until ctx is done; then it cuts whatever is left (as Close).
// It returns ctx's error if it had to cut.
func (s *Server) Shutdown(ctx context.Context) error {
	s.markStopped()
	s.gov.BeginShutdown()
	err := s.hs.Shutdown(ctx)
	if err != nil {
		// Out of time: cut, without waiting on handlers that may be stuck.
		s.close(0)
		return err
	}
	s.endWatch()
	s.wg.Wait()
	s.waitConns(closeWait)
	return nil
}

// Close cuts every connection at once, including hijacked ones, and stops
// the listeners. It is safe to call more than once.
func (s *Server) Close() error { return s.close(closeWait) }

// close cuts every connection, then waits at most wait for net/http's
// connection goroutines to end.
func (s *Server) close(wait time.Duration) error {
	s.markStopped()
	s.gov.BeginShutdown()
	err := s.hs.Close()
	s.gov.CloseAll(governor.CauseShutdown)
	s.endWatch()
	s.wg.Wait()
	s.waitConns(wait)
	return err
}

// closeWait bounds how long Close waits for net/http's connection
// goroutines to end once their connections are cut (one may sit out
// net/http's 500 ms reset-avoidance delay).
const closeWait = 2 * time.Second

// waitConns waits, at most d, until net/http has closed every connection.
func (s *Server) waitConns(d time.Duration) {
	deadline := time.Now().Add(d)
	for s.live.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
}

func (s *Server) markStopped() {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
}

// endWatch stops the watchdog; handlers still running are no longer
// reported (Close has cut their connections).
func (s *Server) endWatch() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stop != nil {
		select {
		case <-s.stop:
		default:
			close(s.stop)
		}
	}
}

func (s *Server) connState(c net.Conn, st http.ConnState) {
	gc := governed(c)
	if gc == nil {
		return
	}
	switch st {
	case http.StateNew:
		s.live.Add(1)
	case http.StateActive:
		gc.Active()
	case http.StateIdle:
		gc.Idle()
	case http.StateHijacked:
		s.live.Add(-1)
		gc.Hijacked()
	case http.StateClosed:
		s.live.Add(-1)
		if e := gc.EarlyReply(); strings.HasPrefix(e, "HTTP/1.1 ") {
			status, _, _ := strings.Cut(strings.TrimPrefix(e, "HTTP/1.1 "), "\r")
			s.log.Debug("httpd: request rejected before any handler", "conn_id", gc.ID(),
				"remote", gc.RemoteAddr().String(), "status", status)
		}
	}
}

// governed returns the governor.Conn under c, or nil.
func governed(c net.Conn) *governor.Conn {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	gc, _ := c.(*governor.Conn)
	return gc
}

// ConnFrom returns the governed connection serving ctx's request, or nil.
func ConnFrom(ctx context.Context) *governor.Conn {
	gc, _ := ctx.Value(connKey{}).(*governor.Conn)
	return gc
}

// slogWriter turns net/http's ErrorLog lines into Debug log lines: they are
// about peers (TLS handshake errors, malformed requests), never the server.
type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	w.l.Debug(fmt.Sprintf("httpd: %s", trimNL(p)))
	return len(p), nil
}

func trimNL(p []byte) []byte {
	for len(p) > 0 && (p[len(p)-1] == '\n' || p[len(p)-1] == '\r') {
		p = p[:len(p)-1]
	}
	return p
}
