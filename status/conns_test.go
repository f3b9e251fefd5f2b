package status

import (
	"errors"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/vigilhttp/vigil/governor"
)

func TestConns(t *testing.T) {
	t.Run("an empty table is an empty list with zero counters", func(t *testing.T) {
		var rep map[string]any
		decode(t, do(t, New(Options{}), "GET", "/conns"), http.StatusOK, &rep)
		if conns, ok := rep["conns"].([]any); !ok || len(conns) != 0 {
			t.Errorf("conns = %#v, want []", rep["conns"])
		}
		stats := rep["stats"].(map[string]any)
		if closed, ok := stats["closed"].(map[string]any); !ok || len(closed) != 0 {
			t.Errorf("stats.closed = %#v, want {}", stats["closed"])
		}
		if _, err := time.Parse(time.RFC3339Nano, rep["now"].(string)); err != nil {
			t.Errorf("now: %v", err)
		}
	})

	t.Run("a stalled body read shows its phase, request, rule and kernel view under the agreed names", func(t *testing.T) {
		l := newLoop(t)
		_, srv := l.stallInBody(t, "POST /upload")
		var rep struct {
			Conns []map[string]any
			Stats map[string]any
		}
		decode(t, do(t, New(Options{Table: l.tab}), "GET", "/conns"), http.StatusOK, &rep)
		if len(rep.Conns) != 1 {
			t.Fatalf("%d conns, want 1", len(rep.Conns))
		}
		c := rep.Conns[0]
		want := []string{"id", "remote", "local", "phase", "request", "requests", "bytes_in", "bytes_out",
			"age_seconds", "since_progress_seconds", "deadline", "deadline_in_seconds", "rule", "stuck"}
		if _, ok := c["explain"]; ok {
			want = append(want, "explain")
		}
		if runtime.GOOS == "linux" {
			want = append(want, "tcp_info")
		}
		if got := keys(c); !sameSet(got, want) {
			t.Errorf("row keys %v, want %v", got, want)
		}
		if c["id"] != float64(srv.ID()) || c["phase"] != "body" || c["request"] != "POST /upload" ||
			c["rule"] != "stall" || c["requests"] != float64(1) {
			t.Errorf("row %v, want id %d in phase body serving POST /upload under rule stall", c, srv.ID())
		}
		if in := c["deadline_in_seconds"].(float64); in <= 0 || in > 61 {
			t.Errorf("deadline_in_seconds = %v, want within the minute's stall timeout", in)
		}
		if runtime.GOOS == "linux" {
			k := c["tcp_info"].(map[string]any)
			wantK := []string{"state", "rtt_ms", "rttvar_ms", "unacked", "unacked_bytes", "retransmits", "probes",
				"total_retrans", "lost", "notsent_bytes", "send_window", "bytes_acked", "bytes_received",
				"last_data_sent_ms", "last_data_recv_ms", "last_ack_recv_ms"}
			if got := keys(k); !sameSet(got, wantK) {
				t.Errorf("tcp_info keys %v, want %v", got, wantK)
			}
			if k["state"] != "ESTABLISHED" {
				t.Errorf("tcp_info.state = %v, want ESTABLISHED", k["state"])
			}
		}
		if got, want := keys(rep.Stats), []string{"open", "accepted", "refused", "closed"}; !sameSet(got, want) {
			t.Errorf("stats keys %v, want %v", got, want)
		}
		if rep.Stats["open"] != float64(1) || rep.Stats["accepted"] != float64(1) {
			t.Errorf("stats %v, want 1 open, 1 accepted", rep.Stats)
		}
	})

	t.Run("a connection with no rule armed and no request omits deadline, rule and request", func(t *testing.T) {
		l := newLoop(t)
		l.dial(t)
		var rep struct{ Conns []map[string]any }
		decode(t, do(t, New(Options{Table: l.tab}), "GET", "/conns"), http.StatusOK, &rep)
		if len(rep.Conns) != 1 {
			t.Fatalf("%d conns, want 1", len(rep.Conns))
		}
		for _, k := range []string{"deadline", "deadline_in_seconds", "rule", "request"} {
			if _, ok := rep.Conns[0][k]; ok {
				t.Errorf("row has %q: %v", k, rep.Conns[0])
			}
		}
		if rep.Conns[0]["phase"] != "header" {
			t.Errorf("phase %v, want header", rep.Conns[0]["phase"])
		}
	})

	t.Run("rows come longest without progress first", func(t *testing.T) {
		l := newLoop(t)
		var ids []uint64
		for range 3 {
			_, srv := l.dial(t)
			ids = append(ids, srv.ID())
			time.Sleep(20 * time.Millisecond)
		}
		// The newest one makes progress: it stays last.
		cli, srv := l.dial(t)
		cli.Write([]byte("G"))
		eventually(t, "a byte read", func() bool {
			srv.SetReadDeadline(time.Now().Add(waitFor))
			n, _ := srv.Read(make([]byte, 1))
			return n == 1
		})
		var rep Report
		decode(t, do(t, New(Options{Table: l.tab}), "GET", "/conns"), http.StatusOK, &rep)
		var got []uint64
		for i, c := range rep.Conns {
			got = append(got, c.ID)
			if i > 0 && c.SinceProgressSeconds > rep.Conns[i-1].SinceProgressSeconds {
				t.Errorf("row %d since progress %v > row %d's %v", i, c.SinceProgressSeconds, i-1, rep.Conns[i-1].SinceProgressSeconds)
			}
		}
		if want := append(ids, srv.ID()); !slices.Equal(got, want) {
			t.Errorf("order %v, want %v", got, want)
		}
	})

	t.Run("closed lists only the causes that closed something", func(t *testing.T) {
		l := newLoop(t)
		_, srv := l.dial(t)
		l.tab.Kill(srv.ID())
		var rep Report
		decode(t, do(t, New(Options{Table: l.tab}), "GET", "/conns"), http.StatusOK, &rep)
		if len(rep.Stats.Closed) != 1 || rep.Stats.Closed["killed"] != 1 {
			t.Errorf("closed = %v, want only killed 1", rep.Stats.Closed)
		}
	})
}

