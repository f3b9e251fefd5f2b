package vigil

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestLiveMetrics checks that /metrics counts the demo's WebSocket on a
// real server: open while it lasts, with its messages out, then closed by
// the peer.
func TestLiveMetrics(t *testing.T) {
	if !metricsBuilt {
		t.Skip("built with -tags nometrics: no /metrics")
	}
	srv, err := New(Config{Listen: []string{"127.0.0.1:0"}, ShutdownTimeout: 2 * time.Second})
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
	text := scrape()
	for _, line := range []string{
		`vigil_sockets{kind="websocket"} 1`,
		`vigil_sockets_opened_total{kind="websocket"} 1`,
		`vigil_sockets{kind="stream"} 0`,
	} {
		if !strings.Contains(text, line+"\n") {
			t.Errorf("no %q in /metrics", line)
		}
	}
	if strings.Contains(text, `vigil_socket_messages{kind="websocket",direction="out"} 0`+"\n") ||
		strings.Contains(text, `vigil_socket_messages{kind="websocket",direction="out"} 1`+"\n") {
		t.Errorf("the 2 messages read are not counted:\n%s", grep(text, "vigil_socket"))
	}
	c.Close(websocket.StatusNormalClosure, "")
	want := `vigil_sockets_closed_total{kind="websocket",cause="peer-closed"} 1`
	for deadline := time.Now().Add(3 * time.Second); !strings.Contains(scrape(), want+"\n"); {
		if time.Now().After(deadline) {
			t.Fatalf("3 s after the close, no %q:\n%s", want, grep(scrape(), "vigil_socket"))
		}
		time.Sleep(20 * time.Millisecond)
	}
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
