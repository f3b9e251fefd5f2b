//go:build linux

package httpd

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigilhttp/vigil/governor"
	"github.com/vigilhttp/vigil/route"
)

// bigHandler writes up to 64 MiB to the peer.
var bigHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	buf := make([]byte, 64<<10)
	for range 1024 {
		if _, err := w.Write(buf); err != nil {
			return
		}
	}
})

func TestPeerVerdicts(t *testing.T) {
	t.Run("a reader that stops is told: it receives a RST at the stall timeout, cause stall", func(t *testing.T) {
		t.Parallel()
		f := start(t, governor.Options{}, Options{Handler: bigHandler})
		c := f.dial(t)
		c.SetReadBuffer(4 << 10)
		io.WriteString(c, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
		if _, err := io.CopyN(io.Discard, c, 64<<10); err != nil {
			t.Fatal(err)
		}
		t0 := time.Now() // the reader stops here, alive: its kernel answers window probes
		var told time.Duration
		for time.Since(t0) < 4*time.Second {
			if tcpStateOf(t, c) == unix.BPF_TCP_CLOSE { // a RST arrived
				told = time.Since(t0)
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if told == 0 || told > 2*time.Second {
			t.Fatalf("the stopped reader was told (RST) after %v, want within stall + 1 s = 2 s", told)
		}
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		_, err := io.Copy(io.Discard, c)
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("the stopped reader's connection ended with %v, want a reset", err)
		}
		s := f.srv.Governor().Stats()
		if s.Closed[governor.CauseStall] != 1 {
			t.Errorf("closes %v, want one for stall (the peer is alive, not gone)", s.Closed)
		}
		if !strings.Contains(f.logs.String(), "phase=write cause=stall") {
			t.Errorf("the close is not logged as a write stall")
		}
		t.Logf("stopped reader received the RST %v after it stopped reading (stall timeout 1s)", told.Round(time.Millisecond))
	})

	t.Run("a slow reader whose acknowledgements advance is never cut, nor shown stuck", func(t *testing.T) {
		t.Parallel()
		f := start(t, governor.Options{}, Options{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// A small send buffer keeps the response in the governor's
			// hands (blocked writes) rather than in the kernel's.
			ConnFrom(r.Context()).NetConn().(*net.TCPConn).SetWriteBuffer(16 << 10)
			w.Header().Set("Content-Length", "1048576")
			buf := make([]byte, 64<<10)
			for range 16 {
				w.Write(buf)
			}
		})})
		c := f.dial(t)
		c.SetReadBuffer(8 << 10)
		io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		// Slowly, for 3.5 s: three and a half stall timeouts with the
		// window closed most of the time.
		buf := make([]byte, 16<<10)
		var got int
		start := time.Now()
		for i := 0; i < 200 && time.Since(start) < 3500*time.Millisecond; i++ {
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			n, err := io.ReadFull(c, buf)
			got += n
			if err != nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
			if i%10 == 5 {
				for _, ci := range f.srv.Governor().Snapshot() {
					if ci.SinceProgress > 500*time.Millisecond {
						t.Errorf("the slow reader's row shows %v without progress", ci.SinceProgress)
					}
				}
			}
		}
		if d := time.Since(start); got < 128<<10 || d < 3*time.Second {
			t.Errorf("the slow reader got %d bytes in %v, want more than 128 KiB over 3 s", got, d)
		}
		if s := f.srv.Governor().Stats(); s.Closed[governor.CauseStall]+s.Closed[governor.CauseDeadPeer] != 0 {
			t.Errorf("closes %v, want none for stall or dead-peer", s.Closed)
		}
	})
}

