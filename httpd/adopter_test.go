package httpd_test

// These tests play an application that already runs net/http and adopts
// the governor with httpd.Govern: its own mux, a gorilla-style middleware
// that wraps the ResponseWriter (with Unwrap), http.ResponseController for
// Flush, Hijack and deadlines, http.ServeFile for downloads (sendfile on
// HTTP/1.1). Each fault runs in every mode (HTTP/1.1, HTTP/1.1 over TLS,
// HTTP/2) against the governed server and against the same server on plain
// net/http, so that every expectation is shown to depend on the governor.

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigilhttp/vigil/governor"
	"github.com/vigilhttp/vigil/httpd"
	"github.com/vigilhttp/vigil/route"
)

// The governor's bounds in these tests, and how long a test waits before
// calling a connection kept.
const (
	headerTimeout = time.Second
	stallTimeout  = time.Second
	idleTimeout   = 1500 * time.Millisecond
	horizon       = 4 * time.Second // a fault not cut by then is held (plain net/http holds them forever)
	keep          = 3 * time.Second // a live exchange must outlive every governed timer
)

type mode struct {
	name    string
	tls, h2 bool
}

var modes = []mode{{"HTTP/1.1", false, false}, {"HTTP/1.1+TLS", true, false}, {"HTTP/2", true, true}}

// event is what a handler of the adopter's server reports when it ends.
type event struct {
	what string
	err  error
	at   time.Time
}

// rig is one adopter server and what its clients need.
type rig struct {
	m      mode
	addr   string
	events chan event
	client *tls.Config // the client's TLS config (nil without TLS)
	closed chan time.Time
	table  *governor.Table // nil for plain net/http
}

func (r *rig) report(what string, err error) {
	select {
	case r.events <- event{what, err, time.Now()}:
	default:
	}
}

// await waits up to max for the handler event named what.
func (r *rig) await(what string, max time.Duration) (event, bool) {
	timer := time.NewTimer(max)
	defer timer.Stop()
	for {
		select {
		case e := <-r.events:
			if e.what == what {
				return e, true
			}
		case <-timer.C:
			return event{}, false
		}
	}
}

// logging is gorilla-style middleware: it wraps the ResponseWriter to
// record the status, and unwraps for http.ResponseController. It keeps
// ReadFrom, as httpsnoop does, so that http.ServeFile still reaches
// sendfile.
func logging(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(lw, r)
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) { w.status = code; w.ResponseWriter.WriteHeader(code) }

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) ReadFrom(src io.Reader) (int64, error) {
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(struct{ io.Writer }{w.ResponseWriter}, src)
}

// bigFile is a 64 MiB file (sparse) for downloads.
func bigFile(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "big.bin")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(64 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return p
}

// adopterHandler is the application: a mux behind middleware, plus a
// CONNECT tunnel (WebSocket-like over HTTP/2, where Upgrade does not
// exist).
func adopterHandler(r *rig, file string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, req *http.Request) { io.WriteString(w, "hello\n") })
	mux.HandleFunc("/big", func(w http.ResponseWriter, req *http.Request) {
		http.ServeFile(w, req, file)
		r.report("download", req.Context().Err())
	})
	mux.HandleFunc("/upload", func(w http.ResponseWriter, req *http.Request) {
		_, err := io.Copy(io.Discard, req.Body)
		r.report("upload", err)
	})
	mux.HandleFunc("/deadline", func(w http.ResponseWriter, req *http.Request) {
		http.NewResponseController(w).SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		_, err := io.Copy(io.Discard, req.Body)
		r.report("deadline", err)
	})
	mux.HandleFunc("/events", func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			if _, err := fmt.Fprintf(w, "data: %d\n\n", i); err != nil {
				r.report("events", err)
				return
			}
			if err := rc.Flush(); err != nil {
				r.report("events", err)
				return
			}
			select {
			case <-req.Context().Done():
				r.report("events", req.Context().Err())
				return
			case <-tick.C:
			}
		}
	})
	mux.HandleFunc("/ws", func(w http.ResponseWriter, req *http.Request) { r.tunnel(w, req) })
	app := logging(mux)
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method == http.MethodConnect {
			logging(http.HandlerFunc(r.tunnel)).ServeHTTP(w, req)
			return
		}
		app.ServeHTTP(w, req)
	})
}

