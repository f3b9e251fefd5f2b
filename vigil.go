package vigil

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vigilhttp/vigil/demo"
	"github.com/vigilhttp/vigil/governor"
	"github.com/vigilhttp/vigil/httpd"
	"github.com/vigilhttp/vigil/live"
	"github.com/vigilhttp/vigil/route"
	"github.com/vigilhttp/vigil/site"
	"github.com/vigilhttp/vigil/static"
	"github.com/vigilhttp/vigil/status"
	"github.com/vigilhttp/vigil/tlsconf"
)

// DefaultListen is the address served when Config names none.
const DefaultListen = "localhost:8080"

// DefaultBodyMinRate is the minimum rate of a request body, in bytes per
// second, when Config sets neither BodyMinRate nor MinRate.
const DefaultBodyMinRate = governor.DefaultBodyMinRate

// Config is everything a Server needs. The zero value serves the embedded
// demo device UI on DefaultListen with every bound at its default. Duration
// fields: zero means the default of the package that owns the bound.
type Config struct {
	// Listen lists addresses to listen on: "host:port" or "http://host:port"
	// for HTTP, "https://host:port" for TLS (HTTP/2 by ALPN); IPv6 as
	// "[::1]:8080". Empty means DefaultListen, unless Listeners is set.
	Listen []string
	// TLSCert and TLSKey are PEM files for the https:// listeners;
	// TLSSelfSigned is a directory where a device certificate is made on
	// first start and reused after (used when TLSCert is empty).
	TLSCert, TLSKey, TLSSelfSigned string
	// TLSNames are extra host names or addresses for the device
	// certificate's SANs (it always has the host name, localhost and every
	// interface address).
	TLSNames []string
	// HSTS, if positive, sends Strict-Transport-Security with this max-age
	// on TLS responses (HTTP→HTTPS redirects are route.txt's
	// "protocol=http redirect=https").
	HSTS time.Duration
	// Listeners are already-open listeners to serve as well (socket
	// activation, tests); the Server closes them.
	Listeners []net.Listener

	// Root is a document root directory to serve. Empty means the embedded
	// demo device UI (or FS, if set).
	Root string
	// FS, if set, is served instead of Root or the demo UI.
	FS fs.FS
	// Handler, if set, serves requests instead of the file server.
	Handler http.Handler

	// HeaderTimeout is the total time allowed for a request header, from
	// accept or from the first byte after keep-alive idle.
	HeaderTimeout time.Duration
	// StallTimeout bounds each body read and each write: no progress for
	// this long cuts the connection (abortively).
	StallTimeout time.Duration
	// MinRate is the minimum average rate of a body or response in bytes per
	// second once started; zero means none.
	MinRate int64
	// BodyMinRate is the minimum average rate of a request body alone, in
	// bytes per second once started (after StallTimeout's grace: the body
	// may take StallTimeout plus one second per BodyMinRate bytes). Zero
	// means MinRate when that is set, else governor.DefaultBodyMinRate
	// (500 B/s, Apache mod_reqtimeout's default); negative means none.
	BodyMinRate int64
	// TransferTimeout caps the time one body or one response may take; zero
	// means none.
	TransferTimeout time.Duration
	// IdleTimeout bounds the keep-alive wait for the next request.
	IdleTimeout time.Duration
	// HandlerTimeout bounds a handler's run time: it is the request
	// context's deadline; a handler still running a second later has its
	// connection cut and its stack logged.
	HandlerTimeout time.Duration
	// ShutdownTimeout bounds Shutdown's drain before connections are cut.
	ShutdownTimeout time.Duration
	// BodyLimit caps a request body in bytes; zero means
	// httpd.DefaultBodyLimit.
	BodyLimit int64
	// MaxConns caps open connections across all listeners; MaxConnsPerIP
	// caps them per remote address. Zero means the governor's default,
	// negative no cap.
	MaxConns      int
	MaxConnsPerIP int
	// MaxHandlers caps the handlers running at once, MaxHandlersPerIP
	// those of one client (an IPv4 address or IPv6 /64): over a cap a
	// request gets 503 with Retry-After at once. Zero means httpd's
	// default, negative no cap.
	MaxHandlers      int
	MaxHandlersPerIP int

	// Route is a GoAhead route.txt: routes, their handlers, auth and
	// abilities, and vigil's per-route limits. Empty means every request goes
	// to the content (Root, FS or the demo UI).
	Route string
	// Auth is a GoAhead auth.txt: users and roles. Empty means the user and
	// role lines of Route, if any.
	Auth string
	// Realm is the authentication realm; GoAhead's compiled-in
	// "example.com" by default, so existing MD5 hashes verify.
	Realm string

	// UploadDir is where handler=upload routes put received files until
	// their action moves them; empty means the system's temporary directory.
	// With StoreUploads it is also where upload routes without dir= keep
	// them.
	UploadDir string
	// StoreUploads gives a handler=upload route that has no action (none
	// registered with Server.Action under the path's last segment) one that
	// stores the received files, atomically, in the route's dir= or else
	// UploadDir, and answers 201. The vigil command sets it: it cannot
	// register actions. Without it such a request is a 404, logged at Debug.
	StoreUploads bool
	// TemplateFuncs are the functions handler=tmpl pages may call: an
	// html/template.FuncMap (the field's type is its underlying map, so
	// that a build with -tags notmpl links no template engine).
	TemplateFuncs map[string]any

	// Admin is where the admin endpoint listens (status page, /conns,
	// /handlers, /metrics, /debug/pprof/): "unix:PATH" or "host:port". It
	// never shares the public listeners. Empty means none; DefaultAdmin is
	// what the vigil command uses.
	Admin string
	// AccessLog, if set, receives one Combined Log Format line per request
	// plus its duration in µs and request body bytes. Lines are queued and
	// dropped (counted) if the writer falls behind: a stuck log never blocks
	// a request.
	AccessLog io.Writer
	// Info is the build information and configuration summary the status
	// page shows.
	Info map[string]string

	// Logger receives the server's log; nil means discard.
	Logger *slog.Logger
}

