package governor

import (
	"net"
	"net/netip"
	"testing"
	"time"
)

func TestPerIPCapCountsIPv6By64(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skip("no IPv6 loopback:", err)
	}
	defer ln.Close()
	for _, tt := range []struct{ remote, want string }{
		{"[2001:db8:1:2:aaaa::1]:5000", "2001:db8:1:2::"},
		{"[2001:db8:1:2:bbbb::2]:5000", "2001:db8:1:2::"},
		{"[::ffff:198.18.0.7]:5000", "198.18.0.7"},
		{"198.18.0.7:5000", "198.18.0.7"},
	} {
		ap := netip.MustParseAddrPort(tt.remote)
		got := remoteIP(fakeRemote{net.TCPAddrFromAddrPort(ap)})
		if got.String() != tt.want {
			t.Errorf("%s counts as %s, want %s", tt.remote, got, tt.want)
		}
	}
}

// fakeRemote is a net.Conn with a remote address only.
type fakeRemote struct{ addr net.Addr }

func (f fakeRemote) RemoteAddr() net.Addr             { return f.addr }
func (f fakeRemote) Read([]byte) (int, error)         { return 0, nil }
func (f fakeRemote) Write(p []byte) (int, error)      { return len(p), nil }
func (f fakeRemote) Close() error                     { return nil }
func (f fakeRemote) LocalAddr() net.Addr              { return f.addr }
func (f fakeRemote) SetDeadline(time.Time) error      { return nil }
func (f fakeRemote) SetReadDeadline(time.Time) error  { return nil }
func (f fakeRemote) SetWriteDeadline(time.Time) error { return nil }
