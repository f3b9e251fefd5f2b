package governor

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// ListenerOptions configures one listener of a Table.
type ListenerOptions struct {
	// TLS says connections start with a TLS handshake, bounded by
	// HandshakeTimeout; the protocol layer calls HandshakeDone after it, or
	// Multiplexed when ALPN chose a multiplexed protocol (HTTP/2).
	TLS bool

	// Refusal is written to a connection refused at a cap before it is
	// closed, for example a canned "503 Service Unavailable" response
	// (httpd.Refusal is one; httpd.Govern uses it). At most 32 refusals
	// are answered at once, each within 250 ms; beyond, connections are
	// reset. Nil means close at once, abortively. Leave it nil on a TLS
	// listener: its peer expects a handshake, not plaintext.
	Refusal []byte
}

// Refusal bounds: at most maxRefusing refused connections are answered at
// once, each for at most refuseTime; the rest are reset at once.
const (
	maxRefusing = 32
	refuseTime  = 250 * time.Millisecond
)

// Listener is a net.Listener whose Accept returns governed *Conn values
// admitted by its Table. Refused connections never reach the caller.
type Listener struct {
	ln   net.Listener
	t    *Table
	opts ListenerOptions

	refusing chan struct{}  // semaphore of refusal goroutines
	wg       sync.WaitGroup // the refusal goroutines

	mu     sync.Mutex // guards closed and every wg.Add, so that Close's Wait follows the last Add
	closed bool

	// spare is a descriptor held in reserve (/dev/null): when the process
	// runs out (EMFILE), Accept closes it to take the waiting connection,
	// refuses it, and takes it back, so that clients get a fast 503 instead
	// of waiting in the kernel's accept queue. Used by Accept only.
	spare *os.File

	// preset is the socket options (sockKeepAlive, sockUserTimeout) Listen
	// set on the listening socket, for accepted sockets to inherit.
	preset sockFlags
	// sock is what the first accepted TCP socket showed (sockKnown plus the
	// preset options it really inherited, and sockAcks); zero before it.
	// Every socket of a listener comes from the same kernel with the same
	// listener options, so one look serves them all.
	sock atomic.Uint32
}

// sockFlags describe the accepted sockets of a Listener.
type sockFlags uint32

const (
	sockKnown       sockFlags = 1 << iota // the first accepted socket was looked at
	sockKeepAlive                         // keepalive as Options say is inherited from the listener
	sockUserTimeout                       // TCP_USER_TIMEOUT as Options say is inherited
	sockAcks                              // the kernel reports the peer's acknowledgements (TCP_INFO)
)

// Listen needs a protocol layer that tells each connection where it is
// (BeginRequest, BodyDone, Idle, Hijacked; HandshakeDone or Multiplexed
// after TLS): for net/http use httpd.Govern, which does. Without those
// calls a connection never leaves its first phase, so every read stays
// under HeaderTimeout (a total deadline from accept) and the connection is
// cut when it expires, between requests or not.
//
// Listen wraps ln so that its connections are governed by t. When ln is a
// TCP listener, the keepalive and TCP_USER_TIMEOUT options are also set on
// the listening socket: where accepted sockets inherit them (Linux, when
// the runtime does not set its own keepalive on accept), Accept then skips
// setting them on every connection. The first accepted socket is checked;
// options it did not inherit are set per connection, as without this.
func (t *Table) Listen(ln net.Listener, opts ListenerOptions) *Listener {
	l := &Listener{ln: ln, t: t, opts: opts, refusing: make(chan struct{}, maxRefusing)}
	l.spare, _ = os.Open(os.DevNull)
	if tl, ok := ln.(*net.TCPListener); ok {
		l.preset = presetListener(tl, &t.opts)
	}
	return l
}

// Addr returns the listener's network address.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// Close closes the listener and waits for the refusals under way (bounded by
// refuseTime); from its call on, Accept starts no more of them. Open
// connections are not closed: see Table.CloseAll.
func (l *Listener) Close() error {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	err := l.ln.Close()
	l.wg.Wait()
	return err
}

// release closes the listener's spare descriptor (see outOfDescriptors),
// once Accept finds the listener closed.
func (l *Listener) release() {
	if l.spare != nil {
		l.spare.Close()
		l.spare = nil
	}
}

// Accept waits for and returns the next admitted connection, a *Conn.
func (l *Listener) Accept() (net.Conn, error) {
	first := modeHeader
	if l.opts.TLS {
		first = modeHandshake
	}
	for {
		nc, err := l.ln.Accept()
		if err != nil {
			if l.outOfDescriptors(err) {
				continue
			}
			if errors.Is(err, net.ErrClosed) {
				l.release()
			}
			return nil, err
		}
		sf := l.sockFlags(nc)
		l.t.setSocketOptions(nc, sf)
		c, victim, why := l.t.admit(nc, first, sf&sockAcks != 0)
		if c == nil {
			l.refuse(nc, why)
			continue
		}
		if victim != nil {
			l.t.log.Debug("governor: evicting idle conn", "conn_id", victim.id,
				"remote", victim.RemoteAddr().String(), "for", nc.RemoteAddr().String())
			victim.CloseFor(CauseEvicted)
		}
		c.armFirstRead()
		return c, nil
	}
}

