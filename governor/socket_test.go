package governor

import (
	"testing"
	"testing/synctest"
	"time"
)

func TestSocket(t *testing.T) {
	t.Run("a WebSocket shows its phase, messages, pong round trip and silence, and counts its close", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			tab, cli, c := governed(t, testOpts)
			defer cli.Close()
			c.BeginRequest(Limits{}, nil, false)
			c.Hijacked()
			if p := c.Phase(); p != PhaseHijacked {
				t.Fatalf("phase before OpenSocket = %v, want hijacked", p)
			}
			s := c.OpenSocket(true)
			if p := c.Phase(); p != PhaseWebSocket {
				t.Fatalf("phase = %v, want websocket", p)
			}
			s.MessageIn()
			s.MessageOut()
			s.MessageOut()
			time.Sleep(2 * time.Second)
			s.PingSent()
			time.Sleep(30 * time.Millisecond)
			s.Pong()
			time.Sleep(3 * time.Second)
			s.PingSent()
			time.Sleep(time.Second)
			row := c.Info(tab.Now(), tab.Wall())
			si := row.Socket
			if si == nil {
				t.Fatal("row has no Socket")
			}
			want := SocketInfo{Kind: "websocket", MessagesIn: 1, MessagesOut: 2, PongRTT: 30 * time.Millisecond,
				SincePong: 4 * time.Second, SinceHeard: 4 * time.Second, PingWait: time.Second}
			if *si != want {
				t.Fatalf("Socket = %+v, want %+v", *si, want)
			}
			if st := tab.Stats().WebSockets; st.Open != 1 || st.Opened != 1 {
				t.Fatalf("WebSockets = %+v, want 1 open, 1 opened", st)
			}
			if !s.HeardSince(tab.Now().Add(-4*time.Second)) || s.HeardSince(tab.Now().Add(-3*time.Second)) {
				t.Fatal("HeardSince does not date the last pong")
			}
			c.CloseFor(CausePongTimeout)
			st := tab.Stats().WebSockets
			if st.Open != 0 || st.Closed[CausePongTimeout] != 1 {
				t.Fatalf("after close: WebSockets = %+v, want 0 open, 1 pong-timeout", st)
			}
			if !CausePongTimeout.Abortive() || CausePongTimeout.String() != "pong-timeout" {
				t.Fatal("pong-timeout must be abortive and named")
			}
		})
	})
	t.Run("an event stream shows phase stream while it lasts, and its end counts as closed", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			tab, cli, c := governed(t, testOpts)
			defer cli.Close()
			defer c.Close()
			c.BeginRequest(Limits{}, nil, false)
			s := c.OpenSocket(false)
			if p := c.Phase(); p != PhaseStream {
				t.Fatalf("phase = %v, want stream", p)
			}
			s.End()
			if p := c.Phase(); p != PhaseHandler {
				t.Fatalf("phase after End = %v, want handler", p)
			}
			c.Idle()
			c.Close()
			st := tab.Stats().Streams
			if st.Open != 0 || st.Opened != 1 || st.Closed[CauseClosed] != 1 || len(st.Closed) != 1 {
				t.Fatalf("Streams = %+v, want 1 opened, closed once (closed)", st)
			}
		})
	})
}
