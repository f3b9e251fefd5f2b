package faultkit

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
)

// Mode is the protocol a scenario speaks on its connection: HTTP/1.1 in
// clear, HTTP/1.1 over TLS, or HTTP/2 over TLS. A connection made by
// Mode.Dial (or Mode.Client) carries its mode: every scenario of this
// package speaks HTTP/2 frames on a TLS connection whose ALPN picked "h2",
// and HTTP/1.1 otherwise, so the same scenario runs in each mode.
type Mode int

const (
	// HTTP1 is HTTP/1.1 on plain TCP.
	HTTP1 Mode = iota
	// HTTPS1 is HTTP/1.1 over TLS (ALPN "http/1.1").
	HTTPS1
	// H2 is HTTP/2 over TLS (ALPN "h2").
	H2
)

// Modes lists every mode, in the order tests and hangcheck run them.
var Modes = []Mode{HTTP1, HTTPS1, H2}

// ErrNotOffered is wrapped by Mode.Dial and Mode.Client when the server's
// TLS handshake did not pick the mode's ALPN protocol (a server without
// HTTP/2 answers an "h2" offer with "http/1.1" or nothing).
var ErrNotOffered = errors.New("the server did not pick the protocol by ALPN")

// String returns the mode's short name: "http1", "https1" or "h2".
func (m Mode) String() string {
	switch m {
	case HTTP1:
		return "http1"
	case HTTPS1:
		return "https1"
	case H2:
		return "h2"
	}
	return fmt.Sprintf("mode(%d)", int(m))
}

// ParseMode returns the mode named by String.
func ParseMode(s string) (Mode, error) {
	for _, m := range Modes {
		if m.String() == s {
			return m, nil
		}
	}
	return 0, fmt.Errorf("faultkit: unknown mode %q (known: http1, https1, h2)", s)
}

// TLS reports whether the mode runs over TLS.
func (m Mode) TLS() bool { return m == HTTPS1 || m == H2 }

// ALPN returns the protocol the mode offers in its TLS handshake, or ""
// for HTTP1.
func (m Mode) ALPN() string {
	switch m {
	case HTTPS1:
		return "http/1.1"
	case H2:
		return "h2"
	}
	return ""
}

// Dial connects to addr (an IP literal and port) with DialTCP and, for a
// TLS mode, runs the client handshake (see Client), all bounded by ctx.
func (m Mode) Dial(ctx context.Context, addr string, opt DialOptions) (net.Conn, error) {
	c, err := DialTCP(ctx, addr, opt)
	if err != nil {
		return nil, err
	}
	return m.Client(ctx, c)
}

// Client turns the TCP connection c into a connection of the mode: c
// itself for HTTP1; for a TLS mode, a *tls.Conn after a handshake bounded
// by ctx that offers only the mode's ALPN protocol and verifies nothing
// (the targets are devices with self-signed certificates, and the tests
// attack, they do not trust). The handshake fails with ErrNotOffered when
// the server picks another protocol (for HTTPS1, a server that picks none
// speaks HTTP/1.1 all the same). On error c is closed.
func (m Mode) Client(ctx context.Context, c *net.TCPConn) (net.Conn, error) {
	return m.ClientConfig(ctx, c, nil)
}

// ClientConfig is Client with the TLS configuration cfg (its NextProtos
// replaced by the mode's protocol), for a caller that verifies the
// server's certificate; a nil cfg verifies nothing, as Client.
func (m Mode) ClientConfig(ctx context.Context, c *net.TCPConn, cfg *tls.Config) (net.Conn, error) {
	if !m.TLS() {
		return c, nil
	}
	ctx, cancel := bound(ctx)
	defer cancel()
	if cfg == nil {
		cfg = &tls.Config{
			InsecureSkipVerify: true, // a device's self-signed certificate; see Client
			ServerName:         "vigil-faultkit",
		}
	}
	cfg = cfg.Clone()
	cfg.NextProtos = []string{m.ALPN()}
	tc := tls.Client(c, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = c.Close()
		if strings.Contains(err.Error(), "no application protocol") { // the server's alert 120
			err = fmt.Errorf("%w: %w", err, ErrNotOffered)
		}
		return nil, fmt.Errorf("faultkit: %s: tls handshake with %s: %w", m, c.RemoteAddr(), err)
	}
	// No ALPN at all means HTTP/1.1 (RFC 7301 is optional for it).
	if got := tc.ConnectionState().NegotiatedProtocol; got != m.ALPN() && (m == H2 || got != "") {
		_ = c.Close()
		if got == "" {
			got = "none"
		}
		return nil, fmt.Errorf("faultkit: %s: %s offered %s, picked %s: %w", m, c.RemoteAddr(), m.ALPN(), got, ErrNotOffered)
	}
	return tc, nil
}

// TCP returns the TCP connection under c: c itself, or the connection a
// *tls.Conn (or any connection with a NetConn method) runs on. Resets and
// cable pulls act on it, since a TLS connection is closed with an alert.
func TCP(c net.Conn) (*net.TCPConn, bool) {
	for range 4 {
		switch v := c.(type) {
		case *net.TCPConn:
			return v, true
		case interface{ NetConn() net.Conn }:
			c = v.NetConn()
		default:
			return nil, false
		}
	}
	return nil, false
}

// ModeOf returns the mode of c: H2 or HTTPS1 for a *tls.Conn whose
// handshake picked "h2" or not, HTTP1 otherwise.
func ModeOf(c net.Conn) Mode {
	tc, ok := c.(*tls.Conn)
	if !ok {
		return HTTP1
	}
	if tc.ConnectionState().NegotiatedProtocol == "h2" {
		return H2
	}
	return HTTPS1
}

// rawConn returns the syscall.RawConn of the TCP connection under c.
func rawConn(c net.Conn) (syscall.RawConn, error) {
	tcp, ok := TCP(c)
	if !ok {
		return nil, fmt.Errorf("%T has no TCP connection under it", c)
	}
	return tcp.SyscallConn()
}

// DialMode is Mode.Dial run inside the namespace: the TCP connection is
// made there, the handshake runs on it afterwards.
func (n *Netns) DialMode(ctx context.Context, m Mode, addr string, opt DialOptions) (net.Conn, error) {
	c, err := n.DialTCP(ctx, addr, opt)
	if err != nil {
		return nil, err
	}
	return m.Client(ctx, c)
}
