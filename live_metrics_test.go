package vigil_test

import (
	"context"
	"io"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/vigilhttp/vigil"
)

// TestLiveMetrics checks that /metrics counts the demo's WebSocket on a
// real server: open while it lasts, with its messages out, then closed by
// the peer.
func TestLiveMetrics(t *testing.T) {
	if !metricsBuilt {
		t.Skip("built with -tags nometrics: no /metrics")
	}
	srv, err := vigil.New(vigil.Config{Listen: []string{"127.0.0.1:0"}, ShutdownTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	scrape := func() string {
		rec := httptest.NewRecorder()
		srv.Status().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		b, _ := io.ReadAll(rec.Body)
		return string(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+srv.Addrs()[0].String()+"/ws/live", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	for range 2 {
		if _, _, err := c.Read(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// The server counts a message once its write returned, which may be
	// after the client read it: wait for the count, briefly.
	await := func(what string, lines ...string) {
		t.Helper()
		for deadline := time.Now().Add(3 * time.Second); ; {
			text, all := scrape(), true
			for _, l := range lines {
				all = all && strings.Contains(text, l+"\n")
			}
			if all {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: 3 s on, /metrics lacks one of %q:\n%s", what, lines, grep(text, "vigil_socket"))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	await("2 messages read",
		`vigil_sockets{kind="websocket"} 1`,
		`vigil_sockets_opened_total{kind="websocket"} 1`,
		`vigil_sockets{kind="stream"} 0`,
		`vigil_socket_messages{kind="websocket",direction="in"} 0`)
	out := `vigil_socket_messages{kind="websocket",direction="out"} `
	for deadline := time.Now().Add(3 * time.Second); ; {
		text := scrape()
		v, _ := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(grep(text, out), out)))
		if v >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("3 s after 2 messages were read, %d counted out:\n%s", v, grep(text, "vigil_socket"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.Close(websocket.StatusNormalClosure, "")
	await("after the client's close", `vigil_sockets_closed_total{kind="websocket",cause="peer-closed"} 1`, `vigil_sockets{kind="websocket"} 0`)
}

// grep returns the lines of text that contain s.
func grep(text, s string) string {
	var b strings.Builder
	for line := range strings.Lines(text) {
		if strings.Contains(line, s) {
			b.WriteString(line)
		}
	}
	return b.String()
}
