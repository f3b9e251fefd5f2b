package faultkit

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"golang.org/x/sys/unix"
)

// DialOptions tunes the client socket made by DialTCP. The zero value keeps
// the kernel's defaults, lets the kernel pick the source address and
// disables TCP keepalive.
type DialOptions struct {
	// RecvBuf is SO_RCVBUF in bytes, set before connect so the window scale
	// is negotiated for it. Linux doubles the value, enforces a minimum of
	// a few KiB and stops autotuning the buffer, so a small RecvBuf makes a
	// peer that stops reading reach a zero window quickly. Zero keeps the
	// default (autotuned up to net.ipv4.tcp_rmem).
	RecvBuf int

	// SendBuf is SO_SNDBUF in bytes, set before connect. Zero keeps the
	// default.
	SendBuf int

	// Source is the local address the socket binds before connect (port
	// chosen by the kernel), so many peers can come from many addresses of
	// one host (see Link.AddClientAddrs) and a per-IP cap sees them apart.
	// The zero Addr lets the kernel choose.
	Source netip.Addr

	// KeepAlive configures TCP keepalive. Its zero value (Enable false)
	// disables it, so a silent peer stays silent. A peer that stops
	// reading may want it on: a server whose kernel gives up on a zero
	// window (TCP_USER_TIMEOUT) drops the socket without a RST, and only a
	// keepalive probe then draws the RST that tells the peer.
	KeepAlive net.KeepAliveConfig
}

// DialTCP connects to addr (an IP literal and port) over TCP with the
// options of opt, bounded by ctx (or DefaultTimeout if ctx has no
// deadline).
func DialTCP(ctx context.Context, addr string, opt DialOptions) (*net.TCPConn, error) {
	c, err := dialTCP(ctx, addr, opt)
	if err != nil {
		return nil, fmt.Errorf("faultkit: %w", err)
	}
	return c, nil
}

// dialTCP is DialTCP with errors not yet prefixed.
func dialTCP(ctx context.Context, addr string, opt DialOptions) (*net.TCPConn, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	d := net.Dialer{
		KeepAlive:       -1,
		KeepAliveConfig: opt.KeepAlive,
		Control: func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				if opt.RecvBuf > 0 {
					if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, opt.RecvBuf); serr != nil {
						return
					}
				}
				if opt.SendBuf > 0 {
					serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUF, opt.SendBuf)
				}
			})
			if err != nil {
				return err
			}
			return serr
		},
	}
	if opt.Source.IsValid() {
		d.LocalAddr = net.TCPAddrFromAddrPort(netip.AddrPortFrom(opt.Source, 0))
	}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial tcp %s: %w", addr, err)
	}
	return c.(*net.TCPConn), nil
}

// Dialer dials one address again and again, from inside a namespace or
// not, with at most a fixed number of dials in flight: a dial inside a
// namespace runs on a locked OS thread (Netns.Do), so the cap also caps
// those threads when thousands of peers connect at once. Its Dial is safe
// for concurrent use.
type Dialer struct {
	ns    *Netns // nil: the caller's namespace
	addr  string
	slots chan struct{}
}

// DefaultDialSlots is the dials in flight a Dialer made with slots <= 0
// allows.
const DefaultDialSlots = 64

// NewDialer returns a Dialer of addr (an IP literal and port) in ns (nil:
// the caller's own namespace) with at most slots dials in flight
// (DefaultDialSlots when slots <= 0).
func NewDialer(ns *Netns, addr string, slots int) *Dialer {
	if slots <= 0 {
		slots = DefaultDialSlots
	}
	return &Dialer{ns: ns, addr: addr, slots: make(chan struct{}, slots)}
}

// Addr returns the address the Dialer connects to.
func (d *Dialer) Addr() string { return d.addr }

// Dial waits for a free slot and connects with the options of opt (its
// Source picks the peer's address), both bounded by ctx.
func (d *Dialer) Dial(ctx context.Context, opt DialOptions) (*net.TCPConn, error) {
	select {
	case d.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("faultkit: dial tcp %s: %w", d.addr, ctx.Err())
	}
	defer func() { <-d.slots }()
	if d.ns == nil {
		return DialTCP(ctx, d.addr, opt)
	}
	return d.ns.DialTCP(ctx, d.addr, opt)
}
