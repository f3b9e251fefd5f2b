package vigil_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/vigilhttp/vigil"
)

// TestDemoFeeds checks the demo's live feeds, which are part of its
// contract: a JSON sample with rx_bytes, tx_bytes and uptime_s at least
// every 2 s, over WebSocket at /ws/live and as events at /events/live,
// past the handler timeout; and Shutdown sends the socket 1001.
func TestDemoFeeds(t *testing.T) {
	srv, err := vigil.New(vigil.Config{Listen: []string{"127.0.0.1:0"}, HandlerTimeout: 500 * time.Millisecond, ShutdownTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	addr := srv.Addrs()[0].String()
	parse := func(t *testing.T, b []byte) (rx int64) {
		t.Helper()
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%q: %v", b, err)
		}
		for _, k := range []string{"rx_bytes", "tx_bytes", "uptime_s"} {
			if _, ok := m[k].(float64); !ok {
				t.Fatalf("%q has no number %s", b, k)
			}
		}
		return int64(m["rx_bytes"].(float64))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+addr+"/ws/live", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	var last int64 = -1
	start := time.Now()
	for i := range 3 {
		rctx, rcancel := context.WithTimeout(ctx, 2*time.Second)
		_, b, err := c.Read(rctx)
		rcancel()
		if err != nil {
			t.Fatalf("WebSocket message %d: %v", i, err)
		}
		rx := parse(t, b)
		if rx <= last {
			t.Fatalf("rx_bytes %d after %d: the numbers must change", rx, last)
		}
		last = rx
	}
	if time.Since(start) < 1500*time.Millisecond {
		t.Fatalf("3 samples in %v: want one a second", time.Since(start))
	}

	resp, err := http.Get("http://" + addr + "/events/live")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	br := bufio.NewReader(resp.Body)
	events := 0
	deadline := time.Now().Add(4 * time.Second)
	for events < 2 && time.Now().Before(deadline) {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if d, ok := strings.CutPrefix(strings.TrimSpace(line), "data: "); ok {
			parse(t, []byte(d))
			events++
		}
	}
	if events < 2 {
		t.Fatalf("%d events in 4 s", events)
	}

	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(context.Background()) }()
	for {
		rctx, rcancel := context.WithTimeout(ctx, 3*time.Second)
		_, _, err := c.Read(rctx)
		rcancel()
		if err != nil {
			if websocket.CloseStatus(err) != websocket.StatusGoingAway {
				t.Fatalf("at shutdown: %v, want close 1001", err)
			}
			break
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}
