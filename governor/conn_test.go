package governor

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// pipeListener is an in-memory net.Listener: Dial hands one end of a
// net.Pipe to Accept. It works inside a synctest bubble.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error   { l.once.Do(func() { close(l.done) }); return nil }
func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// dial connects a client and returns the client end and the governed
// server end.
func (l *pipeListener) dial(t *testing.T, gl *Listener) (client net.Conn, server *Conn) {
	t.Helper()
	cli, srv := net.Pipe()
	go func() { l.conns <- srv }()
	nc, err := gl.Accept()
	if err != nil {
		t.Fatalf("accept: %v", err)
	}
	return cli, nc.(*Conn)
}

var testOpts = Options{
	HeaderTimeout: 10 * time.Second,
	StallTimeout:  30 * time.Second,
	IdleTimeout:   30 * time.Second,
	MaxConnsPerIP: -1,
}

// governed returns a Table and a connected client/server pair.
func governed(t *testing.T, o Options) (*Table, net.Conn, *Conn) {
	t.Helper()
	tab := NewTable(o)
	pl := newPipeListener()
	gl := tab.Listen(pl, ListenerOptions{})
	t.Cleanup(func() { gl.Close() })
	cli, srv := pl.dial(t, gl)
	t.Cleanup(func() { cli.Close(); srv.Close() })
	return tab, cli, srv
}

// readUntilErr reads from c until an error and returns it with the time it
// took.
func readUntilErr(c net.Conn) (time.Duration, error) {
	start := time.Now()
	buf := make([]byte, 512)
	for {
		if _, err := c.Read(buf); err != nil {
			return time.Since(start), err
		}
	}
}

// bg runs f in a goroutine and returns a function that waits for it.
func bg(f func()) (wait func()) {
	var wg sync.WaitGroup
	wg.Go(f)
	return wg.Wait
}

func wantCause(t *testing.T, err error, cause Cause) {
	t.Helper()
	var te *TimeoutError
	if !errors.As(err, &te) || te.Cause != cause {
		t.Fatalf("err = %v, want a TimeoutError with cause %s", err, cause)
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("err = %v does not unwrap to os.ErrDeadlineExceeded", err)
	}
}

