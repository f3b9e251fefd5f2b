package status

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilhttp/vigil/governor"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitFor bounds every wait of these tests.
const waitFor = 5 * time.Second

// reqName describes a request for Conn.BeginRequest.
type reqName string

func (r reqName) String() string { return string(r) }

// loop is a governed listener on 127.0.0.1 with an accept loop.
type loop struct {
	tab   *governor.Table
	gl    *governor.Listener
	conns chan *governor.Conn
}

// newLoop starts a governed loopback listener whose timeouts do not fire
// during a test; the test's cleanup closes it and every connection.
func newLoop(t *testing.T) *loop {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tab := governor.NewTable(governor.Options{
		HeaderTimeout: time.Minute,
		StallTimeout:  time.Minute,
		IdleTimeout:   time.Minute,
		MaxConnsPerIP: -1,
	})
	l := &loop{tab: tab, gl: tab.Listen(ln, governor.ListenerOptions{}), conns: make(chan *governor.Conn, 16)}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			nc, err := l.gl.Accept()
			if err != nil {
				return
			}
			l.conns <- nc.(*governor.Conn)
		}
	})
	t.Cleanup(func() {
		l.gl.Close()
		wg.Wait()
		tab.CloseAll(governor.CauseShutdown)
	})
	return l
}

// dial connects a client and returns it with the governed server end.
func (l *loop) dial(t *testing.T) (net.Conn, *governor.Conn) {
	t.Helper()
	cli, err := net.Dial("tcp", l.gl.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	select {
	case c := <-l.conns:
		return cli, c
	case <-time.After(waitFor):
		t.Fatal("accept: no connection within", waitFor)
	}
	return nil, nil
}

// stallInBody returns a connection whose server end is blocked reading the
// body of req, which the client never sends: phase body.
func (l *loop) stallInBody(t *testing.T, req string) (net.Conn, *governor.Conn) {
	t.Helper()
	cli, srv := l.dial(t)
	srv.BeginRequest(governor.Limits{}, reqName(req), true)
	var wg sync.WaitGroup
	wg.Go(func() { srv.Read(make([]byte, 512)) })
	t.Cleanup(func() { srv.Close(); wg.Wait() })
	eventually(t, "phase body", func() bool { return srv.Phase() == governor.PhaseBody })
	return cli, srv
}

// eventually waits up to waitFor for cond, failing the test with what.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", waitFor, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// do serves one request with s and returns the response.
func do(t *testing.T, s http.Handler, method, target string, hdr ...string) *http.Response {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	return w.Result()
}

// decode reads a JSON response of the given status into v.
func decode(t *testing.T, resp *http.Response, code int, v any) {
	t.Helper()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != code {
		t.Fatalf("status %d, want %d; body %s", resp.StatusCode, code, b)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("content-type %q, want application/json", ct)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
}

// wantError checks a JSON error answer.
func wantError(t *testing.T, resp *http.Response, code int, contains string) {
	t.Helper()
	var e struct{ Error string }
	decode(t, resp, code, &e)
	if !strings.Contains(e.Error, contains) {
		t.Errorf("error %q, want it to contain %q", e.Error, contains)
	}
}

// keys returns the keys of a JSON object.
func keys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}
