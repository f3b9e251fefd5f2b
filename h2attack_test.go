package vigil_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigilhttp/vigil"
	"github.com/vigilhttp/vigil/faultkit"
	"github.com/vigilhttp/vigil/httpd"
	"github.com/vigilhttp/vigil/static"
)

// Bounds of the HTTP/2 attack rig.
const (
	h2Timeout     = 2 * time.Second // header, stall and idle
	h2BodyMinRate = 1000            // bytes/s
	h2ProbeEvery  = 100 * time.Millisecond
	h2ProbeMax    = 100 * time.Millisecond // the bound on a probe during an attack
	// h2ProbeMaxRace is the bound under the race detector, which slows
	// the server (and the attacker sharing its cores, and go test's other
	// packages) several times over.
	h2ProbeMaxRace = time.Second
)

// probeMax is the bound on a probe during an attack in this build.
func probeMax() time.Duration {
	if raceEnabled {
		return h2ProbeMaxRace
	}
	return h2ProbeMax
}

// h2Rig is vigil on an https loopback listener (HTTP/2 by ALPN, a
// self-signed certificate) whose handler counts the requests in flight.
type h2Rig struct {
	srv      *vigil.Server
	addr     string
	inFlight atomic.Int64
	logs     *syncBuf
}

func newH2Rig(t *testing.T) *h2Rig {
	t.Helper()
	root := t.TempDir()
	big, err := os.Create(filepath.Join(root, "big.bin"))
	if err != nil {
		t.Fatal(err)
	}
	big.Truncate(64 << 20)
	big.Close()
	os.WriteFile(filepath.Join(root, "index.html"), []byte(pullProbe), 0o644)
	fsys, err := static.Dir(root)
	if err != nil {
		t.Fatal(err)
	}
	files := static.New(fsys, static.Options{})
	r := &h2Rig{logs: &syncBuf{}}
	handler := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.inFlight.Add(1)
		defer r.inFlight.Add(-1)
		if req.URL.Path == "/upload" {
			// A body reader: it answers only a whole body; on an error it
			// returns and leaves the stream to the server.
			if _, err := io.Copy(io.Discard, req.Body); err == nil {
				io.WriteString(w, "received\n")
			}
			return
		}
		files.ServeHTTP(w, req)
	})
	srv, err := vigil.New(vigil.Config{
		Listen:        []string{"https://127.0.0.1:0"},
		TLSSelfSigned: t.TempDir(),
		Handler:       handler,
		HeaderTimeout: h2Timeout,
		StallTimeout:  h2Timeout,
		IdleTimeout:   h2Timeout,
		BodyMinRate:   h2BodyMinRate,
		Logger:        slog.New(slog.NewTextHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	r.srv, r.addr = srv, srv.Addrs()[0].String()
	t.Cleanup(func() {
		srv.Close()
		if t.Failed() {
			t.Logf("server log (last 8 KiB):\n%s", tail(r.logs.String(), 8<<10))
		}
	})
	return r
}

// tail returns the last n bytes of s.
func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// dial opens a fresh h2 connection for the test.
func (r *h2Rig) dial(t *testing.T, opt faultkit.DialOptions) net.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	c, err := faultkit.H2.Dial(ctx, r.addr, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// probeLoop fetches /index.html over HTTP/2 on a fresh connection every
// h2ProbeEvery until stopped, and keeps the slowest latency and the first
// failure.
type probeLoop struct {
	addr   string
	tr     *http.Transport
	client *http.Client
	stop   chan struct{}
	done   chan struct{}
	n      int           // written by the loop, read after done
	worst  time.Duration // same
	err    error         // same
}

func (r *h2Rig) startProbes() *probeLoop {
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, // the rig's self-signed certificate
		ForceAttemptHTTP2: true,
		DisableKeepAlives: true, // a fresh connection per probe
	}
	p := &probeLoop{stop: make(chan struct{}), done: make(chan struct{}), addr: r.addr, tr: tr,
		client: &http.Client{Transport: tr, Timeout: 2 * time.Second}}
	go func() {
		defer close(p.done)
		tick := time.NewTicker(h2ProbeEvery)
		defer tick.Stop()
		for range 10000 {
			select {
			case <-p.stop:
				return
			case <-tick.C:
			}
			p.probe()
		}
	}()
	return p
}

// probe fetches the page once and records the outcome.
func (p *probeLoop) probe() {
	defer p.tr.CloseIdleConnections()
	t0 := time.Now()
	resp, err := p.client.Get("https://" + p.addr + "/index.html")
	if err == nil {
		b, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case rerr != nil:
			err = rerr
		case resp.StatusCode != 200 || resp.ProtoMajor != 2 || string(b) != pullProbe:
			err = fmt.Errorf("probe: %s %d %q", resp.Proto, resp.StatusCode, b)
		}
	}
	p.n++
	p.worst = max(p.worst, time.Since(t0))
	if err != nil && p.err == nil {
		p.err = err
	}
}

// end stops the loop and fails t unless every probe was served within
// probeMax; it returns the slowest.
func (p *probeLoop) end(t *testing.T) time.Duration {
	t.Helper()
	close(p.stop)
	<-p.done
	if p.n == 0 { // the attack was over within h2ProbeEvery: probe its aftermath
		p.probe()
	}
	if p.err != nil {
		t.Errorf("a probe during the attack failed: %v", p.err)
	}
	if p.n == 0 {
		t.Error("no probe ran during the attack")
	}
	if p.worst > probeMax() {
		t.Errorf("the slowest of %d probes during the attack took %v, want at most %v", p.n, p.worst.Round(time.Millisecond), probeMax())
	}
	return p.worst
}

// openFDs counts this process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(ents)
}