// tunnel is a WebSocket-like endpoint: hijacked after a 101 on HTTP/1.1, a
// full-duplex CONNECT stream on HTTP/2. X-Mode flood writes until the
// connection fails; echo waits (no deadline) for one byte and sends it back.
func (r *rig) tunnel(w http.ResponseWriter, req *http.Request) {
	rc := http.NewResponseController(w)
	var in io.Reader
	var out io.Writer
	flush := func() error { return nil }
	if req.ProtoMajor == 1 {
		c, brw, err := rc.Hijack()
		if err != nil {
			r.report("tunnel", err)
			return
		}
		defer c.Close()
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		in, out = brw, c
	} else {
		w.WriteHeader(http.StatusOK)
		rc.Flush()
		in, out, flush = req.Body, w, rc.Flush
	}
	if req.Header.Get("X-Mode") == "echo" {
		b := make([]byte, 1)
		if _, err := io.ReadFull(in, b); err != nil {
			r.report("tunnel", err)
			return
		}
		out.Write(b)
		r.report("tunnel", flush())
		return
	}
	frame := make([]byte, 16<<10)
	for {
		if _, err := out.Write(frame); err != nil {
			r.report("tunnel", err)
			return
		}
		if err := flush(); err != nil {
			r.report("tunnel", err)
			return
		}
	}
}

// serve starts the adopter's server in mode m, governed or on plain
// net/http.
func serve(t *testing.T, m mode, governed bool) *rig {
	t.Helper()
	r := &rig{m: m, events: make(chan event, 64), closed: make(chan time.Time, 4)}
	srv := &http.Server{
		Handler: adopterHandler(r, bigFile(t)),
		// The application's own hook, which Govern chains: it tells the
		// checks when the server ended a connection.
		ConnState: func(c net.Conn, st http.ConnState) {
			if st == http.StateClosed {
				select {
				case r.closed <- time.Now():
				default:
				}
			}
		},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	if m.tls {
		cert, pool := httpd.TestCert(t)
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		r.client = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
		if !m.h2 {
			srv.TLSConfig.NextProtos = []string{"http/1.1"}
		}
	}
	serveFn := srv.Serve
	if m.tls {
		serveFn = func(ln net.Listener) error { return srv.ServeTLS(ln, "", "") }
	}
	var gs *httpd.Server
	if governed {
		r.table = governor.NewTable(governor.Options{
			HeaderTimeout: headerTimeout, StallTimeout: stallTimeout, IdleTimeout: idleTimeout,
		})
		gs = httpd.Govern(srv, r.table)
		serveFn = gs.Serve
		if m.tls {
			serveFn = func(ln net.Listener) error { return gs.ServeTLS(ln, "", "") }
		}
	}
	done := make(chan error, 1)
	go func() { done <- serveFn(ln) }()
	t.Cleanup(func() {
		if gs != nil {
			gs.Close()
		} else {
			srv.Close()
		}
		select {
		case err := <-done:
			if !errors.Is(err, http.ErrServerClosed) {
				t.Errorf("Serve returned %v, want http.ErrServerClosed", err)
			}
		case <-time.After(3 * time.Second):
			t.Error("Serve did not return after Close")
		}
	})
	return r
}

// dial opens a raw connection (TLS with ALPN proto when the mode has TLS),
// closed when the test ends.
func (r *rig) dial(t *testing.T, proto string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", r.addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if !r.m.tls {
		return c
	}
	cfg := r.client.Clone()
	cfg.NextProtos = []string{proto}
	tc := tls.Client(c, cfg)
	tc.SetDeadline(time.Now().Add(2 * time.Second))
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	tc.SetDeadline(time.Time{})
	return tc
}