// Server is a vigil web server: governed listeners, HTTP and the configured
// content. Create it with New, then Start; stop it with Shutdown or Close.
type Server struct {
	cfg    Config
	log    *slog.Logger
	gov    *governor.Table
	http   *httpd.Server
	status *status.Server
	admin  *httpd.Server  // nil without Config.Admin
	access *accessLog     // nil without Config.AccessLog
	site   *site.Site     // the route.txt site; nil without Config.Route (and not the demo UI)
	certs  *tlsconf.Certs // nil without https:// listeners
	trim   *trimmer       // started by Start; guarded by mu
	hub    live.Hub       // the WebSockets and event streams, for Shutdown

	mu        sync.Mutex // guards addrs, adminAddr, started and trim
	addrs     []net.Addr
	adminAddr net.Addr
	started   bool
}

// DefaultConfig returns the Config the zero value stands for, with every
// default spelled out.
func DefaultConfig() Config {
	return Config{
		Listen:           []string{DefaultListen},
		HeaderTimeout:    governor.DefaultHeaderTimeout,
		StallTimeout:     governor.DefaultStallTimeout,
		IdleTimeout:      governor.DefaultIdleTimeout,
		HandlerTimeout:   httpd.DefaultHandlerTimeout,
		ShutdownTimeout:  httpd.DefaultShutdownTimeout,
		BodyLimit:        httpd.DefaultBodyLimit,
		MaxConns:         governor.DefaultMaxConns,
		MaxConnsPerIP:    governor.DefaultMaxConnsPerIP,
		MaxHandlers:      httpd.DefaultMaxHandlers,
		MaxHandlersPerIP: httpd.DefaultMaxHandlersPerIP,
		Realm:            DefaultRealm,
	}
}

// validate rejects values that have no meaning, naming the field.
func (c *Config) validate() error {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"HeaderTimeout", c.HeaderTimeout}, {"StallTimeout", c.StallTimeout},
		{"TransferTimeout", c.TransferTimeout}, {"IdleTimeout", c.IdleTimeout},
		{"HandlerTimeout", c.HandlerTimeout}, {"ShutdownTimeout", c.ShutdownTimeout},
	} {
		if d.v < 0 {
			return fmt.Errorf("vigil: config: %s is negative (%v)", d.name, d.v)
		}
	}
	if c.MinRate < 0 {
		return fmt.Errorf("vigil: config: MinRate is negative (%d)", c.MinRate)
	}
	return nil
}

