//go:build !nohangcheck

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/vigilhttp/vigil"
	"github.com/vigilhttp/vigil/faultkit"
	"github.com/vigilhttp/vigil/faultkit/faulttest"
	"github.com/vigilhttp/vigil/live"
)

// wsRoutes, a route.txt, serves an idle WebSocket at /ws/idle pinged every second with a
// pong timeout of 1 s, and files elsewhere.
const wsRoutes = "route uri=/ws/idle methods=GET handler=websocket ping=1s pong-timeout=1s\nroute uri=/\n"

// newWSVigil returns a vigil (not started) on ln and, if https is set, on
// a TLS listener at https, with the idle WebSocket of wsRoutes.
func newWSVigil(t *testing.T, ln net.Listener, https string) *vigil.Server {
	t.Helper()
	routes := filepath.Join(t.TempDir(), "route.txt")
	if err := os.WriteFile(routes, []byte(wsRoutes), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := vigil.Config{Listeners: []net.Listener{ln}, Root: t.TempDir(), Route: routes,
		StallTimeout: 2 * time.Second, ShutdownTimeout: 2 * time.Second}
	if https != "" {
		cfg.Listen, cfg.TLSSelfSigned = []string{https}, t.TempDir()
	}
	srv, err := vigil.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.WebSocket("idle", func(c *live.Conn) { <-c.Context().Done() }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// closeAt is the time of the close frame a websocket-silent row reports.
var closeAt = regexp.MustCompile(`close (\d+) at ([0-9.]+)s`)

// TestHangcheckWebSocket runs websocket-silent against a vigil WebSocket
// with ping and pong timeout of 1 s (close 1001 at 2 s, then the reset),
// over HTTP/1.1 and TLS; and against a server that never pings, which
// holds the silent peer to the cap: a problem.
func TestHangcheckWebSocket(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newWSVigil(t, ln, "https://127.0.0.1:0")
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	var httpsAddr string
	for _, a := range srv.Addrs() {
		if a.String() != ln.Addr().String() {
			httpsAddr = a.String()
		}
	}
	if httpsAddr == "" {
		t.Fatalf("no https listener among %v", srv.Addrs())
	}

	t.Run("vigil sends close 1001 to a peer that answers no ping, then resets, at ping + pong timeout", func(t *testing.T) {
		var out, errOut bytes.Buffer
		err := run(t.Context(), []string{"hangcheck", "--json", "--max-wait", "10s", "--insecure", "--scenarios", "websocket-silent",
			"--ws", "/ws/idle", "http://" + ln.Addr().String() + "/", "https://" + httpsAddr + "/"}, &out, &errOut)
		var rows []row
		if jerr := json.Unmarshal(out.Bytes(), &rows); jerr != nil || err != nil || len(rows) != 2 {
			t.Fatalf("hangcheck = %v, %d rows (%v)\n%s\n%s", err, len(rows), jerr, out.String(), errOut.String())
		}
		for _, r := range rows {
			t.Logf("%-6s %s held %.2fs ended %s: %s", r.Mode, r.Scenario, r.Held, r.Ended, r.Detail)
			m := closeAt.FindStringSubmatch(r.Detail)
			if m == nil || m[1] != "1001" {
				t.Errorf("%s: %q names no close 1001", r.Mode, r.Detail)
				continue
			}
			at, _ := strconv.ParseFloat(m[2], 64)
			if at < 1.8 || at > 2.6 || r.Ended != "rst" || r.Held < at || r.Held > 3 || !r.ProbeOK || r.Problem {
				t.Errorf("%s: close at %.1fs, ended %s at %.2fs, probe_ok %v, problem %v; want close 1001 at about 2 s, then rst before 3 s, probes served",
					r.Mode, at, r.Ended, r.Held, r.ProbeOK, r.Problem)
			}
		}
		if rows[0].Mode != "http1" || rows[1].Mode != "https1" {
			t.Errorf("modes %s, %s; want http1 and https1 (no WebSocket over h2)", rows[0].Mode, rows[1].Mode)
		}
	})

	t.Run("a server that never pings holds the silent peer to the cap", func(t *testing.T) {
		done := make(chan struct{})
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := websocket.Accept(w, r, nil)
			if err != nil {
				return
			}
			defer c.CloseNow()
			select {
			case <-done:
			case <-r.Context().Done():
			}
		}))
		t.Cleanup(ts.Close)
		t.Cleanup(func() { close(done) }) // runs first: the handler returns
		var out, errOut bytes.Buffer
		err := run(t.Context(), []string{"hangcheck", "--json", "--max-wait", "3s", "--scenarios", "websocket-silent", "--ws", "/", ts.URL + "/"}, &out, &errOut)
		var rows []row
		if jerr := json.Unmarshal(out.Bytes(), &rows); jerr != nil || err == nil || len(rows) != 1 {
			t.Fatalf("hangcheck = %v, %d rows (%v); want one row and an error\n%s", err, len(rows), jerr, errOut.String())
		}
		if r := rows[0]; r.Ended != "open" || r.Why != "held to the cap" || r.Held < 2.9 {
			t.Errorf("row %+v; want open, held to the 3 s cap", r)
		}
	})

	t.Run("the websocket scenarios need --ws", func(t *testing.T) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), []string{"hangcheck", "--scenarios", "websocket-silent", "http://" + ln.Addr().String() + "/"}, &out, &errOut)
		if err == nil || !strings.Contains(err.Error()+errOut.String(), "needs --ws PATH") {
			t.Errorf("hangcheck without --ws = %v\n%s; want a usage error naming --ws", err, errOut.String())
		}
	})
}

// TestHangcheckWebSocketIdlePull pulls the cable of an idle vigil
// WebSocket that answered its ping (ping and pong timeout 1 s), over
// HTTP/1.1 and TLS in a namespace of the test's own: the socket must be
// gone within ping + pong timeout + 1 s.
func TestHangcheckWebSocketIdlePull(t *testing.T) {
	faulttest.Need(t)
	ns, err := faultkit.NewNetns(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	ln, err := ns.Listen(t.Context(), "tcp", "127.0.0.1:8080")
	if err != nil {
		t.Fatal(err)
	}
	srv := newWSVigil(t, ln, "https://127.0.0.1:8443")
	if err := ns.Do(srv.Start); err != nil { // binds the https listener in ns
		t.Fatal(err)
	}
	rows, problem := hangcheckInNetns(t, ns, "--scenarios", "websocket-idle-pull", "--ws", "/ws/idle", "--max-wait", "15s", "--insecure",
		"http://127.0.0.1:8080/", "https://127.0.0.1:8443/")
	if problem || len(rows) != 2 {
		t.Fatalf("hangcheck found a problem or gave %d rows, want 2 (http1, https1) without", len(rows))
	}
	for _, r := range rows {
		// The ping answered, the next comes 1 s later and its pong is
		// awaited 1 s: gone at about 2 s (and the close frame's 250 ms).
		if r.Ended != "rst" || r.Held < 1.5 || r.Held > 3 || !r.ProbeOK || !strings.Contains(r.Detail, "answered a ping") {
			t.Errorf("%s: ended %s after %.2fs, probe_ok %v (%s); want rst within 1.5–3 s, probes served", r.Mode, r.Ended, r.Held, r.ProbeOK, r.Detail)
		}
	}
}