// h2 returns an HTTP/2 client.
func (r *rig) h2(t *testing.T) *http.Client {
	tr := &http.Transport{ForceAttemptHTTP2: true, TLSClientConfig: r.client}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// outcome is what a check saw: how long until the fault was cut, or that it
// was held (kept) for the test's horizon.
type outcome struct {
	d    time.Duration
	kept bool
}

func (o outcome) String() string {
	if o.kept {
		return fmt.Sprintf("kept %.1fs", o.d.Seconds())
	}
	return fmt.Sprintf("cut %.2fs", o.d.Seconds())
}

// cutBy returns the outcome of waiting for the handler event what, from
// start.
func (r *rig) cutBy(what string, start time.Time, max time.Duration) (outcome, event) {
	e, ok := r.await(what, max)
	if !ok {
		return outcome{d: time.Since(start), kept: true}, e
	}
	return outcome{d: e.at.Sub(start)}, e
}

// waitEnd reads c until the server ends it (EOF or reset) or max passes.
func waitEnd(c net.Conn, start time.Time, max time.Duration) outcome {
	c.SetReadDeadline(start.Add(max))
	_, err := io.Copy(io.Discard, c)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return outcome{d: time.Since(start), kept: true}
	}
	return outcome{d: time.Since(start)}
}

// A check plays one client against a rig and says what happened.
type check struct {
	name string
	run  func(t *testing.T, r *rig) outcome
	// what the governed server must do: cut within [lo, hi], or keep
	// (hi == 0); plain net/http is expected to keep every exchange, or to
	// cut within [lo, hi] too when plainCuts.
	lo, hi    time.Duration
	plainCuts bool
}

