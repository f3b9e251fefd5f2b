package vigil_test

import (
	"net"
	"testing"
	"time"

	"github.com/vigilhttp/vigil"
)

func TestTrimmer(t *testing.T) {
	t.Run("hands memory back once a burst of connections has passed", func(t *testing.T) {
		srv, addr := startLoopback(t, vigil.Config{MaxConnsPerIP: -1})
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for range vigil.TrimBurst + 8 {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
		}
		waitFor(t, "every connection open", func() bool { return srv.Governor().Stats().Open == vigil.TrimBurst+8 })
		time.Sleep(vigil.TrimEvery + 100*time.Millisecond) // one sample at the peak
		for _, c := range conns {
			c.Close()
		}
		conns = nil
		waitFor(t, "a hand-back after the burst", func() bool { return vigil.Trims(srv) > 0 })
	})
}

// waitFor polls cond every 50 ms for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 100 {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no %s within 5 s", what)
}
