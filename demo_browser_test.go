package vigil_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/vigilhttp/vigil"
)

// TestDemoDashboardBrowser loads the demo's dashboard in a real headless
// Chromium and checks its live panel: the counters, uptime and log change
// over 3 s on the WebSocket; after the server is restarted on the same
// port the page reconnects by itself and the numbers change again; and a
// page whose WebSocket fails falls back to the event stream.
func TestDemoDashboardBrowser(t *testing.T) {
	needChromium(t)
	start := func(t *testing.T, listen string) *vigil.Server {
		t.Helper()
		srv, err := vigil.New(vigil.Config{Listen: []string{listen}, ShutdownTimeout: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		// The port of the previous server may be in TIME_WAIT (the
		// listener sets SO_REUSEADDR) or not yet released: retry briefly.
		for i := 0; ; i++ {
			err = srv.Start()
			if err == nil || i == 20 {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("start on %s: %v", listen, err)
		}
		t.Cleanup(func() { srv.Close() })
		return srv
	}

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	allocCtx, cancelAlloc := browser(ctx, t, 1280, 800)
	// Cancelling the allocator waits for the browser process to exit.
	defer cancelAlloc()

	// panel reads the live panel: the transport, rx and tx bytes, uptime
	// seconds and the log's line count.
	type panel struct {
		Transport   string
		Rx, Tx, Up  int64
		LogLines    int
		LinkPillTxt string
	}
	read := func(t *testing.T, bctx context.Context) panel {
		t.Helper()
		p, err := chromedp.Run(bctx, chromedp.Evaluate[panel](`(() => {
			const n = (id, k) => Number(document.getElementById(id).dataset[k] || -1);
			const log = document.getElementById("live-log").textContent;
			return {Transport: document.getElementById("live").dataset.transport,
				Rx: n("live-rx", "bytes"), Tx: n("live-tx", "bytes"), Up: n("live-uptime", "seconds"),
				LogLines: log ? log.split("\n").length : 0,
				LinkPillTxt: document.getElementById("live-link").textContent};
		})()`))
		if err != nil {
			t.Fatalf("reading the live panel: %v", err)
		}
		return p
	}
	// waitLive waits up to d for the panel to show transport with numbers.
	waitLive := func(t *testing.T, bctx context.Context, transport string, d time.Duration) panel {
		t.Helper()
		deadline := time.Now().Add(d)
		for {
			p := read(t, bctx)
			if p.Transport == transport && p.Rx > 0 && p.Up >= 0 {
				return p
			}
			if time.Now().After(deadline) {
				t.Fatalf("after %v the live panel shows %+v, want live over %s", d, p, transport)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	// changes checks that the numbers grow over 3 s on transport.
	changes := func(t *testing.T, bctx context.Context, transport string) panel {
		t.Helper()
		a := waitLive(t, bctx, transport, 10*time.Second)
		time.Sleep(3 * time.Second)
		b := read(t, bctx)
		if b.Transport != transport || b.Rx <= a.Rx || b.Tx <= a.Tx || b.Up <= a.Up || b.LogLines <= a.LogLines || b.LinkPillTxt != "Up" {
			t.Fatalf("over 3 s the live panel went from %+v to %+v: want it live over %s with rx, tx, uptime and the log grown", a, b, transport)
		}
		return b
	}

	t.Run("the numbers change, and a server restart reconnects", func(t *testing.T) {
		srv := start(t, "127.0.0.1:0")
		addr := srv.Addrs()[0].String()
		bctx, cancelBrowser := chromedp.NewContext(allocCtx)
		defer cancelBrowser()
		if err := chromedp.Do(bctx, chromedp.Navigate("http://"+addr+"/")); err != nil {
			t.Fatalf("loading the dashboard: %v", err)
		}
		before := changes(t, bctx, "websocket")

		// Shutdown sends the socket 1001; the page backs off and retries
		// while nothing listens, then finds the new server on the port.
		sctx, scancel := context.WithTimeout(ctx, 5*time.Second)
		if err := srv.Shutdown(sctx); err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
		scancel()
		down := time.Now()
		time.Sleep(1500 * time.Millisecond)
		if p := read(t, bctx); p.Transport != "none" {
			t.Fatalf("1.5 s after the server went away the panel shows %+v, want it reconnecting", p)
		}
		start(t, addr)
		restarted := time.Now()
		after := waitLive(t, bctx, "websocket", 15*time.Second)
		t.Logf("server down for %v; the page was live again %v after the restart",
			restarted.Sub(down).Round(time.Millisecond), time.Since(restarted).Round(time.Millisecond))
		if after.Up > before.Up {
			t.Fatalf("after the restart the uptime is %d s, was %d s: the page did not reach the new server", after.Up, before.Up)
		}
		changes(t, bctx, "websocket")
	})

	t.Run("a page whose WebSocket fails falls back to the event stream", func(t *testing.T) {
		srv := start(t, "127.0.0.1:0")
		bctx, cancelBrowser := chromedp.NewContext(allocCtx)
		defer cancelBrowser()
		// The page's WebSockets fail as one through a proxy that refuses
		// upgrades would: an error, then a close, never an open.
		broken := `window.WebSocket = class extends EventTarget {
			constructor() {
				super();
				setTimeout(() => { this.onerror && this.onerror(new Event("error")); this.onclose && this.onclose(new CloseEvent("close", {code: 1006})); }, 10);
			}
			close() {}
		};`
		if _, err := chromedp.Call(bctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: broken}); err != nil {
			t.Fatalf("breaking the page's WebSocket: %v", err)
		}
		if err := chromedp.Do(bctx,
			chromedp.Navigate("http://"+srv.Addrs()[0].String()+"/"),
		); err != nil {
			t.Fatalf("loading the dashboard: %v", err)
		}
		changes(t, bctx, "sse")
		if n := srv.Governor().Stats().Streams.Opened; n != 1 {
			t.Errorf("the server saw %s event streams opened, want 1", strconv.FormatUint(n, 10))
		}
	})
}
