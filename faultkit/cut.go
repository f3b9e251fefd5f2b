package faultkit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
)

// Cut is one TCP connection made to vanish like a pulled cable by CutConn.
// Its methods are safe for concurrent use.
type Cut struct {
	// Local is the connection's address in the cut namespace.
	Local netip.AddrPort
	// Remote is the peer's address.
	Remote netip.AddrPort
	// Table is the nftables table (family inet) holding the rules.
	Table string

	ns       *Netns
	mu       sync.Mutex
	restored bool // guarded by mu
}

// CutConn makes the connection c vanish like a pulled cable: it adds an
// nftables table to ns — the namespace c was created in, normally
// Link.Client — that drops every packet of c's 4-tuple in both directions
// (input and output hooks). The peer sees no FIN, no RST and no ACK, and
// its retransmissions go unanswered; c itself sees nothing either (its
// writes succeed and are retransmitted in vain). Other connections between
// the same hosts keep working. ns must not be nil: rules are only ever
// added inside namespaces of this package. The caller must Restore the Cut
// (or Close ns).
func CutConn(ctx context.Context, ns *Netns, c net.Conn) (*Cut, error) {
	if ns == nil {
		return nil, fmt.Errorf("faultkit: cut: no namespace")
	}
	la, ok1 := c.LocalAddr().(*net.TCPAddr)
	ra, ok2 := c.RemoteAddr().(*net.TCPAddr)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("faultkit: cut: %T is not a TCP connection", c)
	}
	local, remote := unmap(la.AddrPort()), unmap(ra.AddrPort())
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("faultkit: cut: random name: %w", err)
	}
	cut := &Cut{Local: local, Remote: remote, Table: "vglcut" + hex.EncodeToString(b[:]), ns: ns}
	ctx, cancel := bound(ctx)
	defer cancel()
	if _, err := runIn(ctx, ns, cut.script(), "nft", "-f", "-"); err != nil {
		return nil, fmt.Errorf("faultkit: cut %s-%s: %w", local, remote, err)
	}
	return cut, nil
}

// script returns the nft script that creates the cut's table.
func (c *Cut) script() string {
	return strings.Join([]string{
		"table inet " + c.Table + " {",
		"  chain in { type filter hook input priority -300; policy accept; " + tuple(c.Remote, c.Local) + " drop; }",
		"  chain out { type filter hook output priority -300; policy accept; " + tuple(c.Local, c.Remote) + " drop; }",
		"}",
	}, "\n") + "\n"
}

// tuple returns the nft match of the TCP packets from one end of a
// connection to the other.
func tuple(from, to netip.AddrPort) string {
	ip := "ip"
	if from.Addr().Is6() {
		ip = "ip6"
	}
	return fmt.Sprintf("%s saddr %s %s daddr %s tcp sport %d tcp dport %d",
		ip, from.Addr(), ip, to.Addr(), from.Port(), to.Port())
}

// deleteScript is the nft script that deletes the inet table name; "add"
// first makes it idempotent within one transaction.
func deleteScript(name string) string {
	return "add table inet " + name + "\ndelete table inet " + name + "\n"
}

// Restore removes the cut's table, so packets flow again and the peers'
// retransmissions get through (after their current backoff). It is
// idempotent, and a no-op once the namespace has been closed (the table went
// with it).
func (c *Cut) Restore(ctx context.Context) error {
	c.mu.Lock()
	done := c.restored
	c.mu.Unlock()
	if done || c.ns.isClosed() {
		return nil
	}
	ctx, cancel := bound(ctx)
	defer cancel()
	if _, err := runIn(ctx, c.ns, deleteScript(c.Table), "nft", "-f", "-"); err != nil {
		return fmt.Errorf("faultkit: restore %s-%s: %w", c.Local, c.Remote, err)
	}
	c.mu.Lock()
	c.restored = true
	c.mu.Unlock()
	return nil
}

// runIn runs one of the package's own commands inside ns, with stdin.
func runIn(ctx context.Context, ns *Netns, stdin string, name string, args ...string) ([]byte, error) {
	return run(ctx, strings.NewReader(stdin), "ip", append([]string{"netns", "exec", ns.Name, name}, args...)...)
}

// unmap returns ap with an IPv4-mapped IPv6 address turned into IPv4 and
// without zone.
func unmap(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap().WithZone(""), ap.Port())
}