func TestReadPhases(t *testing.T) {
	t.Run("a silent client is cut at the header timeout", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			tab, _, srv := governed(t, testOpts)
			took, err := readUntilErr(srv)
			wantCause(t, err, CauseHeaderTimeout)
			if took != 10*time.Second {
				t.Errorf("cut after %v, want 10s", took)
			}
			if got := tab.Stats().Closed[CauseHeaderTimeout]; got != 1 {
				t.Errorf("header-timeout closes = %d, want 1", got)
			}
			if n := len(tab.Snapshot()); n != 0 {
				t.Errorf("table has %d conns after the cut, want 0", n)
			}
		})
	})

	t.Run("a byte-a-second slowloris is cut at the header timeout, not later", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			_, cli, srv := governed(t, testOpts)
			wait := bg(func() {
				for i := 0; i < 100; i++ {
					if _, err := cli.Write([]byte("G")); err != nil {
						return
					}
					time.Sleep(time.Second)
				}
			})
			took, err := readUntilErr(srv)
			wantCause(t, err, CauseHeaderTimeout)
			if took != 10*time.Second {
				t.Errorf("cut after %v, want 10s", took)
			}
			wait()
		})
	})

	t.Run("an idle keep-alive connection closes at the idle timeout", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			tab, _, srv := governed(t, testOpts)
			srv.Idle()
			took, err := readUntilErr(srv)
			wantCause(t, err, CauseIdle)
			if took != 30*time.Second {
				t.Errorf("cut after %v, want 30s", took)
			}
			if got := tab.Stats().Closed[CauseIdle]; got != 1 {
				t.Errorf("idle closes = %d, want 1", got)
			}
		})
	})

	t.Run("the first byte after idle starts the header deadline", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			_, cli, srv := governed(t, testOpts)
			srv.Idle()
			go func() {
				time.Sleep(20 * time.Second)
				cli.Write([]byte("GET / HTTP/1.1\r\n"))
			}()
			took, err := readUntilErr(srv)
			wantCause(t, err, CauseHeaderTimeout)
			if took != 30*time.Second {
				t.Errorf("cut after %v, want 20s idle + 10s header", took)
			}
		})
	})

	t.Run("without a minimum rate each body read may wait up to the stall timeout", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			o := testOpts
			o.BodyMinRate = -1
			tab, cli, srv := governed(t, o)
			srv.BeginRequest(Limits{}, nil, true)
			go func() {
				for i := 0; i < 5; i++ {
					time.Sleep(25 * time.Second)
					cli.Write([]byte("body"))
				}
			}()
			took, err := readUntilErr(srv)
			wantCause(t, err, CauseStall)
			if took != 5*25*time.Second+30*time.Second {
				t.Errorf("cut after %v, want 155s (5 reads 25s apart, then a 30s stall)", took)
			}
			if got := tab.Stats().Closed[CauseStall]; got != 1 {
				t.Errorf("stall closes = %d, want 1", got)
			}
		})
	})

	t.Run("a body trickled below the minimum rate is cut", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			o := testOpts
			o.MinRate = 100
			_, cli, srv := governed(t, o)
			srv.BeginRequest(Limits{}, nil, true)
			wait := bg(func() {
				for i := 0; i < 1000; i++ {
					time.Sleep(time.Second)
					if _, err := cli.Write(make([]byte, 50)); err != nil {
						return
					}
				}
			})
			took, err := readUntilErr(srv)
			wantCause(t, err, CauseMinRate)
			// 50 B/s against 30s + n/100: the rule breaks at about 60s.
			if took < 58*time.Second || took > 61*time.Second {
				t.Errorf("cut after %v, want about 60s", took)
			}
			wait()
		})
	})

	t.Run("by default a body trickled below 500 B/s is cut, while it still moves", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			_, cli, srv := governed(t, testOpts)
			srv.BeginRequest(Limits{}, nil, true)
			wait := bg(func() {
				for i := 0; i < 1000; i++ {
					time.Sleep(2 * time.Second)
					if _, err := cli.Write([]byte("x")); err != nil {
						return
					}
				}
			})
			took, err := readUntilErr(srv)
			wantCause(t, err, CauseMinRate)
			// 0.5 B/s against 30s + n/500: the rule breaks just after 30s.
			if took < 30*time.Second || took > 31*time.Second {
				t.Errorf("cut after %v, want about 30s", took)
			}
			wait()
		})
	})

	t.Run("a route's limits override the table's", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			_, _, srv := governed(t, testOpts)
			srv.BeginRequest(Limits{StallTimeout: 3 * time.Second}, nil, true)
			took, err := readUntilErr(srv)
			wantCause(t, err, CauseStall)
			if took != 3*time.Second {
				t.Errorf("cut after %v, want the route's 3s", took)
			}
		})
	})

	t.Run("the transfer cap ends a body that keeps moving", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			o := testOpts
			o.TransferTimeout = 45 * time.Second
			_, cli, srv := governed(t, o)
			srv.BeginRequest(Limits{}, nil, true)
			wait := bg(func() {
				for i := 0; i < 1000; i++ {
					time.Sleep(time.Second)
					if _, err := cli.Write(make([]byte, 1000)); err != nil {
						return
					}
				}
			})
			took, err := readUntilErr(srv)
			wantCause(t, err, CauseTransferTimeout)
			if took != 45*time.Second {
				t.Errorf("cut after %v, want 45s", took)
			}
			wait()
		})
	})

	t.Run("reads while the handler runs are not bounded", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			tab, cli, srv := governed(t, testOpts)
			srv.BeginRequest(Limits{}, nil, false)
			go func() {
				time.Sleep(10 * time.Minute)
				cli.Close()
			}()
			took, err := readUntilErr(srv)
			if !errors.Is(err, io.EOF) || took != 10*time.Minute {
				t.Fatalf("read ended after %v with %v, want EOF after 10m", took, err)
			}
			srv.Close()
			if got := tab.Stats().Closed[CausePeerClosed]; got != 1 {
				t.Errorf("peer-closed closes = %d, want 1", got)
			}
		})
	})

	t.Run("a read blocked when the body ends loses the body deadline", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			_, cli, srv := governed(t, testOpts)
			srv.BeginRequest(Limits{}, nil, true)
			done := make(chan error)
			go func() {
				_, err := readUntilErr(srv)
				done <- err
			}()
			time.Sleep(time.Second)
			srv.BodyDone()
			time.Sleep(5 * time.Minute)
			cli.Close()
			if err := <-done; !errors.Is(err, io.EOF) {
				t.Fatalf("read ended with %v, want EOF", err)
			}
		})
	})

	t.Run("a caller's deadline is returned to the caller and leaves the conn open", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			tab, _, srv := governed(t, testOpts)
			srv.SetReadDeadline(time.Now().Add(time.Second))
			took, err := readUntilErr(srv)
			var te *TimeoutError
			if errors.As(err, &te) || !isTimeout(err) || took != time.Second {
				t.Fatalf("read ended after %v with %v, want a plain timeout after 1s", took, err)
			}
			if n := len(tab.Snapshot()); n != 1 {
				t.Fatalf("table has %d conns, want 1 (still open)", n)
			}
			srv.SetReadDeadline(time.Time{})
			took, err = readUntilErr(srv)
			wantCause(t, err, CauseHeaderTimeout)
			if took != 9*time.Second {
				t.Errorf("header cut %v later, want the 9s left", took)
			}
		})
	})
}

