package faultkit

import (
	"context"
	"fmt"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// DialOptions tunes the client socket made by DialTCP. The zero value keeps
// the kernel's defaults.
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
}

// DialTCP connects to addr (an IP literal and port) over TCP with the
// buffers from opt and TCP keepalive disabled, bounded by ctx (or
// DefaultTimeout if ctx has no deadline).
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
		KeepAlive: -1,
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
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial tcp %s: %w", addr, err)
	}
	return c.(*net.TCPConn), nil
}
