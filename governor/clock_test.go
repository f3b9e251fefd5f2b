package governor

import (
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// steppingClock is the system's monotonic clock with a wall clock that a
// test steps, as NTP steps a device that booted in 1970.
type steppingClock struct{ offset atomic.Int64 }

func (c *steppingClock) Mono() time.Duration { return SystemClock{}.Mono() }
func (c *steppingClock) Wall() time.Time {
	return time.Now().Round(0).Add(time.Duration(c.offset.Load()))
}
func (c *steppingClock) step(d time.Duration) { c.offset.Add(int64(d)) }

const decade = 10 * 365 * 24 * time.Hour

func TestWallClockSteps(t *testing.T) {
	clock := &steppingClock{}
	clock.step(-5 * decade) // the device boots in the past, 1976 or so
	tab := NewTable(Options{HeaderTimeout: 400 * time.Millisecond, IdleTimeout: 5 * time.Second, MaxConns: 2, Clock: clock})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gl := tab.Listen(ln, ListenerOptions{})
	defer gl.Close()
	defer tab.CloseAll(CauseShutdown)
	accept := func() *Conn {
		t.Helper()
		cli, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cli.Close() })
		nc, err := gl.Accept()
		if err != nil {
			t.Fatal(err)
		}
		return nc.(*Conn)
	}

	t.Run("a deadline fires on time when the wall clock steps back and forth", func(t *testing.T) {
		c := accept()
		t0 := time.Now()
		clock.step(decade)
		go func() { time.Sleep(100 * time.Millisecond); clock.step(-2 * decade); clock.step(decade) }()
		_, err := c.Read(make([]byte, 1))
		var te *TimeoutError
		if !errors.As(err, &te) || te.Cause != CauseHeaderTimeout {
			t.Fatalf("read ended with %v, want a header timeout", err)
		}
		if d := time.Since(t0); d < 350*time.Millisecond || d > 900*time.Millisecond {
			t.Errorf("header timeout after %v, want 400 ms", d)
		}
	})

	t.Run("ages and time without progress are monotonic; wall times only displayed", func(t *testing.T) {
		c := accept()
		clock.step(decade)
		rows := tab.Snapshot()
		clock.step(-decade)
		if len(rows) != 1 || rows[0].ID != c.ID() {
			t.Fatalf("rows %+v, want the one connection", rows)
		}
		r := rows[0]
		if r.Age < 0 || r.Age > time.Second || r.SinceProgress < 0 || r.SinceProgress > time.Second {
			t.Errorf("age %v, since progress %v: want under a second whatever the wall clock did", r.Age, r.SinceProgress)
		}
		want := clock.Wall().Add(decade)
		if d := r.Start.Sub(want); d < -2*time.Second || d > 2*time.Second {
			t.Errorf("start shown %v, want the stepped wall clock's %v", r.Start, want)
		}
		c.Close()
	})

	t.Run("eviction picks the connection idle longest across a step", func(t *testing.T) {
		first := accept()
		first.Idle()
		clock.step(decade)
		second := accept()
		second.Idle()
		clock.step(-3 * decade)
		third := accept() // at the cap of 2: one idle connection must go
		defer third.Close()
		if first.Phase() != PhaseClosed || second.Phase() == PhaseClosed {
			t.Errorf("first %v, second %v: want the first (idle longest) evicted", first.Phase(), second.Phase())
		}
		second.Close()
	})
}
