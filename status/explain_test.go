package status

import (
	"encoding/json"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilhttp/vigil/governor"
)

func TestExplain(t *testing.T) {
	s := func(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }
	est := func(k governor.TCPInfo) *governor.TCPInfo { k.State = "ESTABLISHED"; k.SendWindow += 65535; return &k }
	tests := []struct {
		name  string
		c     governor.ConnInfo
		want  string
		stuck bool
	}{
		{"a busy connection needs no hint",
			governor.ConnInfo{Phase: governor.PhaseWrite, SinceProgress: s(0.1), Kernel: est(governor.TCPInfo{Unacked: 10})},
			"", false},
		{"a peer that stopped acknowledging is probably gone",
			governor.ConnInfo{Phase: governor.PhaseWrite, SinceProgress: s(7.2),
				Kernel: est(governor.TCPInfo{Unacked: 5, UnackedBytes: 48 << 10, Retransmits: 5, LastAckRecv: s(7.1)})},
			"peer not acknowledging for 7.2 s: 48 KiB unacked, 5 retransmits — probably gone", true},
		{"a retransmit while acknowledgements still advance is a lossy link, not stuck",
			governor.ConnInfo{Phase: governor.PhaseWrite, SinceProgress: s(0.5),
				Kernel: est(governor.TCPInfo{Unacked: 1, Retransmits: 1})},
			"", false},
		{"a slow reader whose window closes at times is not stuck",
			governor.ConnInfo{Phase: governor.PhaseWrite, SinceProgress: s(0.3),
				Kernel: &governor.TCPInfo{State: "ESTABLISHED", SendWindow: 0, Probes: 1, NotSent: 4 << 20, LastAckRecv: s(1.2)}},
			"", false},
		{"an alive peer holding much unread data behind a closed window is a slow reader, not stuck",
			governor.ConnInfo{Phase: governor.PhaseWrite, SinceProgress: s(44.6), Deadline: time.Unix(1e9, 0), DeadlineIn: s(75.4), Rule: governor.CauseStall, Held: 4 << 20,
				Kernel: &governor.TCPInfo{State: "ESTABLISHED", SendWindow: 0, NotSent: 4 << 20}},
			"window closed for 44.6 s while the peer holds 4 MiB unread: a slow reader draining a large buffer (or a stopped one), cut in 75.4 s without progress", false},
		{"an HTTP/2 connection is stuck when one of its streams is",
			governor.ConnInfo{Phase: governor.PhaseStreams, SinceProgress: s(0.1), StreamRows: []governor.StreamInfo{
				{ID: 1, Phase: governor.PhaseWrite, SinceProgress: s(0.2)},
				{ID: 3, Request: "GET /big", Phase: governor.PhaseWrite, SinceProgress: s(5)}}},
			"stream 3 (GET /big): stream blocked for 5.0 s: the peer's window for it stays closed (not reading)", true},
		{"a zero window means the peer is not reading",
			governor.ConnInfo{Phase: governor.PhaseWrite, SinceProgress: s(3),
				Kernel: &governor.TCPInfo{State: "ESTABLISHED", NotSent: 1536}},
			"zero window: peer not reading for 3.0 s, 1.5 KiB queued", true},
		{"a peer that closed its side shows CLOSE_WAIT",
			governor.ConnInfo{Phase: governor.PhaseIdle, SinceProgress: s(1), Kernel: &governor.TCPInfo{State: "CLOSE_WAIT", SendWindow: 1}},
			"peer closed its side; the server has not closed yet", false},
		{"a quiet header is a slow client or a slowloris",
			governor.ConnInfo{Phase: governor.PhaseHeader, SinceProgress: s(4)},
			"request header incomplete, nothing received for 4.0 s: slow client or slowloris", true},
		{"a quiet body is a client not sending",
			governor.ConnInfo{Phase: governor.PhaseBody, SinceProgress: s(2)},
			"request body stalled for 2.0 s: client not sending", true},
		{"a blocked write without a kernel view is a slow reader",
			governor.ConnInfo{Phase: governor.PhaseWrite, SinceProgress: s(9)},
			"write blocked for 9.0 s: peer reading slowly or not at all", true},
		{"a quiet TLS handshake is a slow client",
			governor.ConnInfo{Phase: governor.PhaseHandshake, SinceProgress: s(2.5)},
			"TLS handshake incomplete, nothing received for 2.5 s: slow or stalled client", true},
		{"a long handler is named",
			governor.ConnInfo{Phase: governor.PhaseHandler, SinceProgress: s(30)},
			"handler running, no I/O for 30.0 s", true},
		{"an idle keep-alive connection is healthy however long",
			governor.ConnInfo{Phase: governor.PhaseIdle, SinceProgress: s(25), Kernel: est(governor.TCPInfo{})},
			"", false},
		{"a hijacked connection is not judged",
			governor.ConnInfo{Phase: governor.PhaseHijacked, SinceProgress: s(60)},
			"", false},
		{"a quiet WebSocket whose pings are answered is healthy",
			governor.ConnInfo{Phase: governor.PhaseWebSocket, SinceProgress: s(60), Socket: &governor.SocketInfo{Kind: "websocket", SincePong: s(1), SinceHeard: s(1)}},
			"", false},
		{"a WebSocket whose ping waits for its pong is explained",
			governor.ConnInfo{Phase: governor.PhaseWebSocket, SinceProgress: s(12), Socket: &governor.SocketInfo{Kind: "websocket", PingWait: s(12), SincePong: s(32), SinceHeard: s(32)}},
			"no pong for 12.0 s (last frame 32.0 s ago) — peer gone or not reading", true},
	}
	now := time.Now()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Explain(tc.c); got != tc.want {
				t.Errorf("Explain = %q, want %q", got, tc.want)
			}
			if got := Stuck(tc.c); got != tc.stuck {
				t.Errorf("Stuck = %v, want %v", got, tc.stuck)
			}
			// A client of GET /conns gets the same answer from the row.
			b, _ := json.Marshal(NewRow(tc.c, now))
			var row Row
			if err := json.Unmarshal(b, &row); err != nil {
				t.Fatal(err)
			}
			if got := Explain(row.ConnInfo(now)); got != tc.want {
				t.Errorf("Explain of the decoded row = %q, want %q", got, tc.want)
			}
		})
	}

	t.Run("a real peer that stops reading is explained as a zero window", func(t *testing.T) {
		if runtime.GOOS != "linux" {
			t.Skip("TCP_INFO is read on Linux only")
		}
		l := newLoop(t)
		cli, srv := l.dial(t)
		cli.(*net.TCPConn).SetReadBuffer(4 << 10)
		srv.BeginRequest(governor.Limits{}, reqName("GET /big.bin"), false)
		var wg sync.WaitGroup
		wg.Go(func() { srv.Write(make([]byte, 8<<20)) })
		t.Cleanup(func() { srv.Close(); wg.Wait() })
		var hint string
		eventually(t, "a zero-window hint", func() bool {
			for _, c := range l.tab.Snapshot() {
				hint = Explain(c)
			}
			return strings.HasPrefix(hint, "zero window: peer not reading")
		})
		io.Copy(io.Discard, io.LimitReader(cli, 1))
	})
}

func TestBytesText(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1 KiB", 49152: "48 KiB",
		1536: "1.5 KiB", 1 << 20: "1 MiB", 5 << 30: "5 GiB"} {
		if got := bytesText(n); got != want {
			t.Errorf("bytesText(%d) = %q, want %q", n, got, want)
		}
	}
}
