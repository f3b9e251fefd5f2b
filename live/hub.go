package live

import (
	"context"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/vigilhttp/vigil/governor"
)

// shutdownGrace is how long Shutdown waits, once it has cut what was left,
// for the handlers to return.
const shutdownGrace = time.Second

// Hub tracks the WebSockets and event streams of a server for its
// shutdown. The zero value is ready; all methods are safe for concurrent
// use.
type Hub struct {
	mu      sync.Mutex // guards closing, conns and streams
	closing bool
	conns   map[*Conn]struct{}
	streams map[*Stream]struct{}
	served  sync.WaitGroup // ServeHTTP calls under way
}

// enter admits a request unless the Hub is shutting down; leave ends it.
func (h *Hub) enter() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closing {
		return false
	}
	h.served.Add(1)
	return true
}

func (h *Hub) leave() { h.served.Done() }

// add tracks c; a socket that finishes its upgrade after Shutdown began
// is sent 1001 at once.
func (h *Hub) add(c *Conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.conns == nil {
		h.conns = map[*Conn]struct{}{}
	}
	h.conns[c] = struct{}{}
	if h.closing {
		c.closeAsync(websocket.StatusGoingAway, "server shutting down")
	}
}

func (h *Hub) remove(c *Conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.conns, c)
}

func (h *Hub) addStream(s *Stream) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.streams == nil {
		h.streams = map[*Stream]struct{}{}
	}
	h.streams[s] = struct{}{}
	if h.closing {
		s.end()
	}
}

func (h *Hub) removeStream(s *Stream) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.streams, s)
}

// Open returns the WebSockets and event streams open now.
func (h *Hub) Open() (websockets, streams int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.conns), len(h.streams)
}

// Shutdown refuses new sockets and streams (503), sends close 1001 to
// every WebSocket and ends every event stream, and waits for their
// handlers to return until ctx is done; then it cuts the sockets left
// (governor.CauseShutdown) and returns ctx's error.
func (h *Hub) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	h.closing = true
	conns := make([]*Conn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	for s := range h.streams {
		s.end()
	}
	h.mu.Unlock()
	for _, c := range conns {
		c.closeAsync(websocket.StatusGoingAway, "server shutting down")
	}
	done := make(chan struct{})
	go func() {
		h.served.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	h.mu.Lock()
	for c := range h.conns {
		if c.gc != nil {
			c.gc.CloseFor(governor.CauseShutdown)
		}
		c.ws.CloseNow()
	}
	h.mu.Unlock()
	// Every handler sees its socket closed now; one that does not return
	// is not waited for long.
	t := time.NewTimer(shutdownGrace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
	return ctx.Err()
}