// outOfDescriptors handles an Accept that failed for want of a file
// descriptor (EMFILE, ENFILE): it frees the spare, accepts the waiting
// connection with it, refuses that connection at once (refuseNow) and
// takes the spare back. It reports whether it did, so that Accept goes on
// and every connection waiting gets its 503 at once rather than waiting in
// the kernel's accept queue; when even the spare cannot be had back it
// reports false, and Accept returns the error (net/http then backs off).
func (l *Listener) outOfDescriptors(err error) bool {
	if !errors.Is(err, syscall.EMFILE) && !errors.Is(err, syscall.ENFILE) {
		return false
	}
	if l.spare == nil {
		if l.spare, _ = os.Open(os.DevNull); l.spare == nil {
			return false
		}
	}
	l.spare.Close()
	l.spare = nil
	nc, aerr := l.ln.Accept()
	if aerr == nil {
		l.t.refused.Add(1)
		l.t.log.Warn("governor: out of file descriptors; connection refused", "err", err,
			"remote", nc.RemoteAddr().String())
		l.refuseNow(nc)
	}
	l.spare, _ = os.Open(os.DevNull)
	return aerr == nil
}

// refuseNow answers nc with the listener's Refusal and closes it, on the
// accepting goroutine and within a few milliseconds, so that the
// descriptor is free again at once.
func (l *Listener) refuseNow(nc net.Conn) {
	if l.opts.Refusal != nil {
		nc.SetDeadline(time.Now().Add(20 * time.Millisecond))
		if _, err := nc.Write(l.opts.Refusal); err == nil {
			if cw, ok := nc.(interface{ CloseWrite() error }); ok {
				cw.CloseWrite()
			}
			io.Copy(io.Discard, io.LimitReader(nc, 64<<10)) // what the client sent, so that closing sends no RST
		}
	}
	abort(nc)
}

// sockFlags returns what the listener's accepted sockets are like, looking
// at nc if it is the first TCP socket.
func (l *Listener) sockFlags(nc net.Conn) sockFlags {
	if sf := sockFlags(l.sock.Load()); sf != 0 {
		return sf
	}
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return sockKnown
	}
	sf := sockKnown | inherited(tc, &l.t.opts, l.preset)
	if _, _, ok := bytesAcked(tc); ok {
		sf |= sockAcks
	}
	l.sock.Store(uint32(sf))
	return sf
}

// setSocketOptions sets keepalive and TCP_USER_TIMEOUT on nc, unless sf
// says nc inherited them from its listener.
func (t *Table) setSocketOptions(nc net.Conn, sf sockFlags) {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return
	}
	o := &t.opts
	if sf&sockKeepAlive == 0 {
		tc.SetKeepAliveConfig(net.KeepAliveConfig{
			Enable:   true,
			Idle:     o.KeepAliveIdle,
			Interval: o.KeepAliveInterval,
			Count:    o.KeepAliveCount,
		})
	}
	if o.UserTimeout > 0 && sf&sockUserTimeout == 0 {
		if err := setUserTimeout(tc, o.UserTimeout); err != nil {
			t.log.Debug("governor: TCP_USER_TIMEOUT", "err", err)
		}
	}
}

// refuse answers a connection refused at a cap with the listener's Refusal
// and closes it, never blocking Accept: the answer runs in a bounded number
// of goroutines, and beyond that the connection is reset at once.
func (l *Listener) refuse(nc net.Conn, why string) {
	l.t.refused.Add(1)
	l.t.log.Debug("governor: refused conn", "remote", nc.RemoteAddr().String(), "reason", why)
	if l.opts.Refusal == nil {
		abort(nc)
		return
	}
	select {
	case l.refusing <- struct{}{}:
	default:
		abort(nc)
		return
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		<-l.refusing
		abort(nc)
		return
	}
	l.wg.Add(1)
	l.mu.Unlock()
	go func() {
		defer l.wg.Done()
		defer func() { <-l.refusing }()
		nc.SetDeadline(time.Now().Add(refuseTime))
		if _, err := nc.Write(l.opts.Refusal); err == nil {
			if cw, ok := nc.(interface{ CloseWrite() error }); ok {
				cw.CloseWrite()
			}
			// Read what the client sent so that closing does not reset the
			// connection before it has read the refusal.
			io.Copy(io.Discard, io.LimitReader(nc, 64<<10))
		}
		abort(nc)
	}()
}

func abort(nc net.Conn) {
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	nc.Close()
}

// logger returns the Table's logger, for packages that log about its
// connections.
func (t *Table) Logger() *slog.Logger { return t.log }
