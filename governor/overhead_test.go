package governor

import (
	"net"
	"testing"
	"time"
)

// nopConn is a net.Conn whose I/O returns at once: it isolates the
// governor's own cost per operation.
type nopConn struct{ net.Conn }

func (nopConn) Read(p []byte) (int, error)       { return len(p), nil }
func (nopConn) Write(p []byte) (int, error)      { return len(p), nil }
func (nopConn) SetReadDeadline(time.Time) error  { return nil }
func (nopConn) SetWriteDeadline(time.Time) error { return nil }
func (nopConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (nopConn) Close() error                     { return nil }

func BenchmarkOverhead(b *testing.B) {
	tab := NewTable(Options{})
	c, _, _ := tab.admit(nopConn{}, modeHeader, false)
	buf := make([]byte, 512)
	b.Run("read", func(b *testing.B) {
		for b.Loop() {
			c.Read(buf)
		}
	})
	b.Run("write", func(b *testing.B) {
		c.BeginRequest(Limits{}, nil, false)
		for b.Loop() {
			c.Write(buf)
		}
	})
	b.Run("request cycle", func(b *testing.B) {
		for b.Loop() {
			c.Idle()
			c.Read(buf)
			c.Active()
			c.BeginRequest(Limits{}, nil, false)
			c.SetReadDeadline(time.Time{})
			c.Write(buf)
			c.SetWriteDeadline(time.Time{})
		}
	})
}