func TestKill(t *testing.T) {
	t.Run("a kill closes the socket and counts as killed", func(t *testing.T) {
		l := newLoop(t)
		cli, srv := l.stallInBody(t, "POST /upload")
		var rep struct{ Killed bool }
		decode(t, do(t, New(Options{Table: l.tab}), "POST", "/conns/"+itoa(srv.ID())+"/kill"), http.StatusOK, &rep)
		if !rep.Killed {
			t.Error("killed = false")
		}
		cli.SetReadDeadline(time.Now().Add(waitFor))
		_, err := cli.Read(make([]byte, 1))
		var ne net.Error
		if err == nil || errors.As(err, &ne) && ne.Timeout() {
			t.Errorf("client read after kill: %v, want the connection closed", err)
		}
		if n := l.tab.Stats().Closed[governor.CauseKilled]; n != 1 {
			t.Errorf("killed closes = %d, want 1", n)
		}
		if n := len(l.tab.Snapshot()); n != 0 {
			t.Errorf("%d conns left, want 0", n)
		}
	})

	errs := []struct {
		name, method, target string
		hdr                  []string
		code                 int
		contains             string
	}{
		{"an unknown id is 404", "POST", "/conns/12/kill", nil, http.StatusNotFound, "no open connection 12"},
		{"a bad id is 400", "POST", "/conns/x12/kill", nil, http.StatusBadRequest, "bad connection id"},
		{"a negative id is 400", "POST", "/conns/-1/kill", nil, http.StatusBadRequest, "bad connection id"},
		{"a GET of the kill route is 405", "GET", "/conns/1/kill", nil, http.StatusMethodNotAllowed, "Method Not Allowed"},
		{"a cross-origin kill from a browser is 403", "POST", "/conns/1/kill", []string{"Sec-Fetch-Site", "cross-site"}, http.StatusForbidden, "cross-origin"},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			l := newLoop(t)
			l.dial(t)
			resp := do(t, New(Options{Table: l.tab}), tc.method, tc.target, tc.hdr...)
			wantError(t, resp, tc.code, tc.contains)
			if tc.code == http.StatusMethodNotAllowed && resp.Header.Get("Allow") == "" {
				t.Error("405 without Allow")
			}
			if n := len(l.tab.Snapshot()); n != 1 {
				t.Errorf("%d conns open, want the one untouched", n)
			}
		})
	}

	t.Run("a kill with no Table is 404", func(t *testing.T) {
		wantError(t, do(t, New(Options{}), "POST", "/conns/1/kill"), http.StatusNotFound, "no open connection 1")
	})
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
