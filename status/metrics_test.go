//go:build !nometrics

package status

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// scrape returns the metrics text of s.
func scrape(t *testing.T, s *Server) string {
	t.Helper()
	resp := do(t, s, "GET", "/metrics")
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return string(b)
}

// sample returns the value of the sample named name (with its labels).
func sample(t *testing.T, text, name string) float64 {
	t.Helper()
	for line := range strings.Lines(text) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("sample %s: %v", name, err)
			}
			return f
		}
	}
	t.Fatalf("no sample %s in\n%s", name, text)
	return 0
}

func TestMetrics(t *testing.T) {
	t.Run("requests are counted by class, bytes by direction, durations in a histogram", func(t *testing.T) {
		s := New(Options{})
		for range 3 {
			s.ObserveRequest(200, 3*time.Millisecond, 100, 2000)
		}
		s.ObserveRequest(404, 200*time.Millisecond, 0, 50)
		s.ObserveRequest(503, 20*time.Second, 0, 0)
		s.ObserveRequest(0, time.Millisecond, 0, 0)
		text := scrape(t, s)
		want := map[string]float64{
			`vigil_requests_total{class="2xx"}`:                       3,
			`vigil_requests_total{class="4xx"}`:                       1,
			`vigil_requests_total{class="5xx"}`:                       1,
			`vigil_requests_total{class="1xx"}`:                       0,
			`vigil_requests_total{class="other"}`:                     1,
			`vigil_request_bytes_total{direction="in"}`:               300,
			`vigil_request_bytes_total{direction="out"}`:              6050,
			`vigil_request_duration_seconds_count`:                    6,
			`vigil_request_duration_seconds_bucket{le="0.005"}`:       4,
			`vigil_request_duration_seconds_bucket{le="0.25"}`:        5,
			`vigil_request_duration_seconds_bucket{le="10"}`:          5,
			`vigil_request_duration_seconds_bucket{le="+Inf"}`:        6,
			`vigil_connections{phase="header"}`:                       0,
			`vigil_connections_closed_total{cause="stall"}`:           0,
			`vigil_connections_accepted_total`:                        0,
			`vigil_connections_refused_total`:                         0,
			`vigil_connections_evicted_total`:                         0,
			`vigil_connections_closed_total{cause="peer-closed"}`:     0,
			`vigil_connections_closed_total{cause="handler-timeout"}`: 0,
		}
		for name, v := range want {
			if got := sample(t, text, name); got != v {
				t.Errorf("%s = %v, want %v", name, got, v)
			}
		}
		if up := sample(t, text, "vigil_uptime_seconds"); up < 0 || up > 60 {
			t.Errorf("uptime %v", up)
		}
	})

	t.Run("connection gauges and counters are read from the Table at scrape time", func(t *testing.T) {
		l := newLoop(t)
		l.stallInBody(t, "POST /a")
		l.stallInBody(t, "POST /b")
		l.dial(t)
		_, srv := l.dial(t)
		l.tab.Kill(srv.ID())
		s := New(Options{Table: l.tab, Started: time.Now().Add(-time.Hour)})
		text := scrape(t, s)
		want := map[string]float64{
			`vigil_connections{phase="body"}`:                2,
			`vigil_connections{phase="header"}`:              1,
			`vigil_connections{phase="write"}`:               0,
			`vigil_connections{phase="idle"}`:                0,
			`vigil_connections_accepted_total`:               4,
			`vigil_connections_closed_total{cause="killed"}`: 1,
		}
		for name, v := range want {
			if got := sample(t, text, name); got != v {
				t.Errorf("%s = %v, want %v", name, got, v)
			}
		}
		if up := sample(t, text, "vigil_uptime_seconds"); up < 3600 || up > 3660 {
			t.Errorf("uptime %v, want an hour", up)
		}
		if strings.Contains(text, `phase="closed"`) {
			t.Error("closed is not a phase of an open connection")
		}
	})

	t.Run("WebSockets and event streams are counted open by kind, closed by cause, with their messages", func(t *testing.T) {
		l := newLoop(t)
		_, a := l.dial(t)
		_, b := l.dial(t)
		_, c := l.dial(t)
		wa, wb := a.OpenSocket(true), b.OpenSocket(true)
		for range 3 {
			wa.MessageOut()
			wb.MessageOut()
		}
		wa.MessageIn()
		st := c.OpenSocket(false)
		st.MessageOut()
		st.End() // the stream ends; its connection goes on
		l.tab.Kill(b.ID())
		s := New(Options{Table: l.tab})
		text := scrape(t, s)
		want := map[string]float64{
			`vigil_sockets{kind="websocket"}`:                                   1,
			`vigil_sockets{kind="stream"}`:                                      0,
			`vigil_sockets_opened_total{kind="websocket"}`:                      2,
			`vigil_sockets_opened_total{kind="stream"}`:                         1,
			`vigil_sockets_closed_total{kind="websocket",cause="killed"}`:       1,
			`vigil_sockets_closed_total{kind="websocket",cause="pong-timeout"}`: 0,
			`vigil_sockets_closed_total{kind="stream",cause="closed"}`:          1,
			`vigil_socket_messages{kind="websocket",direction="in"}`:            1,
			`vigil_socket_messages{kind="websocket",direction="out"}`:           3, // b's went with it
			`vigil_socket_messages{kind="stream",direction="out"}`:              0,
		}
		for name, v := range want {
			if got := sample(t, text, name); got != v {
				t.Errorf("%s = %v, want %v", name, got, v)
			}
		}
	})

	t.Run("two Servers count apart: no global set", func(t *testing.T) {
		a, b := New(Options{}), New(Options{})
		a.ObserveRequest(200, time.Millisecond, 1, 1)
		if got := sample(t, scrape(t, b), `vigil_requests_total{class="2xx"}`); got != 0 {
			t.Errorf("b counted a's request: %v", got)
		}
	})

	t.Run("ObserveRequest does not allocate", func(t *testing.T) {
		s := New(Options{})
		s.ObserveRequest(200, time.Millisecond, 1, 1)
		if n := testing.AllocsPerRun(100, func() { s.ObserveRequest(204, time.Millisecond, 10, 10) }); n != 0 {
			t.Errorf("%v allocations per call, want 0", n)
		}
	})
}
