package status

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestRoutes(t *testing.T) {
	t.Run("every route answers with a zero Options", func(t *testing.T) {
		s := New(Options{})
		targets := []string{"/", "/status", "/status/app.js", "/status/style.css", "/conns", "/handlers"}
		if metricsBuilt {
			targets = append(targets, "/metrics")
		}
		if pprofBuilt {
			targets = append(targets, "/debug/pprof/", "/debug/pprof/cmdline", "/debug/pprof/goroutine?debug=1")
		}
		for _, target := range targets {
			if resp := do(t, s, "GET", target); resp.StatusCode >= 400 {
				t.Errorf("GET %s: %d", target, resp.StatusCode)
			}
		}
		if resp := do(t, s, "GET", "/status/events"); resp.StatusCode != http.StatusOK {
			t.Errorf("GET /status/events: %d", resp.StatusCode)
		}
	})

	t.Run("the root redirects to the status page", func(t *testing.T) {
		resp := do(t, New(Options{}), "GET", "/")
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "status" {
			t.Errorf("GET /: %d to %q, want 302 to status", resp.StatusCode, resp.Header.Get("Location"))
		}
	})

	t.Run("an unknown path is a JSON 404", func(t *testing.T) {
		for _, target := range []string{"/nope", "/status/nope.js", "/conns/1", "/status/"} {
			wantError(t, do(t, New(Options{}), "GET", target), http.StatusNotFound, "Not Found")
		}
	})

	t.Run("the assets are served with their types", func(t *testing.T) {
		for target, ct := range map[string]string{"/status/app.js": "text/javascript", "/status/style.css": "text/css"} {
			resp := do(t, New(Options{}), "GET", target)
			if got := resp.Header.Get("Content-Type"); !strings.HasPrefix(got, ct) {
				t.Errorf("%s: content-type %q, want %s", target, got, ct)
			}
		}
	})

	t.Run("the status page shows info, counters and connections under a strict CSP", func(t *testing.T) {
		l := newLoop(t)
		_, srv := l.stallInBody(t, "POST /<script>alert(1)</script>")
		s := New(Options{Table: l.tab, Info: map[string]string{"version": "v1.2.3", "listen": ":8080"}})
		resp := do(t, s, "GET", "/status")
		b, _ := io.ReadAll(resp.Body)
		page := string(b)
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("GET /status: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") ||
			strings.Contains(csp, "unsafe-inline") {
			t.Errorf("CSP %q", csp)
		}
		for _, want := range []string{
			`<tr data-conn-id="` + itoa(srv.ID()) + `" data-phase="body"`,
			`<dt>version</dt><dd>v1.2.3</dd>`,
			`<b id="c-open">1</b>`,
			`&lt;script&gt;alert(1)&lt;/script&gt;`,
			`src="status/app.js"`,
		} {
			if !strings.Contains(page, want) {
				t.Errorf("page lacks %s", want)
			}
		}
		if strings.Contains(page, "<script>alert") {
			t.Error("request text not escaped")
		}
		if strings.Contains(page, "<script>") || strings.Contains(page, "style=") {
			t.Error("page has inline script or style")
		}
	})
}

// streamServer serves s on a loopback httptest server and reports when a
// GET /status/events handler returns.
func streamServer(t *testing.T, s *Server) (url string, ended <-chan struct{}) {
	t.Helper()
	done := make(chan struct{}, 4)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.ServeHTTP(w, r)
		if r.URL.Path == "/status/events" {
			done <- struct{}{}
		}
	}))
	t.Cleanup(ts.Close)
	return ts.URL, done
}

// events reads server-sent events from r and sends them on a channel until
// r fails.
func events(r io.Reader) <-chan [2]string {
	ch := make(chan [2]string, 16)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(r)
		sc.Buffer(nil, 1<<20)
		var name, data string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if data != "" {
					ch <- [2]string{name, data}
				}
				name, data = "", ""
			case strings.HasPrefix(line, "event: "):
				name = line[len("event: "):]
			case strings.HasPrefix(line, "data: "):
				data = line[len("data: "):]
			}
		}
	}()
	return ch
}

func TestEvents(t *testing.T) {
	t.Run("a stream sends hints and the conns document every second and ends when the client goes away", func(t *testing.T) {
		l := newLoop(t)
		_, srv := l.stallInBody(t, "POST /upload")
		url, ended := streamServer(t, New(Options{Table: l.tab}))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", url+"/status/events", nil)
		tr := &http.Transport{}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
			t.Errorf("content-type %q", ct)
		}
		start := time.Now()
		evs := events(resp.Body)
		var conns int
		for conns < 2 {
			select {
			case ev, ok := <-evs:
				if !ok {
					t.Fatal("stream ended early")
				}
				switch ev[0] {
				case "conns":
					conns++
					var rep Report
					if err := json.Unmarshal([]byte(ev[1]), &rep); err != nil {
						t.Fatal(err)
					}
					if len(rep.Conns) != 1 || rep.Conns[0].ID != srv.ID() || rep.Conns[0].Phase != "body" {
						t.Errorf("conns event %s, want conn %d in body", ev[1], srv.ID())
					}
				case "explain":
					var ex map[string]explainEntry
					if err := json.Unmarshal([]byte(ev[1]), &ex); err != nil {
						t.Fatal(err)
					}
				default:
					t.Errorf("unexpected event %q", ev[0])
				}
			case <-ctx.Done():
				t.Fatal("no two conns events within 10s")
			}
		}
		if took := time.Since(start); took < EventInterval/2 || took > 3*EventInterval {
			t.Errorf("two events took %v, want about %v", took, EventInterval)
		}
		cancel()
		select {
		case <-ended:
		case <-time.After(3 * EventInterval):
			t.Fatal("the handler still runs after the client went away")
		}
		for range evs {
		}
	})

	t.Run("Close ends the streams under way", func(t *testing.T) {
		s := New(Options{})
		url, ended := streamServer(t, s)
		tr := &http.Transport{}
		defer tr.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", url+"/status/events", nil)
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		evs := events(resp.Body)
		<-evs
		s.Close()
		s.Close()
		select {
		case <-ended:
		case <-time.After(3 * EventInterval):
			t.Fatal("the handler still runs after Close")
		}
		for range evs {
		}
	})

	t.Run("a writer that cannot set deadlines gets one tick and the stream ends", func(t *testing.T) {
		w := httptest.NewRecorder()
		New(Options{}).ServeHTTP(w, httptest.NewRequest("GET", "/status/events", nil))
		if n := strings.Count(w.Body.String(), "event: conns\n"); n != 1 {
			t.Errorf("%d conns events, want 1:\n%s", n, w.Body)
		}
	})
}
