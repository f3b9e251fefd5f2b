package faultkit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
)

// hostCutPrefix starts the name of every HostCut table: "vglhc<pid>x<hex>".
const hostCutPrefix = "vglhc"

// HostCut is one TCP connection of this process made to vanish like a
// pulled cable on the host the process runs on (its own network
// namespace), as `vigil hangcheck` does against a target server. Unlike
// Cut, which lives in a namespace of this package, a HostCut adds an
// nftables table to the caller's namespace; the table matches exactly the
// connection's 4-tuple, so nothing else on the host is touched, and its
// name carries the process id so RemoveStaleHostCuts can remove the tables
// of a process that died before its Restore. It also counts the packets the
// target sends into the cut: RST, FIN and others (retransmissions, probes).
// Its methods are safe for concurrent use.
type HostCut struct {
	// Local is this process's end of the connection (the client).
	Local netip.AddrPort
	// Remote is the target's end.
	Remote netip.AddrPort
	// Table is the nftables table (family inet) holding the rules.
	Table string

	mu       sync.Mutex
	restored bool // guarded by mu
}

// Seen counts the packets the target sent into a HostCut since it was
// made.
type Seen struct {
	// RST counts segments with the RST flag: the target reset the
	// connection (an abortive close).
	RST uint64
	// FIN counts segments with FIN and without RST: the target closed the
	// connection gracefully (retransmitted FINs count again).
	FIN uint64
	// Other counts every other segment: retransmitted data, window and
	// keepalive probes. While it grows the target still holds the
	// connection.
	Other uint64
}

// Total is the number of packets the target sent into the cut.
func (s Seen) Total() uint64 { return s.RST + s.FIN + s.Other }

// CutHere makes the connection c vanish like a pulled cable on this host: it
// adds an nftables table to the caller's network namespace that drops every
// packet of c's 4-tuple in both directions (output and input hooks), and
// counts the target's packets by kind (see Seen). The target sees no FIN,
// no RST and no ACK; other connections between the same hosts keep
// working. It needs root (CAP_NET_ADMIN) and the nft command. The caller
// must Restore the cut, also when interrupted; RemoveStaleHostCuts cleans
// up after a process that could not.
func CutHere(ctx context.Context, c net.Conn) (*HostCut, error) {
	la, ok1 := c.LocalAddr().(*net.TCPAddr)
	ra, ok2 := c.RemoteAddr().(*net.TCPAddr)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("faultkit: cut here: %T is not a TCP connection", c)
	}
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("faultkit: cut here: random name: %w", err)
	}
	h := &HostCut{
		Local:  unmap(la.AddrPort()),
		Remote: unmap(ra.AddrPort()),
		Table:  hostCutPrefix + strconv.Itoa(os.Getpid()) + "x" + hex.EncodeToString(b[:]),
	}
	ctx, cancel := bound(ctx)
	defer cancel()
	if _, err := run(ctx, strings.NewReader(h.script()), "nft", "-f", "-"); err != nil {
		return nil, fmt.Errorf("faultkit: cut here %s-%s: %w", h.Local, h.Remote, err)
	}
	return h, nil
}

// script returns the nft script that creates the cut's table. Loopback
// packets in both directions pass the output hook; a remote target's
// packets arrive at the input hook; so both chains hold the same rules.
func (h *HostCut) script() string {
	in, out := tuple(h.Remote, h.Local), tuple(h.Local, h.Remote)
	rules := strings.Join([]string{
		in + ` tcp flags & rst == rst counter name "rst" drop`,
		in + ` tcp flags & fin == fin counter name "fin" drop`,
		in + ` counter name "other" drop`,
		out + " drop",
	}, "; ")
	return strings.Join([]string{
		"table inet " + h.Table + " {",
		"  counter rst { }",
		"  counter fin { }",
		"  counter other { }",
		"  chain in { type filter hook input priority -300; policy accept; " + rules + "; }",
		"  chain out { type filter hook output priority -300; policy accept; " + rules + "; }",
		"}",
	}, "\n") + "\n"
}

// Seen reads the cut's counters.
func (h *HostCut) Seen(ctx context.Context) (Seen, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	out, err := run(ctx, nil, "nft", "-j", "list", "counters", "table", "inet", h.Table)
	if err != nil {
		return Seen{}, fmt.Errorf("faultkit: cut here %s-%s: counters: %w", h.Local, h.Remote, err)
	}
	s, err := parseCounters(out)
	if err != nil {
		return Seen{}, fmt.Errorf("faultkit: cut here %s-%s: counters: %w", h.Local, h.Remote, err)
	}
	return s, nil
}

// parseCounters reads the named counters rst, fin and other from the
// output of `nft -j list counters`.
func parseCounters(out []byte) (Seen, error) {
	var doc struct {
		Nftables []struct {
			Counter *struct {
				Name    string `json:"name"`
				Packets uint64 `json:"packets"`
			} `json:"counter"`
		} `json:"nftables"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		return Seen{}, err
	}
	var s Seen
	found := 0
	for _, o := range doc.Nftables {
		if o.Counter == nil {
			continue
		}
		switch o.Counter.Name {
		case "rst":
			s.RST = o.Counter.Packets
		case "fin":
			s.FIN = o.Counter.Packets
		case "other":
			s.Other = o.Counter.Packets
		default:
			continue
		}
		found++
	}
	if found != 3 {
		return Seen{}, fmt.Errorf("found %d of the 3 counters", found)
	}
	return s, nil
}

// Restore removes the cut's table, so packets flow again. It is idempotent,
// and it runs even when ctx is already cancelled (an interrupted run must
// still clean up), bounded by CommandTimeout.
func (h *HostCut) Restore(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.restored {
		return nil
	}
	if err := deleteTable(context.WithoutCancel(ctx), h.Table); err != nil {
		return fmt.Errorf("faultkit: restore %s-%s: %w", h.Local, h.Remote, err)
	}
	h.restored = true
	return nil
}

// deleteTable deletes the inet table name from the caller's namespace; a
// table that is already gone is not an error.
func deleteTable(ctx context.Context, name string) error {
	ctx, cancel := bound(ctx)
	defer cancel()
	_, err := run(ctx, strings.NewReader(deleteScript(name)), "nft", "-f", "-")
	return err
}

// RemoveStaleHostCuts deletes, from the caller's namespace, the tables of
// HostCuts whose process no longer runs, and returns their names.
func RemoveStaleHostCuts(ctx context.Context) ([]string, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	out, err := run(ctx, nil, "nft", "list", "tables", "inet")
	if err != nil {
		return nil, fmt.Errorf("faultkit: remove stale cuts: %w", err)
	}
	var removed []string
	for _, line := range strings.Split(string(out), "\n") {
		name, ok := strings.CutPrefix(strings.TrimSpace(line), "table inet ")
		if !ok {
			continue
		}
		if pid, ok := hostCutPid(name); !ok || !gone(pid) {
			continue
		}
		if err := deleteTable(ctx, name); err != nil {
			return removed, fmt.Errorf("faultkit: remove stale cut %s: %w", name, err)
		}
		removed = append(removed, name)
	}
	return removed, nil
}

// hostCutPid returns the process id in a HostCut table name:
// "vglhc" pid "x" 8 hex digits.
func hostCutPid(name string) (int, bool) {
	pid, tail, ok := pidName(name, hostCutPrefix)
	if !ok || len(tail) != 8 || !isHex(tail) {
		return 0, false
	}
	return pid, true
}