func TestRequests(t *testing.T) {
	t.Run("a panicking handler is counted as 500", func(t *testing.T) {
		var mu sync.Mutex
		var statuses []int
		f := start(t, governor.Options{}, Options{
			Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic("boom") }),
			Done: func(d Done) {
				mu.Lock()
				statuses = append(statuses, d.Status)
				mu.Unlock()
			},
		})
		if resp, _ := get(t, f.addr, "/"); resp.StatusCode != 500 {
			t.Errorf("status %d, want 500", resp.StatusCode)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(statuses) != 1 || statuses[0] != 500 {
			t.Errorf("reported statuses %v, want [500]", statuses)
		}
	})

	// A handler that refuses without reading the body answers at once, and
	// no 100 Continue goes out; a body declared over the limit is 413
	// before any of it is sent.
	for _, tt := range []struct {
		name, path string
		length     int
		want       int
	}{
		{"Expect: 100-continue to a handler that answers without reading gets its answer at once", "/refuse", 100, 401},
		{"Expect: 100-continue with a declared body over the limit gets 413 at once", "/read", 1 << 20, 413},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := start(t, governor.Options{}, Options{
				Default: route.Policy{BodyLimit: 1000},
				Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Path == "/refuse" {
						http.Error(w, "no", http.StatusUnauthorized)
						return
					}
					io.Copy(io.Discard, r.Body)
				}),
			})
			c := f.dial(t)
			c.SetDeadline(time.Now().Add(3 * time.Second))
			t0 := time.Now()
			fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", tt.path, tt.length)
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("status %d, want %d (a 100 Continue or the handler's answer late)", resp.StatusCode, tt.want)
			}
			if d := time.Since(t0); d > 300*time.Millisecond {
				t.Errorf("answered after %v, want at once", d)
			}
		})
	}

	t.Run("a client already sending a body over the limit reads the 413, not a reset", func(t *testing.T) {
		f := start(t, governor.Options{}, Options{Default: route.Policy{BodyLimit: 1000},
			Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) })})
		body := strings.Repeat("x", 512<<10)
		for i := range 5 {
			c := f.dial(t)
			c.SetDeadline(time.Now().Add(3 * time.Second))
			go fmt.Fprintf(c, "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
			time.Sleep(100 * time.Millisecond) // the client reads late: a reset by then would destroy the 413
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatalf("try %d: %v, want the 413", i, err)
			}
			if b, err := io.ReadAll(resp.Body); err != nil || string(b) != "413 request body too large\n" {
				t.Fatalf("try %d: body %q, %v: want the whole 413 body", i, b, err)
			}
			resp.Body.Close()
			c.Close()
			if resp.StatusCode != 413 {
				t.Fatalf("try %d: status %d, want 413", i, resp.StatusCode)
			}
		}
	})

	t.Run("StartTLS keeps the caller's GetConfigForClient and VerifyConnection", func(t *testing.T) {
		cert, pool := testCert(t)
		verified, chose := make(chan struct{}, 8), make(chan struct{}, 8)
		cfg := &tls.Config{
			GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
				chose <- struct{}{}
				return &tls.Config{Certificates: []tls.Certificate{cert},
					VerifyConnection: func(tls.ConnectionState) error { verified <- struct{}{}; return nil }}, nil
			},
		}
		tab := governor.NewTable(governor.Options{HeaderTimeout: time.Second, StallTimeout: time.Second})
		srv := New(Options{Handler: hello, Governor: tab})
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.StartTLS(ln, cfg); err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get("https://" + ln.Addr().String() + "/")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		for name, ch := range map[string]chan struct{}{"GetConfigForClient": chose, "VerifyConnection": verified} {
			select {
			case <-ch:
			default:
				t.Errorf("the caller's %s was not called", name)
			}
		}
		if resp.ProtoMajor != 2 {
			t.Errorf("served %s: the caller's config lost h2", resp.Proto)
		}
	})
}

// tcpStateOf returns the kernel's TCP state of c (Linux TCP_INFO).
func tcpStateOf(t *testing.T, c *net.TCPConn) int {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	state := -1
	rc.Control(func(fd uintptr) {
		if i, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO); err == nil {
			state = int(i.State)
		}
	})
	return state
}

type statePolicies struct{ gen *atomic.Int64 }

func (p statePolicies) Policy(r *http.Request) (route.Policy, string, bool) {
	pol, name, ok, _ := p.PolicyState(r)
	return pol, name, ok
}

func (p statePolicies) PolicyState(r *http.Request) (route.Policy, string, bool, any) {
	g := p.gen.Add(1) // a reload right after: the handler must still see g
	return route.Policy{HandlerTimeout: -1}, "/", true, g
}

func TestPolicyState(t *testing.T) {
	var gen atomic.Int64
	f := start(t, governor.Options{}, Options{Routes: statePolicies{&gen}, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, StateFrom(r.Context()), " ", gen.Load())
	})})
	for i := int64(1); i <= 3; i++ {
		if _, body := get(t, f.addr, "/"); body != fmt.Sprintf("%d %d", i, i) {
			t.Errorf("request %d: handler saw %q, want the state its policy came from", i, body)
		}
	}
}

func TestHandlerCaps(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	var mu sync.Mutex
	var statuses []int
	f := start(t, governor.Options{}, Options{MaxHandlers: -1, MaxHandlersPerIP: 1,
		Done: func(d Done) { mu.Lock(); statuses = append(statuses, d.Status); mu.Unlock() },
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/hold":
				<-release
			case "/hijack": // a WebSocket-like exchange: the connection is the handler's now
				c, _, err := http.NewResponseController(w).Hijack()
				if err == nil {
					defer c.Close()
					<-release
				}
			default:
				io.WriteString(w, "ok")
			}
		})})
	for _, tt := range []struct {
		hold string
		want int
	}{{"/hold", 503}, {"/hijack", 200}} {
		c := f.dial(t)
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", tt.hold)
		time.Sleep(100 * time.Millisecond) // the handler is running
		resp, _ := get(t, f.addr, "/")
		if resp.StatusCode != tt.want {
			t.Errorf("a second request while %s runs: %d, want %d", tt.hold, resp.StatusCode, tt.want)
		}
		if tt.want == 503 && resp.Header.Get("Retry-After") == "" {
			t.Error("the 503 has no Retry-After")
		}
		if tt.want == 503 {
			mu.Lock()
			seen := slices.Clone(statuses)
			mu.Unlock()
			if !slices.Contains(seen, 503) {
				t.Errorf("the 503 was not reported to Done (statuses %v): the access log and metrics would miss it", seen)
			}
		}
		c.Close()
		select {
		case release <- struct{}{}:
		case <-time.After(2 * time.Second):
			t.Fatalf("the %s handler never ran", tt.hold)
		}
	}
}
