package governor

import (
	"io"
	"net"
	"testing"
)

// loopbackPair returns a connected loopback TCP pair: the accepted end
// (governed when gov is true) and the dialled end.
func loopbackPair(b *testing.B, gov bool) (srv, cli net.Conn) {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	var l net.Listener = ln
	if gov {
		l = NewTable(Options{}).Listen(ln, ListenerOptions{})
	}
	done := make(chan net.Conn)
	go func() {
		c, err := l.Accept()
		if err != nil {
			b.Error(err)
		}
		done <- c
	}()
	cli, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	srv = <-done
	b.Cleanup(func() { srv.Close(); cli.Close() })
	return srv, cli
}

// BenchmarkPingPong measures a small request and response each way: the
// per-operation cost the governor adds to every read and write.
func BenchmarkPingPong(b *testing.B) {
	for _, mode := range []struct {
		name string
		gov  bool
	}{{"plain", false}, {"governed", true}} {
		b.Run(mode.name, func(b *testing.B) {
			srv, cli := loopbackPair(b, mode.gov)
			if gc, ok := srv.(*Conn); ok {
				gc.BeginRequest(Limits{}, nil, true)
			}
			go func() {
				buf := make([]byte, 64)
				for {
					if _, err := io.ReadFull(srv, buf); err != nil {
						return
					}
					if _, err := srv.Write(buf); err != nil {
						return
					}
				}
			}()
			buf := make([]byte, 64)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := cli.Write(buf); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(cli, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStream measures bulk writes of 256 KiB (cut into WriteChunk
// pieces by the governed conn).
func BenchmarkStream(b *testing.B) {
	for _, mode := range []struct {
		name string
		gov  bool
	}{{"plain", false}, {"governed", true}} {
		b.Run(mode.name, func(b *testing.B) {
			srv, cli := loopbackPair(b, mode.gov)
			go io.Copy(io.Discard, cli)
			buf := make([]byte, 256<<10)
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := srv.Write(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
