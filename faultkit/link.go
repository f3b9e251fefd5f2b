package faultkit

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Device is the name of the veth end inside each namespace of a Link.
const Device = "veth0"

// Link is two fresh namespaces joined by a veth pair: the Server end has
// ServerIP (198.18.X.1/30), the Client end ClientIP (198.18.X.2/30), and lo
// is up in both. X is random; since every Link has its own pair of
// namespaces, concurrent Links never clash even when X repeats.
type Link struct {
	// Server is the namespace meant for the server under test.
	Server *Netns
	// Client is the namespace meant for its peers.
	Client *Netns
	// ServerIP is the address of the veth end in Server.
	ServerIP netip.Addr
	// ClientIP is the address of the veth end in Client.
	ClientIP netip.Addr

	mu     sync.Mutex
	extra  int  // guarded by mu: addresses AddClientAddrs gave out
	routed bool // guarded by mu: the server has its route to the /24
}

// Extra client addresses (AddClientAddrs) are 198.18.X.10 to 198.18.X.249,
// in the link's own /24.
const (
	firstExtraHost = 10
	// MaxClientAddrs caps the addresses AddClientAddrs gives out over a
	// Link's life.
	MaxClientAddrs = 240
)

// NewLink creates the two namespaces and the veth pair between them, and
// waits until both ends have carrier, so a first SYN is not lost. On failure
// it removes whatever it created. The caller must Close the Link.
func NewLink(ctx context.Context) (*Link, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	base, x, err := uniqueBase()
	if err != nil {
		return nil, err
	}
	l := &Link{
		ServerIP: netip.AddrFrom4([4]byte{198, 18, x, 1}),
		ClientIP: netip.AddrFrom4([4]byte{198, 18, x, 2}),
	}
	if l.Server, err = addNetns(ctx, base+"s"); err != nil {
		return nil, err
	}
	if l.Client, err = addNetns(ctx, base+"c"); err != nil {
		return nil, errors.Join(err, l.Close())
	}
	// The server end gets ifindex 3 while the client end gets 2 (lo is 1):
	// with equal indexes in the two namespaces the kernel takes the veth for
	// a device without a lower link, treats its carrier change as not
	// urgent and delays it (and the qdisc that lets packets out) by up to
	// a second.
	server := strings.Join([]string{
		"link set lo up",
		"link add " + Device + " index 3 type veth peer name " + Device + " netns " + l.Client.Name,
		"addr add " + l.ServerIP.String() + "/30 dev " + Device,
		"link set " + Device + " up",
	}, "\n")
	client := strings.Join([]string{
		"link set lo up",
		"addr add " + l.ClientIP.String() + "/30 dev " + Device,
		"link set " + Device + " up",
	}, "\n")
	if _, err := run(ctx, strings.NewReader(server), "ip", "-n", l.Server.Name, "-batch", "-"); err != nil {
		return nil, errors.Join(fmt.Errorf("faultkit: link %s: %w", base, err), l.Close())
	}
	if _, err := run(ctx, strings.NewReader(client), "ip", "-n", l.Client.Name, "-batch", "-"); err != nil {
		return nil, errors.Join(fmt.Errorf("faultkit: link %s: %w", base, err), l.Close())
	}
	for _, n := range []*Netns{l.Server, l.Client} {
		if err := waitRunning(ctx, n, Device); err != nil {
			return nil, errors.Join(fmt.Errorf("faultkit: link %s: %w", base, err), l.Close())
		}
	}
	return l, nil
}

// waitRunning polls the interface inside n every 10ms until it has carrier
// (IFF_RUNNING), for at most 500 polls or until ctx ends.
func waitRunning(ctx context.Context, n *Netns, dev string) error {
	for range 500 {
		var up bool
		err := n.Do(func() error {
			ifi, err := net.InterfaceByName(dev)
			if err != nil {
				return err
			}
			up = ifi.Flags&net.FlagRunning != 0
			return nil
		})
		if err != nil {
			return fmt.Errorf("%s in %s: %w", dev, n.Name, err)
		}
		if up {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s in %s: no carrier: %w", dev, n.Name, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s in %s: no carrier after 500 polls", dev, n.Name)
}

// AddClientAddrs gives the Client end n more addresses (198.18.X.10 and
// up, /32 each, in one `ip -batch` run) and the Server end a route to the
// link's /24, so its replies find them; ClientIP stays the Client's own.
// Peers dial from them with DialOptions.Source, so a server's per-IP caps
// see n clients. At most MaxClientAddrs in all over the Link's life; it is
// safe for concurrent use.
func (l *Link) AddClientAddrs(ctx context.Context, n int) ([]netip.Addr, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	l.mu.Lock()
	if n < 0 || l.extra+n > MaxClientAddrs {
		l.mu.Unlock()
		return nil, fmt.Errorf("faultkit: link: %d more client addresses: at most %d in all, %d given out", n, MaxClientAddrs, l.extra)
	}
	first, route := l.extra, !l.routed
	l.extra += n // given out even if adding them fails
	l.routed = true
	l.mu.Unlock()
	x := l.ServerIP.As4()
	addrs := make([]netip.Addr, n)
	lines := make([]string, n)
	for i := range addrs {
		addrs[i] = netip.AddrFrom4([4]byte{x[0], x[1], x[2], byte(firstExtraHost + first + i)})
		lines[i] = "addr add " + addrs[i].String() + "/32 dev " + Device
	}
	if n > 0 {
		if err := ipBatch(ctx, l.Client, lines); err != nil {
			return nil, fmt.Errorf("faultkit: link: client addresses: %w", err)
		}
	}
	if route {
		prefix := netip.PrefixFrom(l.ServerIP, 24).Masked()
		if err := ipBatch(ctx, l.Server, []string{"route add " + prefix.String() + " dev " + Device}); err != nil {
			l.mu.Lock()
			l.routed = false
			l.mu.Unlock()
			return nil, fmt.Errorf("faultkit: link: server route: %w", err)
		}
	}
	return addrs, nil
}

// ipBatch runs lines in one `ip -n NS -batch -`, bounded by ctx and
// CommandTimeout.
func ipBatch(ctx context.Context, ns *Netns, lines []string) error {
	_, err := run(ctx, strings.NewReader(strings.Join(lines, "\n")+"\n"), "ip", "-n", ns.Name, "-batch", "-")
	return err
}

// Close deletes both namespaces; the veth pair goes with them. It is
// idempotent.
func (l *Link) Close() error {
	var errs []error
	for _, n := range []*Netns{l.Client, l.Server} {
		if n != nil {
			errs = append(errs, n.Close())
		}
	}
	return errors.Join(errs...)
}
