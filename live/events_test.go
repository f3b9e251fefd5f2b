package live

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vigilhttp/vigil/governor"
)

func TestEvents(t *testing.T) {
	modes(t, func(t *testing.T, secure bool) {
		t.Run("a stream sends id, event, retry and data, heartbeats when quiet, outlives the handler timeout and passes Last-Event-ID", func(t *testing.T) {
			lastID := make(chan string, 1)
			r := newRig(t, loopback(t), rigOptions{tls: secure, events: StreamOptions{Heartbeat: 200 * time.Millisecond, Retry: 3 * time.Second},
				sfn: func(s *Stream) {
					lastID <- s.LastEventID()
					s.Send(Event{ID: "7", Event: "link", Data: "up\nfast"})
					time.Sleep(900 * time.Millisecond) // quiet, past the 0.5 s handler timeout
					s.Send(Event{ID: "8", Data: "down"})
					<-s.Context().Done()
				}})
			nc := dialRaw(t, r.addr)
			if secure {
				nc = tls.Client(nc, &tls.Config{InsecureSkipVerify: true, ServerName: "dev", NextProtos: []string{"http/1.1"}})
			}
			nc.SetDeadline(time.Now().Add(3 * time.Second))
			fmt.Fprintf(nc, "GET /ev HTTP/1.1\r\nHost: dev\r\nAccept: text/event-stream\r\nLast-Event-ID: 6\r\n\r\n")
			resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
			if err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
				t.Fatalf("response %v, %v", resp, err)
			}
			if got := <-lastID; got != "6" {
				t.Fatalf("LastEventID = %q, want 6", got)
			}
			br := bufio.NewReader(resp.Body)
			var got []string
			var row *governor.ConnInfo
			for !strings.Contains(strings.Join(got, "|"), "data: down") {
				line, err := br.ReadString('\n')
				if err != nil {
					t.Fatalf("after %q: %v", got, err)
				}
				got = append(got, strings.TrimRight(line, "\n"))
				if row == nil && strings.HasPrefix(line, ": heartbeat") {
					// Between two writes (a row read during one shows
					// phase write).
					time.Sleep(50 * time.Millisecond)
					row = r.row(nc.LocalAddr().String())
				}
			}
			all := strings.Join(got, "|")
			if !strings.HasPrefix(all, "retry: 3000||id: 7|event: link|data: up|data: fast||: heartbeat||") || !strings.HasSuffix(all, "id: 8|data: down") {
				t.Fatalf("stream = %q", all)
			}
			if n := strings.Count(all, ": heartbeat"); n < 3 {
				t.Fatalf("%d heartbeats in 0.9 s of quiet, want 3 or more: %q", n, all)
			}
			if row == nil || row.Phase != governor.PhaseStream || row.Socket == nil || row.Socket.Kind != "stream" || row.Socket.MessagesOut != 1 {
				t.Fatalf("row during the stream = %+v, want phase stream with 1 event out", row)
			}
			if st := r.tab.Stats().Streams; st.Open != 1 || st.Opened != 1 {
				t.Fatalf("Streams = %+v, want 1 open", st)
			}
		})
	})
	t.Run("a POST is 405", func(t *testing.T) {
		r := newRig(t, loopback(t), rigOptions{sfn: func(s *Stream) {}})
		nc := dialRaw(t, r.addr)
		nc.SetDeadline(time.Now().Add(2 * time.Second))
		fmt.Fprintf(nc, "POST /ev HTTP/1.1\r\nHost: dev\r\nContent-Length: 0\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
		if err != nil || resp.StatusCode != 405 {
			t.Fatalf("response %v, %v; want 405", resp, err)
		}
	})
}