func TestWrites(t *testing.T) {
	t.Run("a peer that never reads is cut at the stall timeout", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			tab, _, srv := governed(t, testOpts)
			srv.BeginRequest(Limits{}, nil, false)
			start := time.Now()
			n, err := srv.Write(make([]byte, 1<<20))
			wantCause(t, err, CauseStall)
			if took := time.Since(start); took != 30*time.Second || n != 0 {
				t.Errorf("wrote %d bytes, cut after %v; want 0 bytes, 30s", n, took)
			}
			if got := tab.Stats().Closed[CauseStall]; got != 1 {
				t.Errorf("stall closes = %d, want 1", got)
			}
		})
	})

	t.Run("a slow reader that keeps reading gets the whole response", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			_, cli, srv := governed(t, testOpts)
			srv.BeginRequest(Limits{}, nil, false)
			const size = 256 << 10
			got := make(chan int)
			go func() {
				total := 0
				buf := make([]byte, 4<<10)
				for total < size {
					time.Sleep(5 * time.Second) // 4 KiB per 5 s: a 64 KiB chunk takes 80 s
					n, err := cli.Read(buf)
					total += n
					if err != nil {
						break
					}
				}
				got <- total
			}()
			n, err := srv.Write(make([]byte, size))
			if err != nil || n != size {
				t.Fatalf("write: %d bytes, %v; want %d, nil", n, err, size)
			}
			if total := <-got; total != size {
				t.Fatalf("client read %d bytes, want %d", total, size)
			}
		})
	})

	t.Run("the phase shows a blocked write and a blocked body read", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			tab, _, srv := governed(t, testOpts)
			srv.BeginRequest(Limits{}, nil, true)
			go srv.Read(make([]byte, 10))
			synctest.Wait()
			if p := tab.Snapshot()[0].Phase; p != PhaseBody {
				t.Errorf("phase during a body read = %s, want body", p)
			}
			go srv.Write([]byte("x"))
			synctest.Wait()
			row := tab.Snapshot()[0]
			if row.Phase != PhaseWrite {
				t.Errorf("phase during a write = %s, want write", row.Phase)
			}
			if row.Rule != CauseStall || !row.Deadline.Equal(time.Now().Add(30*time.Second)) {
				t.Errorf("deadline %v rule %s, want now+30s stall", row.Deadline, row.Rule)
			}
			srv.Close()
		})
	})
}

