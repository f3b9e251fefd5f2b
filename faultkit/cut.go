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
