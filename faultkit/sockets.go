package faultkit

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

const (
	// pollEvery is how often WaitGone asks the kernel again.
	pollEvery = 50 * time.Millisecond

	// maxSockets caps the lines Sockets parses.
	maxSockets = 1 << 20
)

// Socket is one TCP socket as the kernel lists it (`ss -tan`).
type Socket struct {
	// State is the TCP state as ss names it: LISTEN, ESTAB, SYN-SENT,
	// SYN-RECV, FIN-WAIT-1, FIN-WAIT-2, CLOSE-WAIT, LAST-ACK, CLOSING,
	// TIME-WAIT.
	State string
	// Local is the socket's address; the Addr is invalid for a wildcard
	// ("*") and the port zero for "*".
	Local netip.AddrPort
	// Remote is the peer's address; zero for a listening socket.
	Remote netip.AddrPort
	// RecvQ is, for a connection, the bytes received and not yet read by
	// the application; for a listener, the connections waiting in accept.
	RecvQ int
	// SendQ is, for a connection, the bytes sent and not yet acknowledged by
	// the peer (including bytes not yet sent); for a listener, the accept
	// backlog.
	SendQ int
	// Timer is the socket's timer as ss -o shows it inside "timer:(...)",
	// e.g. "on,208ms,3" (retransmission, expires in 208ms, third retry),
	// "persist,1.2sec,0" (zero-window probe) or "timewait,59sec,0"; empty
	// when no timer runs.
	Timer string
}

// String formats s as one line, e.g.
// "ESTAB 198.18.7.1:80 198.18.7.2:40000 recv-q=0 send-q=1000 timer=on,208ms,3".
func (s Socket) String() string {
	t := ""
	if s.Timer != "" {
		t = " timer=" + s.Timer
	}
	return fmt.Sprintf("%s %s %s recv-q=%d send-q=%d%s", s.State, s.Local, s.Remote, s.RecvQ, s.SendQ, t)
}

// Sockets lists the TCP sockets in ns whose local or remote port is port (all
// sockets when port is 0), in any state, including orphans that no process
// holds any more (FIN-WAIT-1, LAST-ACK, ...). A nil ns means the caller's own
// namespace. It runs `ss -tanHo` and needs no privilege beyond entering ns.
func Sockets(ctx context.Context, ns *Netns, port uint16) ([]Socket, error) {
	socks, err := sockets(ctx, ns, port)
	if err != nil {
		return nil, fmt.Errorf("faultkit: sockets: %w", err)
	}
	return socks, nil
}

// sockets is Sockets with errors not yet prefixed.
func sockets(ctx context.Context, ns *Netns, port uint16) ([]Socket, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	var out []byte
	var err error
	if ns == nil {
		out, err = run(ctx, nil, "ss", "-tanHo")
	} else {
		out, err = runIn(ctx, ns, "", "ss", "-tanHo")
	}
	if err != nil {
		return nil, err
	}
	all, err := parseSockets(string(out))
	if err != nil {
		return nil, err
	}
	if port == 0 {
		return all, nil
	}
	var match []Socket
	for _, s := range all {
		if s.Local.Port() == port || s.Remote.Port() == port {
			match = append(match, s)
		}
	}
	return match, nil
}