// CutSet is many TCP connections made to vanish at once by CutAll. Its
// methods are safe for concurrent use.
type CutSet struct {
	// Conns is how many connections the set cuts.
	Conns int
	// Table is the nftables table (family inet) holding the rules.
	Table string

	ns       *Netns
	mu       sync.Mutex
	restored bool // guarded by mu
}

// CutAll pulls the cable of every connection in conns at once: one
// nftables table in ns (the namespace they were made in) whose sets hold
// both directions of each 4-tuple, dropped at the input and output hooks,
// as CutConn does for one. One table for all matters: each `nft` run reads
// the whole ruleset first, so a table per connection takes seconds for a
// few hundred, which is not "at once". IPv4 and IPv6 connections may be
// mixed. ns must not be nil. The caller must Restore the set (or Close ns).
func CutAll(ctx context.Context, ns *Netns, conns []net.Conn) (*CutSet, error) {
	if ns == nil {
		return nil, fmt.Errorf("faultkit: cut all: no namespace")
	}
	var v4, v6 []string
	for _, c := range conns {
		la, ok1 := c.LocalAddr().(*net.TCPAddr)
		ra, ok2 := c.RemoteAddr().(*net.TCPAddr)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("faultkit: cut all: %T is not a TCP connection", c)
		}
		l, r := unmap(la.AddrPort()), unmap(ra.AddrPort())
		if l.Addr().Is4() {
			v4 = append(v4, element(l, r), element(r, l))
		} else {
			v6 = append(v6, element(l, r), element(r, l))
		}
	}
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("faultkit: cut all: random name: %w", err)
	}
	set := &CutSet{Conns: len(conns), Table: "vglcuts" + hex.EncodeToString(b[:]), ns: ns}
	if len(conns) == 0 {
		set.restored = true
		return set, nil
	}
	ctx, cancel := bound(ctx)
	defer cancel()
	if _, err := runIn(ctx, ns, setScript(set.Table, v4, v6), "nft", "-f", "-"); err != nil {
		return nil, fmt.Errorf("faultkit: cut all %d connections: %w", len(conns), err)
	}
	return set, nil
}

// element formats one direction of a connection as an element of a cut
// set: "saddr . sport . daddr . dport".
func element(from, to netip.AddrPort) string {
	return fmt.Sprintf("%s . %d . %s . %d", from.Addr(), from.Port(), to.Addr(), to.Port())
}

// setScript returns the nft script that creates table with the sets v4
// and v6 (elements as element makes them) and the chains that drop them.
func setScript(table string, v4, v6 []string) string {
	var sets, rules []string
	if len(v4) > 0 {
		sets = append(sets, "  set conns4 { type ipv4_addr . inet_service . ipv4_addr . inet_service; elements = { "+strings.Join(v4, ", ")+" }; }")
		rules = append(rules, "ip saddr . tcp sport . ip daddr . tcp dport @conns4 drop")
	}
	if len(v6) > 0 {
		sets = append(sets, "  set conns6 { type ipv6_addr . inet_service . ipv6_addr . inet_service; elements = { "+strings.Join(v6, ", ")+" }; }")
		rules = append(rules, "ip6 saddr . tcp sport . ip6 daddr . tcp dport @conns6 drop")
	}
	match := strings.Join(rules, "; ")
	return strings.Join(append(append([]string{"table inet " + table + " {"}, sets...),
		"  chain in { type filter hook input priority -300; policy accept; "+match+"; }",
		"  chain out { type filter hook output priority -300; policy accept; "+match+"; }",
		"}",
	), "\n") + "\n"
}

// Restore removes the set's table, so packets of every connection in it
// flow again. It is idempotent, and a no-op once the namespace has been
// closed (the table went with it).
func (s *CutSet) Restore(ctx context.Context) error {
	s.mu.Lock()
	done := s.restored
	s.mu.Unlock()
	if done || s.ns.isClosed() {
		return nil
	}
	ctx, cancel := bound(ctx)
	defer cancel()
	if _, err := runIn(ctx, s.ns, deleteScript(s.Table), "nft", "-f", "-"); err != nil {
		return fmt.Errorf("faultkit: restore %d cut connections: %w", s.Conns, err)
	}
	s.mu.Lock()
	s.restored = true
	s.mu.Unlock()
	return nil
}