// baseline waits up to 3 s for goroutines and fds to be back at most slack
// above base, and fails t otherwise.
func baseline(t *testing.T, goroutines, fds int) {
	t.Helper()
	const slack = 3
	var g, f int
	for range 60 {
		g, f = runtime.NumGoroutine(), openFDs(t)
		if g <= goroutines+slack && f <= fds+slack {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	t.Errorf("after the attack: %d goroutines (baseline %d), %d fds (baseline %d); goroutines:\n%s", g, goroutines, f, fds, tail(string(buf), 16<<10))
}

// TestH2Attacks runs each HTTP/2 fault and attack against a real vigil
// (stall, header and idle 2 s, body min rate 1000 B/s) while a probe on a
// fresh connection every 100 ms must be served within 100 ms (500 ms under
// the race detector), and checks
// how the server ended it, that no handler is left running and that
// goroutines and file descriptors are back to their baseline after it.
// One log line per attack, and the table at the end.
func TestH2Attacks(t *testing.T) {
	if !httpd.HTTP2 {
		t.Skip("built with -tags nethttpomithttp2: no HTTP/2")
	}
	r := newH2Rig(t)
	// Warm up (certificate, first handshake), then take the baseline.
	warm := r.startProbes()
	time.Sleep(3 * h2ProbeEvery)
	warm.end(t)
	time.Sleep(200 * time.Millisecond)
	goroutines, fds := runtime.NumGoroutine(), openFDs(t)

	type attack struct {
		name    string
		timeout time.Duration
		opt     faultkit.DialOptions
		run     func(ctx context.Context, c net.Conn) (faultkit.Result, error)
		check   func(t *testing.T, res faultkit.Result, cause string)
	}
	attacks := []attack{
		{
			name: "idle connection with PING, WINDOW_UPDATE and SETTINGS chatter", timeout: h2Timeout + 3*time.Second,
			run: func(ctx context.Context, c net.Conn) (faultkit.Result, error) {
				return faultkit.H2Idle(ctx, c, "/index.html", 500*time.Millisecond)
			},
			check: func(t *testing.T, res faultkit.Result, cause string) {
				// GOAWAY at the idle expiry, then net/http's 1 s for frames
				// in flight before the close.
				if res.GoAway == "" || res.Ended == faultkit.EndedOpen || res.Held < h2Timeout-250*time.Millisecond || res.Held > h2Timeout+1500*time.Millisecond {
					t.Errorf("got %+v, want a GOAWAY and the close at the idle timeout %v (+1.5 s), not before", res, h2Timeout)
				}
				if cause != "idle" {
					t.Errorf("closed with cause %q, want idle", cause)
				}
			},
		},
		{
			name: "zero-window reader, 20 streams of a big file, PING every 0.5 s", timeout: h2Timeout + 4*time.Second,
			run: func(ctx context.Context, c net.Conn) (faultkit.Result, error) {
				return faultkit.H2ZeroWindow(ctx, c, "/big.bin", 20, 500*time.Millisecond)
			},
			check: func(t *testing.T, res faultkit.Result, cause string) {
				if res.Resets != 20 || res.Held > h2Timeout+time.Second {
					t.Errorf("got %+v, want all 20 streams reset within the stall timeout %v + 1 s", res, h2Timeout)
				}
			},
		},
		{
			name: "TCP-level stop reading", timeout: h2Timeout + 3*time.Second, opt: faultkit.DialOptions{RecvBuf: 4 << 10},
			run: func(ctx context.Context, c net.Conn) (faultkit.Result, error) {
				return faultkit.StopReading(ctx, c, "/big.bin", 64<<10)
			},
			check: func(t *testing.T, res faultkit.Result, cause string) {
				if res.Ended != faultkit.EndedRST || res.Held > h2Timeout+time.Second {
					t.Errorf("got %+v, want a RST received within the stall timeout %v + 1 s", res, h2Timeout)
				}
				if cause != "stall" {
					t.Errorf("closed with cause %q, want stall", cause)
				}
			},
		},
		{
			name: "rapid reset, 10000 streams (CVE-2023-44487)", timeout: 15 * time.Second,
			run: func(ctx context.Context, c net.Conn) (faultkit.Result, error) {
				return faultkit.H2RapidReset(ctx, c, "/index.html", 10000)
			},
			check: func(t *testing.T, res faultkit.Result, cause string) {
				// Under load the server may also reset the streams whose
				// writes stalled behind the flood (stall rule): a verdict too.
				if res.Streams == 0 || res.PingAcks == 0 && res.GoAway == "" && res.Resets == 0 && res.Ended == faultkit.EndedOpen {
					t.Errorf("got %+v, want the streams opened and a verdict (a PING answered, streams reset, a GOAWAY or the end)", res)
				}
			},
		},
		{
			name: "CONTINUATION flood, up to 64 MiB (CVE-2024-27316)", timeout: 15 * time.Second,
			run: func(ctx context.Context, c net.Conn) (faultkit.Result, error) {
				return faultkit.H2ContinuationFlood(ctx, c, "/index.html", 64<<20)
			},
			check: func(t *testing.T, res faultkit.Result, cause string) {
				if res.Ended == faultkit.EndedOpen || res.Sent >= 64<<20 {
					t.Errorf("got %+v, want the connection ended before 64 MiB of header block", res)
				}
			},
		},
		{
			name: "SETTINGS flood, 100000 frames, not reading", timeout: 15 * time.Second,
			run: func(ctx context.Context, c net.Conn) (faultkit.Result, error) {
				return faultkit.H2SettingsFlood(ctx, c, 100000)
			},
			check: func(t *testing.T, res faultkit.Result, cause string) {
				if res.PingAcks == 0 && res.GoAway == "" && res.Ended == faultkit.EndedOpen {
					t.Errorf("got %+v, want a verdict", res)
				}
			},
		},
		{
			name: "PING flood, 100000 frames, not reading", timeout: 15 * time.Second,
			run: func(ctx context.Context, c net.Conn) (faultkit.Result, error) {
				return faultkit.H2PingFlood(ctx, c, 100000)
			},
			check: func(t *testing.T, res faultkit.Result, cause string) {
				if res.PingAcks == 0 && res.GoAway == "" && res.Ended == faultkit.EndedOpen {
					t.Errorf("got %+v, want a verdict", res)
				}
			},
		},
		{
			name: "huge header list, 1 MiB", timeout: 10 * time.Second,
			run: func(ctx context.Context, c net.Conn) (faultkit.Result, error) {
				return faultkit.H2HugeHeaders(ctx, c, "/index.html", 1<<20)
			},
			check: func(t *testing.T, res faultkit.Result, cause string) {
				if res.Status == 200 || res.Status == 0 && res.Resets == 0 && res.GoAway == "" && res.Ended == faultkit.EndedOpen {
					t.Errorf("got %+v, want 431, a reset, a GOAWAY or the end", res)
				}
			},
		},
		{
			name: "slowloris HEADERS frame, one byte every 500 ms", timeout: 3*h2Timeout + 3*time.Second,
			run: func(ctx context.Context, c net.Conn) (faultkit.Result, error) {
				return faultkit.Slowloris(ctx, c, 500*time.Millisecond)
			},
			check: func(t *testing.T, res faultkit.Result, cause string) {
				if res.Ended == faultkit.EndedOpen || res.Held > 2*h2Timeout+time.Second {
					t.Errorf("got %+v, want the connection ended within %v", res, 2*h2Timeout+time.Second)
				}
			},
		},
	}
	var table []string
	t.Cleanup(func() {
		t.Logf("h2 attack table (attack | ended | held | slowest probe):\n%s", strings.Join(table, "\n"))
	})
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			c := r.dial(t, a.opt)
			from := c.LocalAddr().String()
			probes := r.startProbes()
			ctx, cancel := context.WithTimeout(t.Context(), a.timeout)
			defer cancel()
			t0 := time.Now()
			res, err := a.run(ctx, c)
			took := time.Since(t0)
			worst := probes.end(t)
			c.Close()
			if err != nil {
				t.Fatalf("%v (result %+v)", err, res)
			}
			if took >= a.timeout {
				t.Errorf("the attack ran to its own bound %v: the server did not end it", a.timeout)
			}
			// No handler survives the attack by more than a second.
			for i := 0; r.inFlight.Load() > 0 && i < 20; i++ {
				time.Sleep(50 * time.Millisecond)
			}
			if n := r.inFlight.Load(); n > 0 {
				t.Errorf("%d handlers still running 1 s after the attack", n)
			}
			cause := logCause(r.logs, from, time.Second)
			a.check(t, res, cause)
			line := fmt.Sprintf("%-62s | %s | %5.2fs | %3dms", a.name, ended(res, cause), res.Held.Seconds(), worst.Milliseconds())
			t.Log(line)
			table = append(table, line)
			baseline(t, goroutines, fds)
		})
	}

	t.Run("a slow stream body is reset, other streams go on", func(t *testing.T) {
		c := r.dial(t, faultkit.DialOptions{})
		probes := r.startProbes()
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		h, err := faultkit.NewH2Client(ctx, c, faultkit.H2Options{Window: faultkit.MaxWindow})
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		id, err := h.Request("POST", "/upload", true, faultkit.HeaderField{Name: "content-length", Value: "100000"})
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		// 3 bytes a second, far below 1000 B/s.
		for i := 0; i < 20; i++ {
			if s, _ := h.Wait(time.Now().Add(time.Second), func(s faultkit.H2State) bool { return s.Streams[id].Reset || s.Done }); s.Streams[id].Reset || s.Done {
				break
			}
			if err := h.Frame(faultkit.FrameData, 0, id, []byte("abc")); err != nil {
				break
			}
		}
		held := time.Since(t0)
		s := h.State()
		if st := s.Streams[id]; !st.Reset || s.Done || held > h2Timeout+time.Second {
			t.Errorf("slow stream after %v: %+v, connection done %v: want it reset within the stall timeout %v + 1 s and the connection open", held.Round(time.Millisecond), st, s.Done, h2Timeout)
		}
		next, err := h.Request("GET", "/index.html", false)
		if err != nil {
			t.Fatal(err)
		}
		s, _ = h.Wait(time.Now().Add(2*time.Second), func(s faultkit.H2State) bool { return s.Streams[next].Ended || s.Done })
		if st := s.Streams[next]; st.Status != 200 || st.Data != int64(len(pullProbe)) {
			t.Errorf("a new stream after the reset: %+v, want 200 and the page", st)
		}
		worst := probes.end(t)
		line := fmt.Sprintf("%-62s | %s | %5.2fs | %3dms", "slow stream body, 3 B/s", fmt.Sprintf("stream reset %s, conn open %v", codeOf(s, id), !s.Done), held.Seconds(), worst.Milliseconds())
		t.Log(line)
		table = append(table, line)
		h.Close()
		c.Close()
		baseline(t, goroutines, fds)
	})
}

// codeOf names the reset code of stream id.
func codeOf(s faultkit.H2State, id uint32) string {
	if st := s.Streams[id]; st.Reset {
		return faultkit.CodeName(st.Code)
	}
	return "none"
}

// ended says how an attack ended, in words, with the cause the server
// logged for the connection.
func ended(res faultkit.Result, cause string) string {
	var parts []string
	if res.GoAway != "" {
		parts = append(parts, "GOAWAY "+res.GoAway)
	}
	if res.Resets > 0 {
		parts = append(parts, fmt.Sprintf("%d RST_STREAM %s", res.Resets, res.ResetCode))
	}
	if res.Status != 0 {
		parts = append(parts, fmt.Sprintf("status %d", res.Status))
	}
	parts = append(parts, "conn "+res.Ended)
	if res.PingAcks > 0 {
		parts = append(parts, fmt.Sprintf("%d PINGs answered", res.PingAcks))
	}
	switch {
	case cause != "" && res.Ended == faultkit.EndedOpen:
		// The server kept the connection: the cause is that of the
		// client's own close after the attack.
		parts = append(parts, "cause at our close "+cause)
	case cause != "":
		parts = append(parts, "cause "+cause)
	}
	return strings.Join(parts, ", ")
}