// parseSockets parses the output of `ss -tanHo`, one socket a line.
func parseSockets(out string) ([]Socket, error) {
	var socks []Socket
	for i, line := range strings.Split(out, "\n") {
		if i >= maxSockets {
			return socks, fmt.Errorf("more than %d lines", maxSockets)
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		s, err := parseSocket(line)
		if err != nil {
			return socks, err
		}
		socks = append(socks, s)
	}
	return socks, nil
}

// parseSocket parses one line of `ss -tanHo`:
// "ESTAB 0 1000 198.18.7.1:80 198.18.7.2:40000 timer:(on,208ms,3)".
func parseSocket(line string) (Socket, error) {
	f := strings.Fields(line)
	if len(f) < 5 {
		return Socket{}, fmt.Errorf("short line %q", line)
	}
	var s Socket
	var err error
	s.State = f[0]
	if s.RecvQ, err = strconv.Atoi(f[1]); err != nil {
		return Socket{}, fmt.Errorf("recv-q in %q: %w", line, err)
	}
	if s.SendQ, err = strconv.Atoi(f[2]); err != nil {
		return Socket{}, fmt.Errorf("send-q in %q: %w", line, err)
	}
	if s.Local, err = parseSSAddr(f[3]); err != nil {
		return Socket{}, fmt.Errorf("local address in %q: %w", line, err)
	}
	if s.Remote, err = parseSSAddr(f[4]); err != nil {
		return Socket{}, fmt.Errorf("remote address in %q: %w", line, err)
	}
	for _, x := range f[5:] {
		if t, ok := strings.CutPrefix(x, "timer:("); ok {
			s.Timer = strings.TrimSuffix(t, ")")
		}
	}
	return s, nil
}

// parseSSAddr parses an address as ss prints it: "1.2.3.4:80", "[::1]:80",
// "[::ffff:1.2.3.4]:80", "127.0.0.53%lo:53", "*:80", "0.0.0.0:*", "*:*".
// IPv4-mapped addresses are unmapped and zones dropped.
func parseSSAddr(s string) (netip.AddrPort, error) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return netip.AddrPort{}, fmt.Errorf("no port in %q", s)
	}
	host, port := s[:i], s[i+1:]
	var p uint64
	if port != "*" {
		var err error
		if p, err = strconv.ParseUint(port, 10, 16); err != nil {
			return netip.AddrPort{}, fmt.Errorf("port in %q: %w", s, err)
		}
	}
	if h, ok := strings.CutPrefix(host, "["); ok {
		var found bool
		if host, found = strings.CutSuffix(h, "]"); !found {
			return netip.AddrPort{}, fmt.Errorf("unclosed bracket in %q", s)
		}
	}
	if j := strings.IndexByte(host, '%'); j >= 0 {
		host = host[:j]
	}
	if host == "*" {
		return netip.AddrPortFrom(netip.Addr{}, uint16(p)), nil
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("address in %q: %w", s, err)
	}
	return netip.AddrPortFrom(a.Unmap(), uint16(p)), nil
}

// WaitGone polls Sockets in ns every 50ms until no socket matches the
// connection from local (the server's address and port) to remote (the
// client's), or ctx ends (DefaultTimeout if it has no deadline). An invalid
// or unspecified address in local or remote matches any address. A socket
// in TIME-WAIT counts as gone: it holds no data and no descriptor and the
// kernel frees it on its own after 60 seconds; every other state, including
// orphans in FIN-WAIT-1 or LAST-ACK, counts as present.
//
// WaitGone returns the time it waited. On timeout its error lists the
// sockets still present.
func WaitGone(ctx context.Context, ns *Netns, local, remote netip.AddrPort) (time.Duration, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	start := time.Now()
	var present []Socket
	for range int(DefaultTimeout/pollEvery) + 1 {
		socks, err := sockets(ctx, ns, local.Port())
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			return time.Since(start), fmt.Errorf("faultkit: wait gone %s-%s: %w", local, remote, err)
		}
		present = present[:0]
		for _, s := range socks {
			if s.State != "TIME-WAIT" && matches(s.Local, local) && matches(s.Remote, remote) {
				present = append(present, s)
			}
		}
		if len(present) == 0 {
			return time.Since(start), nil
		}
		t := time.NewTimer(pollEvery)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
		if ctx.Err() != nil {
			break
		}
	}
	elapsed := time.Since(start)
	cause := context.Cause(ctx)
	if cause == nil {
		cause = fmt.Errorf("poll limit reached")
	}
	lines := make([]string, len(present))
	for i, s := range present {
		lines[i] = s.String()
	}
	return elapsed, fmt.Errorf("faultkit: wait gone %s-%s: %d socket(s) still present after %v: %s: %w",
		local, remote, len(present), elapsed.Round(time.Millisecond), strings.Join(lines, "; "), cause)
}

// matches reports whether the socket address got is the wanted one; an
// invalid or unspecified wanted address matches any address.
func matches(got, want netip.AddrPort) bool {
	if got.Port() != want.Port() {
		return false
	}
	w := want.Addr().Unmap()
	return !w.IsValid() || w.IsUnspecified() || w.WithZone("") == got.Addr().Unmap().WithZone("")
}