var checks = []check{
	{name: "slowloris header", lo: 800 * time.Millisecond, hi: 3500 * time.Millisecond, run: func(t *testing.T, r *rig) outcome {
		proto, head := "http/1.1", "GET / HTTP/1.1\r\nHost: x\r\n"
		if r.m.h2 {
			// The preface, an empty SETTINGS frame, and the 9-byte header
			// of a 1000-byte HEADERS frame whose payload then trickles.
			proto, head = "h2", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"+
				"\x00\x00\x00\x04\x00\x00\x00\x00\x00"+
				"\x00\x03\xe8\x01\x04\x00\x00\x00\x01"
		}
		c := r.dial(t, proto)
		start := time.Now()
		io.WriteString(c, head)
		go func() {
			for range 60 {
				if _, err := c.Write([]byte("X")); err != nil {
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
		}()
		return waitEnd(c, start, horizon)
	}},
	{name: "idle keep-alive closed at the idle timeout, not the header timeout", lo: idleTimeout - 200*time.Millisecond, hi: idleTimeout + 1200*time.Millisecond, run: func(t *testing.T, r *rig) outcome {
		if r.m.h2 {
			resp, err := r.h2(t).Get("https://" + r.addr + "/")
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			start := time.Now()
			select {
			case at := <-r.closed:
				return outcome{d: at.Sub(start)}
			case <-time.After(horizon):
				return outcome{d: horizon, kept: true}
			}
		}
		c := r.dial(t, "http/1.1")
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		start := time.Now()
		c.SetReadDeadline(start.Add(horizon))
		_, err = io.Copy(io.Discard, br)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return outcome{d: horizon, kept: true}
		}
		return outcome{d: time.Since(start)}
	}},
	{name: "never-reading download (http.ServeFile)", lo: 500 * time.Millisecond, hi: 3500 * time.Millisecond, run: func(t *testing.T, r *rig) outcome {
		if r.m.h2 {
			resp, err := r.h2(t).Get("https://" + r.addr + "/big")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { resp.Body.Close() })
			o, _ := r.cutBy("download", time.Now(), horizon)
			return o
		}
		c := r.dial(t, "http/1.1")
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetReadBuffer(16 << 10)
		}
		start := time.Now()
		io.WriteString(c, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
		o, _ := r.cutBy("download", start, horizon)
		return o
	}},
	// 50 B/s against the default body rate of 500 B/s: StallTimeout plus 1 s
	// per 500 B runs out at about 1.1 s. Over TLS the governor counts the
	// records' bytes (27 B a write): about 2.2 s.
	{name: "trickled POST body (50 B/s)", lo: 900 * time.Millisecond, hi: 3200 * time.Millisecond, run: func(t *testing.T, r *rig) outcome {
		trickle := func(w io.Writer) {
			for range 50 {
				if _, err := w.Write(make([]byte, 5)); err != nil {
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
		start := time.Now()
		if r.m.h2 {
			pr, pw := io.Pipe()
			t.Cleanup(func() { pw.Close() })
			go trickle(pw)
			req, _ := http.NewRequest("POST", "https://"+r.addr+"/upload", pr)
			req.ContentLength = 100000
			go func() {
				if resp, err := r.h2(t).Do(req); err == nil {
					resp.Body.Close()
				}
			}()
		} else {
			c := r.dial(t, "http/1.1")
			io.WriteString(c, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
			go trickle(c)
		}
		o, e := r.cutBy("upload", start, horizon)
		if !o.kept && r.table != nil {
			var te *governor.TimeoutError
			if !errors.As(e.err, &te) || te.Cause != governor.CauseMinRate {
				t.Errorf("the handler's read failed with %v, want a *governor.TimeoutError for min-rate", e.err)
			}
		}
		return o
	}},
	{name: "a ResponseController read deadline", lo: 200 * time.Millisecond, hi: 1200 * time.Millisecond, plainCuts: true, run: func(t *testing.T, r *rig) outcome {
		start := time.Now()
		if r.m.h2 {
			pr, pw := io.Pipe()
			t.Cleanup(func() { pw.Close() })
			req, _ := http.NewRequest("POST", "https://"+r.addr+"/deadline", pr)
			go func() {
				if resp, err := r.h2(t).Do(req); err == nil {
					resp.Body.Close()
				}
			}()
		} else {
			c := r.dial(t, "http/1.1")
			io.WriteString(c, "POST /deadline HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n")
		}
		o, e := r.cutBy("deadline", start, horizon)
		var te *governor.TimeoutError
		if !o.kept && (!errors.Is(e.err, os.ErrDeadlineExceeded) || errors.As(e.err, &te)) {
			t.Errorf("the handler's read failed with %v, want its own deadline (os.ErrDeadlineExceeded, no governor verdict)", e.err)
		}
		return o
	}},
	{name: "alive SSE stream kept", run: func(t *testing.T, r *rig) outcome {
		var body io.Reader
		start := time.Now()
		if r.m.h2 {
			req, _ := http.NewRequest("GET", "https://"+r.addr+"/events", nil)
			req.Header.Set("Accept", "text/event-stream")
			resp, err := r.h2(t).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { resp.Body.Close() })
			body = resp.Body
		} else {
			c := r.dial(t, "http/1.1")
			io.WriteString(c, "GET /events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
			c.SetReadDeadline(start.Add(keep + time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			body = resp.Body
		}
		sc := bufio.NewScanner(body)
		events := 0
		for time.Since(start) < keep && sc.Scan() {
			if strings.HasPrefix(sc.Text(), "data: ") {
				events++
			}
		}
		if time.Since(start) < keep {
			return outcome{d: time.Since(start)}
		}
		if min := int(keep / (200 * time.Millisecond) / 2); events < min {
			t.Errorf("%d events in %v, want at least %d", events, keep, min)
		}
		return outcome{d: keep, kept: true}
	}},
	{name: "WebSocket-like client that stops reading", lo: 500 * time.Millisecond, hi: 3500 * time.Millisecond, run: func(t *testing.T, r *rig) outcome {
		start := time.Now()
		if r.m.h2 {
			pr, pw := io.Pipe()
			t.Cleanup(func() { pw.Close() })
			req, _ := http.NewRequest("CONNECT", "https://"+r.addr, pr)
			req.Header.Set("X-Mode", "flood")
			resp, err := r.h2(t).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { resp.Body.Close() })
		} else {
			c := r.dial(t, "http/1.1")
			if tc, ok := c.(*net.TCPConn); ok {
				tc.SetReadBuffer(16 << 10)
			}
			io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Mode: flood\r\n\r\n")
		}
		o, _ := r.cutBy("tunnel", start, horizon)
		return o
	}},
	{name: "idle alive WebSocket-like connection kept", run: func(t *testing.T, r *rig) outcome {
		var in io.Reader
		var out io.Writer
		if r.m.h2 {
			pr, pw := io.Pipe()
			t.Cleanup(func() { pw.Close() })
			req, _ := http.NewRequest("CONNECT", "https://"+r.addr, pr)
			req.Header.Set("X-Mode", "echo")
			resp, err := r.h2(t).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { resp.Body.Close() })
			in, out = resp.Body, pw
		} else {
			c := r.dial(t, "http/1.1")
			io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Mode: echo\r\n\r\n")
			c.SetReadDeadline(time.Now().Add(keep + 2*time.Second))
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, nil)
			if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
				t.Fatalf("upgrade: %v %v", resp, err)
			}
			in, out = br, c
		}
		start := time.Now()
		time.Sleep(keep)
		if _, err := out.Write([]byte("!")); err != nil {
			return outcome{d: time.Since(start)}
		}
		b := make([]byte, 1)
		if _, err := io.ReadFull(in, b); err != nil || b[0] != '!' {
			return outcome{d: time.Since(start)}
		}
		return outcome{d: keep, kept: true}
	}},
}

// TestAdopter runs every check in every mode, governed and on plain
// net/http, and logs the table of what each did (go test -v -run
// TestAdopter ./httpd).
func TestAdopter(t *testing.T) {
	var mu sync.Mutex
	table := map[string]map[string]string{}
	t.Cleanup(func() {
		names := make([]string, 0, len(table))
		for n := range table {
			names = append(names, n)
		}
		sort.Strings(names)
		var b strings.Builder
		fmt.Fprintf(&b, "\n| check | mode | governed | plain net/http |\n|---|---|---|---|\n")
		for _, c := range checks {
			for _, m := range modes {
				row := table[c.name+"|"+m.name]
				fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", c.name, m.name, row["governed"], row["plain"])
			}
		}
		t.Log(b.String())
	})
	for _, c := range checks {
		for _, m := range modes {
			if m.h2 && !httpd.HTTP2 {
				continue // built with -tags nethttpomithttp2
			}
			for _, governed := range []bool{true, false} {
				kind := "plain"
				if governed {
					kind = "governed"
				}
				t.Run(c.name+"/"+m.name+"/"+kind, func(t *testing.T) {
					t.Parallel()
					r := serve(t, m, governed)
					o := c.run(t, r)
					mu.Lock()
					key := c.name + "|" + m.name
					if table[key] == nil {
						table[key] = map[string]string{}
					}
					table[key][kind] = o.String()
					mu.Unlock()
					wantCut := c.hi > 0 && (governed || c.plainCuts)
					switch {
					case wantCut && o.kept:
						t.Errorf("held for %v, want cut within [%v, %v]", o.d, c.lo, c.hi)
					case wantCut && (o.d < c.lo || o.d > c.hi):
						t.Errorf("cut after %v, want within [%v, %v]", o.d, c.lo, c.hi)
					case !wantCut && !o.kept:
						t.Errorf("cut after %v, want it kept", o.d)
					}
				})
			}
		}
	}
}

// TestGovernChains checks that Govern keeps the application's own
// callbacks and settings.
func TestGovernChains(t *testing.T) {
	type key struct{}
	var states [5]atomic.Int32
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			v, _ := r.Context().Value(key{}).(string)
			gc := httpd.ConnFrom(r.Context())
			fmt.Fprintf(w, "%s %v", v, gc != nil)
		}),
		ConnState: func(c net.Conn, st http.ConnState) {
			if int(st) < len(states) {
				states[st].Add(1)
			}
		},
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, key{}, "app")
		},
	}
	tab := governor.NewTable(governor.Options{})
	gs := httpd.Govern(srv, tab)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- gs.Serve(ln) }()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "app true" {
		t.Errorf("handler saw %q, want the application's context value and the governed conn (\"app true\")", b)
	}
	if srv.IdleTimeout != tab.Options().IdleTimeout {
		t.Errorf("srv.IdleTimeout = %v, want the table's %v", srv.IdleTimeout, tab.Options().IdleTimeout)
	}
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve returned %v after srv.Shutdown, want http.ErrServerClosed", err)
	}
	if states[http.StateNew].Load() != 1 || states[http.StateActive].Load() != 1 {
		t.Errorf("the application's ConnState saw new=%d active=%d, want 1 and 1",
			states[http.StateNew].Load(), states[http.StateActive].Load())
	}
	if st := tab.Stats(); st.Accepted != 1 {
		t.Errorf("table accepted %d connections, want 1", st.Accepted)
	}
}

