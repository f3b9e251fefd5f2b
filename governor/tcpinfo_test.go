package governor

import (
	"io"
	"net"
	"runtime"
	"testing"
	"time"
)

func TestKernelView(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("TCP_INFO is read on Linux only")
	}
	t.Run("a peer that stops reading shows unacknowledged or unsent bytes", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		tab := NewTable(Options{})
		gl := tab.Listen(ln, ListenerOptions{})
		defer gl.Close()
		cli, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer cli.Close()
		cli.(*net.TCPConn).SetReadBuffer(4 << 10)
		nc, err := gl.Accept()
		if err != nil {
			t.Fatal(err)
		}
		srv := nc.(*Conn)
		defer srv.Close()
		srv.BeginRequest(Limits{StallTimeout: 500 * time.Millisecond}, nil, false)
		werr := make(chan error, 1)
		go func() {
			_, err := srv.Write(make([]byte, 8<<20))
			werr <- err
		}()
		time.Sleep(200 * time.Millisecond)
		rows := tab.Snapshot()
		if len(rows) != 1 || rows[0].Kernel == nil {
			t.Fatalf("snapshot %+v, want one row with a kernel view", rows)
		}
		k := rows[0].Kernel
		if k.State != "ESTABLISHED" || k.NotSent+k.UnackedBytes == 0 || rows[0].Phase != PhaseWrite {
			t.Errorf("kernel view %+v in phase %s, want ESTABLISHED with bytes queued, phase write", k, rows[0].Phase)
		}
		if err := <-werr; err == nil {
			t.Error("write to a peer that never reads succeeded")
		}
		io.Copy(io.Discard, io.LimitReader(cli, 1))
	})
}