// New builds a Server from cfg; it does not listen until Start.
func New(cfg Config) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = httpd.DefaultShutdownTimeout
	}
	if len(cfg.Listen) == 0 && len(cfg.Listeners) == 0 {
		cfg.Listen = []string{DefaultListen}
	}
	h := cfg.Handler
	if h == nil {
		fsys := cfg.FS
		switch {
		case fsys != nil:
		case cfg.Root != "":
			var err error
			if fsys, err = static.Dir(cfg.Root); err != nil {
				return nil, fmt.Errorf("vigil: root: %w", err)
			}
		default:
			fsys = demo.FS()
		}
		h = static.New(fsys, static.Options{Logger: cfg.Logger})
	}
	gov := governor.NewTable(governor.Options{
		HeaderTimeout:   cfg.HeaderTimeout,
		StallTimeout:    cfg.StallTimeout,
		MinRate:         cfg.MinRate,
		BodyMinRate:     cfg.BodyMinRate,
		TransferTimeout: cfg.TransferTimeout,
		IdleTimeout:     cfg.IdleTimeout,
		MaxConns:        cfg.MaxConns,
		MaxConnsPerIP:   cfg.MaxConnsPerIP,
		Logger:          cfg.Logger,
	})
	s := &Server{cfg: cfg, log: cfg.Logger, gov: gov}
	if slices.ContainsFunc(cfg.Listen, func(a string) bool { return strings.HasPrefix(a, "https://") }) {
		certs, err := tlsconf.Load(tlsconf.Options{CertFile: cfg.TLSCert, KeyFile: cfg.TLSKey,
			SelfSignedDir: cfg.TLSSelfSigned, Names: cfg.TLSNames, Logger: cfg.Logger})
		if err != nil {
			return nil, fmt.Errorf("vigil: tls: %w", err)
		}
		s.certs = certs
		s.log.Info("vigil: TLS certificate", "sha256", certs.Fingerprint())
	}
	var policies httpd.Policies // nil: every request gets the defaults
	demoUI := cfg.Handler == nil && cfg.FS == nil && cfg.Root == ""
	if cfg.Route != "" || demoUI {
		st, err := site.New(site.Options{
			Route: cfg.Route, Auth: cfg.Auth, Realm: cfg.Realm,
			Content: h, ContentHandler: cfg.Handler != nil, Root: cfg.Root, FS: cfg.FS,
			UploadDir: cfg.UploadDir, StoreUploads: cfg.StoreUploads, TemplateFuncs: cfg.TemplateFuncs,
			Hub: &s.hub, Logger: cfg.Logger,
		})
		if err != nil {
			return nil, fmt.Errorf("vigil: %w", err)
		}
		s.site, h, policies = st, st, st
	}
	if demoUI {
		// Every error answer of the demo is a page in its layout.
		h = demo.ErrorPages(h)
	}
	if cfg.AccessLog != nil {
		s.access = newAccessLog(cfg.AccessLog)
	}
	s.http = httpd.New(httpd.Options{
		Handler:  h,
		Governor: gov,
		Routes:   policies,
		Default: route.Policy{
			BodyLimit:      cfg.BodyLimit,
			HandlerTimeout: cfg.HandlerTimeout,
		},
		Logger:           cfg.Logger,
		Done:             s.done,
		HSTS:             cfg.HSTS,
		MaxHandlers:      cfg.MaxHandlers,
		MaxHandlersPerIP: cfg.MaxHandlersPerIP,
	})
	s.status = status.New(status.Options{
		Table:    gov,
		Handlers: s.handlers,
		Stack:    httpd.Stack,
		Info:     cfg.Info,
		Started:  time.Now(),
		Logger:   cfg.Logger,
	})
	if cfg.Admin != "" {
		s.admin = s.newAdmin()
	}
	return s, nil
}

// done hears every finished request: metrics and the access log.
func (s *Server) done(d httpd.Done) {
	s.status.ObserveRequest(d.Status, d.Duration, d.BytesIn, d.BytesOut)
	if s.access != nil {
		s.access.log(d)
	}
}

// Status returns the status server (page, JSON API, metrics), for mounting
// elsewhere, e.g. behind authentication.
func (s *Server) Status() *status.Server { return s.status }

// AdminAddr returns the admin endpoint's address once started, or nil.
func (s *Server) AdminAddr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.adminAddr
}