// TestHandlerTimeoutSparesLongLived checks that a handler timeout (New with
// Options.HTTP) ends an ordinary handler's context but neither an event
// stream nor a hijacked connection (hijacked without an Upgrade header, so
// that it has a deadline: the watchdog must leave it alone), and that
// nothing is written on the hijacked writer after the deadline.
func TestHandlerTimeoutSparesLongLived(t *testing.T) {
	for _, m := range []mode{modes[0], modes[2]} {
		t.Run(m.name, func(t *testing.T) {
			if m.h2 && !httpd.HTTP2 {
				t.Skip("built with -tags nethttpomithttp2: no HTTP/2")
			}
			t.Parallel()
			r := &rig{m: m, events: make(chan event, 64), closed: make(chan time.Time, 4)}
			var errs logLines
			mux := http.NewServeMux()
			mux.Handle("/", adopterHandler(r, bigFile(t)))
			mux.HandleFunc("/slow", func(w http.ResponseWriter, req *http.Request) {
				<-req.Context().Done()
				r.report("slow", req.Context().Err())
			})
			srv := &http.Server{Handler: mux, ErrorLog: log.New(&errs, "", 0)}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			r.addr = ln.Addr().String()
			gs := httpd.New(httpd.Options{
				HTTP:     srv,
				Governor: governor.NewTable(governor.Options{HeaderTimeout: headerTimeout, StallTimeout: stallTimeout, IdleTimeout: idleTimeout}),
				Default:  route.Policy{HandlerTimeout: 500 * time.Millisecond},
			})
			done := make(chan error, 1)
			if m.tls {
				cert, pool := httpd.TestCert(t)
				srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
				r.client = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
				go func() { done <- gs.ServeTLS(ln, "", "") }()
			} else {
				go func() { done <- gs.Serve(ln) }()
			}
			t.Cleanup(func() {
				gs.Close()
				<-done
				if strings.Contains(errs.String(), "hijacked") {
					t.Errorf("net/http logged a write on a hijacked connection:\n%s", errs.String())
				}
			})
			get := func(path, accept string) (*http.Response, error) {
				req, _ := http.NewRequest("GET", "http://"+r.addr+path, nil)
				req.Header.Set("Accept", accept)
				c := &http.Client{Timeout: 10 * time.Second}
				if m.h2 {
					req.URL.Scheme = "https"
					c = r.h2(t)
				}
				return c.Do(req)
			}

			start := time.Now()
			go func() {
				if resp, err := get("/slow", "*/*"); err == nil {
					resp.Body.Close()
				}
			}()
			if o, e := r.cutBy("slow", start, horizon); o.kept || !errors.Is(e.err, context.DeadlineExceeded) || o.d > 1500*time.Millisecond {
				t.Errorf("an ordinary handler: %v, context %v; want its context's deadline at 500ms", o, e.err)
			}

			resp, err := get("/events", "text/event-stream")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			sc := bufio.NewScanner(resp.Body)
			start = time.Now()
			for time.Since(start) < 2*time.Second && sc.Scan() {
			}
			if time.Since(start) < 2*time.Second {
				t.Errorf("the event stream ended after %v (%v), want it kept past the 500ms handler timeout", time.Since(start), sc.Err())
			}
			if m.h2 {
				return
			}

			c, err := net.DialTimeout("tcp", r.addr, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: x\r\nX-Mode: echo\r\n\r\n")
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			br := bufio.NewReader(c)
			if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
				t.Fatalf("hijack: %v %v", resp, err)
			}
			time.Sleep(2 * time.Second) // past the deadline and HandlerGrace
			io.WriteString(c, "!")
			rest, err := io.ReadAll(br)
			if string(rest) != "!" || err != nil {
				t.Errorf("after 2s idle the hijacked connection gave %q, %v; want the echo \"!\" and a clean close", rest, err)
			}
		})
	}
}

type logLines struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