func TestTable(t *testing.T) {
	t.Run("Kill closes a connection and the snapshot drops it", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			tab, cli, srv := governed(t, testOpts)
			if !tab.Kill(srv.ID()) {
				t.Fatal("Kill reported the conn not open")
			}
			if _, err := cli.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
				t.Errorf("client read after kill: %v, want EOF", err)
			}
			if tab.Kill(srv.ID()) {
				t.Error("second Kill reported the conn open")
			}
			if s := tab.Stats(); s.Open != 0 || s.Closed[CauseKilled] != 1 {
				t.Errorf("stats %+v, want 0 open and 1 killed", s)
			}
		})
	})

	t.Run("TakePeak gives the high-water mark of a period and starts the next from now", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			tab := NewTable(testOpts)
			pl := newPipeListener()
			gl := tab.Listen(pl, ListenerOptions{})
			defer gl.Close()
			_, a := pl.dial(t, gl)
			_, b := pl.dial(t, gl)
			a.Close()
			if peak, open := tab.TakePeak(); peak != 2 || open != 1 {
				t.Errorf("TakePeak = %d, %d; want 2, 1", peak, open)
			}
			if peak, open := tab.TakePeak(); peak != 1 || open != 1 {
				t.Errorf("second TakePeak = %d, %d; want 1, 1", peak, open)
			}
			pl.Close()
			b.Close()
		})
	})

	t.Run("under pressure a waiting header goes before a connection idle for less than a second", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			o := testOpts
			o.MaxConns = 3
			tab := NewTable(o)
			pl := newPipeListener()
			gl := tab.Listen(pl, ListenerOptions{})
			defer gl.Close()
			_, slow := pl.dial(t, gl) // a slowloris: never ends its header
			_, busy := pl.dial(t, gl)
			busy.BeginRequest(Limits{}, nil, false) // a request under way: never evicted
			time.Sleep(2 * time.Second)
			_, live := pl.dial(t, gl)
			live.BeginRequest(Limits{}, nil, false)
			live.Idle() // a browser between two requests
			time.Sleep(10 * time.Millisecond)
			_, c := pl.dial(t, gl)
			if tab.Conn(slow.ID()) != nil || tab.Conn(live.ID()) == nil || tab.Conn(busy.ID()) == nil {
				t.Errorf("open after the 4th dial: slow %v, live %v, busy %v; want only the slow header evicted",
					tab.Conn(slow.ID()) != nil, tab.Conn(live.ID()) != nil, tab.Conn(busy.ID()) != nil)
			}
			// A header waiting however briefly still goes before it.
			_, d := pl.dial(t, gl)
			if tab.Conn(live.ID()) == nil || tab.Conn(c.ID()) != nil {
				t.Errorf("after the 5th dial: live open %v, c open %v; want c (just dialled, in its header) evicted, live kept",
					tab.Conn(live.ID()) != nil, tab.Conn(c.ID()) != nil)
			}
			// With no header waiting, the briefly idle one goes.
			d.BeginRequest(Limits{}, nil, false)
			_, e := pl.dial(t, gl)
			if tab.Conn(live.ID()) != nil {
				t.Error("after the 6th dial: live still open, want it evicted (nothing else could be)")
			}
			if got := tab.Stats().Closed[CauseEvicted]; got != 3 {
				t.Errorf("evictions = %d, want 3", got)
			}
			pl.Close()
			for _, x := range []*Conn{busy, d, e} {
				x.Close()
			}
		})
	})

	t.Run("at the cap the oldest idle connection is evicted, else the new one is refused", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			o := testOpts
			o.MaxConns = 2
			tab := NewTable(o)
			pl := newPipeListener()
			gl := tab.Listen(pl, ListenerOptions{})
			defer gl.Close()
			_, a := pl.dial(t, gl)
			time.Sleep(time.Second)
			_, b := pl.dial(t, gl)
			b.Idle()
			time.Sleep(time.Second)
			a.Idle()
			_, c := pl.dial(t, gl) // evicts b, idle longest
			if got := tab.Stats().Closed[CauseEvicted]; got != 1 || tab.Conn(b.ID()) != nil {
				t.Fatalf("evictions = %d, b open = %v; want b evicted", got, tab.Conn(b.ID()) != nil)
			}
			c.BeginRequest(Limits{}, nil, false)
			a.BeginRequest(Limits{}, nil, false)
			// Nothing idle: the next one is refused and never reaches Accept.
			refusedCli, refusedSrv := net.Pipe()
			go func() { pl.conns <- refusedSrv }()
			go gl.Accept()
			if _, err := refusedCli.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
				t.Errorf("refused client read: %v, want EOF", err)
			}
			synctest.Wait()
			if s := tab.Stats(); s.Refused != 1 || s.Open != 2 {
				t.Errorf("stats %+v, want 1 refused, 2 open", s)
			}
			pl.Close()
			a.Close()
			c.Close()
		})
	})
}