// Start opens the configured listeners and serves them in the background. It
// returns the first bind or start error, having closed whatever it had
// opened or started (the listeners, those of Config.Listeners too, and the
// admin endpoint): a Server whose Start failed is closed.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("vigil: start: already started")
	}
	s.started = true
	// Keepalive is set per connection by the governor; KeepAlive -1 stops the
	// runtime from setting its own defaults first.
	lc := net.ListenConfig{KeepAlive: -1}
	lns := append([]net.Listener(nil), s.cfg.Listeners...)
	var isTLS []bool
	for range lns {
		isTLS = append(isTLS, false)
	}
	for _, addr := range s.cfg.Listen {
		hp, secure := strings.CutPrefix(addr, "https://")
		hp = strings.TrimPrefix(hp, "http://")
		ln, err := lc.Listen(context.Background(), "tcp", hp)
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return fmt.Errorf("vigil: listen %s: %w", addr, err)
		}
		lns = append(lns, ln)
		isTLS = append(isTLS, secure)
	}
	var adminLn net.Listener
	if s.admin != nil {
		var err error
		if adminLn, err = listenAdmin(s.cfg.Admin); err != nil {
			for _, l := range lns {
				l.Close()
			}
			return fmt.Errorf("vigil: admin %s: %w", s.cfg.Admin, err)
		}
	}
	// fail undoes what Start did when a later step fails: the listeners
	// not yet served are closed, those served are stopped with the server.
	fail := func(from int, err error) error {
		for _, l := range lns[from:] {
			l.Close()
		}
		if adminLn != nil {
			adminLn.Close()
			if path, ok := strings.CutPrefix(s.cfg.Admin, "unix:"); ok {
				os.Remove(path)
			}
		}
		s.http.Close()
		return err
	}
	for i, ln := range lns {
		scheme := "http"
		var err error
		if isTLS[i] {
			scheme = "https"
			err = s.http.StartTLS(ln, s.certs.Config())
			if _, port, perr := net.SplitHostPort(ln.Addr().String()); perr == nil && s.site != nil {
				s.site.SetHTTPSPort(port)
			}
		} else {
			err = s.http.Start(ln)
		}
		if err != nil {
			return fail(i+1, fmt.Errorf("vigil: %w", err))
		}
		s.addrs = append(s.addrs, ln.Addr())
		s.log.Info("vigil: listening", "url", scheme+"://"+ln.Addr().String()+"/")
	}
	if adminLn != nil {
		if err := s.admin.Start(adminLn); err != nil {
			return fail(len(lns), fmt.Errorf("vigil: admin: %w", err))
		}
		s.adminAddr = adminLn.Addr()
		s.log.Info("vigil: admin endpoint", "addr", s.cfg.Admin)
	}
	s.trim = startTrimmer(s.gov, s.log)
	return nil
}

// Addrs returns the addresses the Server listens on, once started.
func (s *Server) Addrs() []net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]net.Addr(nil), s.addrs...)
}

// Governor returns the live connection table.
func (s *Server) Governor() *governor.Table { return s.gov }

// Shutdown stops accepting and drains connections until ctx is done or
// Config.ShutdownTimeout has passed, whichever is first; then it cuts the
// rest. It returns the drain's error (nil if everything finished in time).
func (s *Server) Shutdown(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ShutdownTimeout)
	defer cancel()
	// WebSockets get close 1001 and event streams end, beside the drain
	// (net/http's Shutdown does not wait for hijacked connections, and a
	// stream's handler must return for it to finish).
	s.gov.BeginShutdown()
	var wg sync.WaitGroup
	wg.Go(func() { s.hub.Shutdown(ctx) })
	err := s.http.Shutdown(ctx)
	wg.Wait()
	s.stopAdmin()
	return err
}

// Close cuts every connection and stops listening at once.
func (s *Server) Close() error {
	err := s.http.Close()
	s.stopAdmin()
	return err
}

// stopAdmin closes the admin endpoint (its event streams first), removes
// its unix socket, and flushes the access log.
func (s *Server) stopAdmin() {
	s.mu.Lock()
	trim := s.trim
	s.mu.Unlock()
	if trim != nil {
		trim.Close()
	}
	s.status.Close()
	if s.admin != nil {
		s.admin.Close()
		if path, ok := strings.CutPrefix(s.cfg.Admin, "unix:"); ok && s.AdminAddr() != nil {
			os.Remove(path)
		}
	}
	if s.access != nil {
		s.access.close(time.Second)
	}
}
