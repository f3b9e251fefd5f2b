//go:build !nohangcheck

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigilhttp/vigil/faultkit"
)

const hangcheckUsage = `usage: vigil hangcheck [flags] URL [URL...]

hangcheck is an attack tool: it opens slow, stalled, reset and flooding
connections and sends malformed requests. Point it only at servers you own.
Targets other than loopback addresses are refused unless --i-own-this-target
is given.

Each URL is http:// (mode http1: HTTP/1.1) or https:// (modes https1:
HTTP/1.1 over TLS, and h2: HTTP/2, when the target's ALPN offers it; a note
says when it does not). Give both of a device's URLs to run every scenario
in all three modes. A device's self-signed certificate needs --insecure.

Each scenario runs on its own connection, bounded by --max-wait, while a probe
request on a fresh connection of the same mode is sent about every second.
One row per mode and scenario: how long the target held the connection, how
it ended (fin, rst, or open = still open at the cap), whether every probe
was served meanwhile, the slowest probe's latency, and the problem found.

Scenarios (--scenarios, comma-separated; default all of them):
  slowloris           a request header trickled one byte a second, never ended
  slow-body           a 1 MiB POST body trickled one byte per --trickle
  zero-window         GET --large with a small receive buffer, never read
  reset-mid-response  GET --large, read 16 KiB, then reset (RST)
  idle-hold           one keep-alive request, then silence
  cable-pull-download (root) GET --large, read 64 KiB, then pull the cable
  cable-pull-header   (root) half a request header, then pull the cable
  cable-pull-idle     (root) one keep-alive HEAD, then pull the cable
  flood               --conns connections that send nothing; a fresh probe
                      must still be served (a 503 from a cap counts);
                      against 127.0.0.x probes come from 127.0.0.254,
                      another client than the flood's, elsewhere from the
                      same address (a per-IP cap may then refuse them)
                      (http1 and https1)
  replay              the built-in bad-input set (path traversal, framing,
                      oversized and malformed requests), 5s per case
                      (http1 and https1)

In mode h2 the scenarios above speak HTTP/2 (slowloris: a HEADERS frame
trickled a byte at a time; slow-body: DATA frames; zero-window: the socket
not read; idle-hold: an idle connection), and these run too:
  h2-idle-chatter       idle, with PING, WINDOW_UPDATE and SETTINGS every 1s
  h2-zero-window        SETTINGS_INITIAL_WINDOW_SIZE 0, 20 GETs of --large,
                        a PING every 0.5s: the streams must be reset
  h2-rapid-reset        10000 HEADERS each followed by RST_STREAM
                        (CVE-2023-44487)
  h2-continuation-flood HEADERS, then CONTINUATION frames up to 64 MiB
                        (CVE-2024-27316)
  h2-settings-flood     100000 SETTINGS frames, not reading the acks
  h2-ping-flood         100000 PING frames, not reading the answers
  h2-huge-headers       one request with 1 MiB of headers

With --ws PATH (a WebSocket endpoint of the target, e.g. /ws/live) two more
run over HTTP/1.1 in clear and TLS (http1 and https1):
  websocket-silent    upgrade, then answer nothing (no pong, no close) while
                      TCP stays alive: a governed server sends close 1001
                      and resets at about ping + pong timeout
  websocket-idle-pull (root) upgrade, answer the first ping, then pull the
                      cable: the socket must be gone within ping + pong
                      timeout (+ 1s)

"cable-pull" selects the three cable pulls. A cable pull adds an nftables
table on this host that drops every packet of that one connection (its
4-tuple) both ways, so the target sees a peer that is silently gone; the
table is removed on exit, also on Ctrl-C (and tables left by a killed run
are removed by the next one). For a target on this host, HELD is until the
target's socket is gone from the kernel (orphans included); for a remote
target, until it sends a RST or FIN into the cut, and a target that drops
the connection without a packet is found only at --max-wait. Without root
the cable pulls are skipped with a note.

ENDED: fin (graceful close), rst (reset, or a connection the target's
kernel dropped without a packet: seen in the kernel for a target on this
host, by the counters of a cable pull, or by a reset when a zero-window
reader reads at the cap), open (still open at the cap).

PROBLEM says what is wrong: a probe not served, a connection held to the
cap, a replay verdict not met, zero-window streams never reset. When
--max-wait is shorter than the target's own bound for a scenario, a
connection held to the cap is not a problem: the row says so instead. The
target's bounds come from --timeouts (your guess) or, for vigil, from its
status page (--admin).

Exit status 1 when a scenario finds a problem.

Flags:
`

const (
	// maxConns caps --conns.
	maxConns = 10000
)

// target is where hangcheck connects (a resolved address, the Host header
// and path of the URL, the mode of this run) and the URL's scheme.
type target struct {
	faultkit.Target
	scheme string // http or https
}

// hangcheckOpts are the parsed flags.
type hangcheckOpts struct {
	maxWait  time.Duration
	run      faultkit.RunOptions // --trickle, --conns, --large, --ws ("" skips the WebSocket scenarios)
	timeouts timeouts            // the target's own bounds, as far as known
}

func hangcheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("vigil hangcheck", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.Usage = func() {
		fmt.Fprint(flags.Output(), hangcheckUsage)
		flags.PrintDefaults()
	}
	var o hangcheckOpts
	asJSON := flags.Bool("json", false, "print a JSON array of rows instead of a table")
	flags.DurationVar(&o.maxWait, "max-wait", 120*time.Second, "cap on each scenario")
	flags.DurationVar(&o.run.Trickle, "trickle", 2*time.Second, "gap between body bytes in slow-body")
	flags.IntVar(&o.run.Conns, "conns", 256, fmt.Sprintf("connections the flood scenario opens (at most %d)", maxConns))
	flags.StringVar(&o.run.Large, "large", "/", "path of a large resource for zero-window, reset-mid-response and cable-pull-download")
	flags.StringVar(&o.run.WS, "ws", "", "path of a WebSocket endpoint of the target, for websocket-silent and websocket-idle-pull")
	list := flags.String("scenarios", "", "comma-separated scenarios to run (default: all)")
	replayOnly := flags.Bool("replay", false, "run only the bad-input replay set (same as --scenarios replay)")
	own := flags.Bool("i-own-this-target", false, "allow a target that is not a loopback address: you own it and may attack it")
	insecure := flags.Bool("insecure", false, "do not verify an https target's certificate (a device's self-signed one)")
	modeList := flags.String("modes", "http1,https1,h2", "comma-separated modes to run, of those the URLs allow")
	guess := flags.String("timeouts", "", "the target's own bounds, e.g. header=10s,stall=30s,idle=30s (a guess)")
	admin := flags.String("admin", "", "read a vigil target's bounds from its admin endpoint (unix:PATH or host:port)")
	if err := flags.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return usageError{err.Error()}
	}
	if flags.NArg() < 1 {
		return usageError{"hangcheck: need a URL (see vigil hangcheck -h)"}
	}
	var modes []faultkit.Mode
	for _, n := range strings.Split(*modeList, ",") {
		m, err := faultkit.ParseMode(strings.TrimSpace(n))
		if err != nil {
			return usageError{"hangcheck: --modes: " + err.Error()}
		}
		modes = append(modes, m)
	}
	switch {
	case *guess != "" && *admin != "":
		return usageError{"hangcheck: give --timeouts or --admin, not both"}
	case *guess != "":
		t, err := parseTimeouts(*guess)
		if err != nil {
			return usageError{err.Error()}
		}
		o.timeouts = t
	case *admin != "":
		t, err := adminTimeouts(ctx, *admin)
		if err != nil {
			return err
		}
		o.timeouts = t
	}
	if o.maxWait <= 0 || o.run.Trickle <= 0 || o.run.Conns < 0 || o.run.Conns > maxConns || !strings.HasPrefix(o.run.Large, "/") {
		return usageError{fmt.Sprintf("hangcheck: need --max-wait and --trickle > 0, 0 <= --conns <= %d, --large starting with /", maxConns)}
	}
	names := faultkit.Scenarios
	if *replayOnly {
		names = []string{"replay"}
	} else if *list != "" {
		names = nil
		for _, n := range strings.Split(*list, ",") {
			if n == "cable-pull" {
				names = append(names, faultkit.CablePullScenarios...)
				continue
			}
			if !slices.Contains(faultkit.Scenarios, n) {
				return usageError{fmt.Sprintf("hangcheck: unknown scenario %q (known: %s)", n, strings.Join(faultkit.Scenarios, ","))}
			}
			names = append(names, n)
		}
	}
	names, err := wsNames(names, *list != "", o.run.WS)
	if err != nil {
		return err
	}
	type run struct {
		tg    target
		modes []faultkit.Mode
	}
	var runs []run
	for _, raw := range flags.Args() {
		tg, err := resolveTarget(ctx, raw, *own)
		if err != nil {
			return err
		}
		if tg.scheme == "https" {
			tg.TLS = tlsConfig(strings.TrimSuffix(strings.TrimPrefix(hostOnly(tg.Host), "["), "]"), *insecure)
		}
		ms, err := planModes(ctx, tg, modes, stderr)
		if err != nil {
			return err
		}
		runs = append(runs, run{tg, ms})
	}
	names, err = cablePullReady(ctx, names, *list != "", stderr)
	if err != nil {
		return err
	}
	if o.timeouts.known() {
		if short := o.shortFor(names); short != "" {
			fmt.Fprintf(stderr, "hangcheck: --max-wait %v is shorter than the target's own %s (from %s): those rows are not verdicts\n", o.maxWait, short, o.timeouts.source)
		}
	}
	var rows []row
	if !*asJSON {
		printHeader(stdout)
	}
	problems := 0
	for _, rn := range runs {
		for _, m := range rn.modes {
			tg := rn.tg
			tg.Mode = m
			for _, name := range names {
				if !faultkit.RunsIn(name, m) {
					continue
				}
				if ctx.Err() != nil {
					return ctx.Err()
				}
				r := runScenario(ctx, tg, o, name)
				if r.Problem {
					problems++
				}
				rows = append(rows, r)
				if !*asJSON {
					printRow(stdout, r)
				}
			}
		}
	}
	if *asJSON {
		if err := printJSON(stdout, rows); err != nil {
			return err
		}
	}
	if ctx.Err() != nil {
		return fmt.Errorf("hangcheck: interrupted, the last row is incomplete: %w", ctx.Err())
	}
	if problems > 0 {
		return fmt.Errorf("hangcheck: %d of %d rows found a problem", problems, len(rows))
	}
	return nil
}

// shortFor lists the target's bounds that --max-wait does not cover for
// the scenarios named, e.g. "stall timeout 30s".
func (o hangcheckOpts) shortFor(names []string) string {
	var short []string
	for _, n := range names {
		if d, what := o.timeouts.needs(n); d > 0 && o.maxWait < d+time.Second {
			s := fmt.Sprintf("%s timeout %v", what, d)
			if !slices.Contains(short, s) {
				short = append(short, s)
			}
		}
	}
	return strings.Join(short, ", ")
}

// hostOnly returns the host of a host[:port].
func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}

// resolveTarget parses an http or https URL and resolves its host. It
// refuses a host that is not a loopback address unless own is set; the
// check happens before any packet is sent to the target.
func resolveTarget(ctx context.Context, raw string, own bool) (target, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return target{}, usageError{fmt.Sprintf("hangcheck: %q: need an http://host[:port]/ or https://host[:port]/ URL", raw)}
	}
	port := u.Port()
	switch {
	case port != "":
	case u.Scheme == "https":
		port = "443"
	default:
		port = "80"
	}
	var ip netip.Addr
	if a, err := netip.ParseAddr(u.Hostname()); err == nil {
		ip = a
	} else {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		addrs, err := net.DefaultResolver.LookupNetIP(rctx, "ip", u.Hostname())
		cancel()
		if err != nil || len(addrs) == 0 {
			return target{}, fmt.Errorf("hangcheck: resolve %s: %w", u.Hostname(), err)
		}
		ip = addrs[0]
	}
	ip = ip.Unmap()
	if !ip.IsLoopback() && !own {
		return target{}, usageError{fmt.Sprintf("hangcheck: refusing %s (%s): not a loopback address; hangcheck attacks its target, so pass --i-own-this-target only for a server you own", u.Hostname(), ip)}
	}
	path := u.RequestURI()
	return target{Target: faultkit.Target{Addr: netip.AddrPortFrom(ip, mustPort(port)).String(), Host: u.Host, Path: path}, scheme: u.Scheme}, nil
}

// mustPort parses a URL port (url.Parse already checked it is digits).
func mustPort(s string) uint16 {
	n, _ := strconv.ParseUint(s, 10, 16)
	return uint16(n)
}

// runScenario runs one scenario bounded by o.maxWait with the probe loop
// alongside, and returns its row with the verdict.
func runScenario(ctx context.Context, tg target, o hangcheckOpts, name string) row {
	sctx, cancel := context.WithTimeout(ctx, o.maxWait)
	defer cancel()
	pl := faultkit.StartProbes(sctx, tg.Target)
	out, err := tg.Run(sctx, name, o.run)
	cancel()
	ps := pl.Stop()
	if ps.N == 0 && ctx.Err() == nil {
		// The scenario ended within a second: probe once now.
		pctx, pcancel := context.WithTimeout(ctx, faultkit.ProbeTimeout)
		_, lat, perr := tg.Probe(pctx)
		pcancel()
		ps.OK, ps.Worst = perr == nil, lat
	}
	r := row{Mode: tg.Mode.String(), Scenario: name, Held: out.Held.Seconds(), Ended: out.Ended, Detail: out.Detail,
		Why: out.Problem, Cases: out.Cases}
	// A replay verdict not met is a problem whatever the cap.
	r.Problem = name == "replay" && out.Problem != ""
	floodOK := !out.Probed || out.ProbeOK // flood probes once with every connection open
	r.ProbeOK = ps.OK && floodOK
	r.ProbeMS = max(out.ProbeLatency.Milliseconds(), ps.Worst.Milliseconds())
	if ps.Err != nil {
		r.Detail += "; a probe failed: " + ps.Err.Error()
	}
	atCap := r.Ended == faultkit.EndedOpen && r.Held >= 0.95*o.maxWait.Seconds()
	bound, what := o.timeouts.needs(name)
	switch {
	case err != nil:
		r.Detail = strings.TrimSpace(r.Detail + " error: " + err.Error())
		r.Why = "error"
	case !r.ProbeOK:
		r.Why = "probe not served"
	case r.Problem:
		// set by the scenario (replay), with Why
	case atCap && bound > 0 && o.maxWait < bound+time.Second:
		r.Why = ""
		r.Note = fmt.Sprintf("--max-wait %v < the target's %s timeout %v", o.maxWait, what, bound)
	case atCap && r.Why == "":
		r.Why = "held to the cap"
	}
	r.Problem = r.Why != ""
	return r
}

// wsNames checks the WebSocket scenarios among names against --ws: without
// it they are dropped from the default list and refused when asked for by
// name.
func wsNames(names []string, explicit bool, ws string) ([]string, error) {
	if ws != "" {
		if !strings.HasPrefix(ws, "/") {
			return nil, usageError{"hangcheck: --ws: need a path starting with /"}
		}
		return names, nil
	}
	var out []string
	for _, n := range names {
		if slices.Contains(faultkit.WSScenarios, n) {
			if explicit {
				return nil, usageError{fmt.Sprintf("hangcheck: %s needs --ws PATH (a WebSocket endpoint of the target)", n)}
			}
			continue
		}
		out = append(out, n)
	}
	return out, nil
}

// cablePullReady checks that the cable pulls among names can run here and
// removes the tables a killed earlier run left behind. Without root or nft
// it drops them from names with a note on stderr, or fails if the user asked
// for them by name.
func cablePullReady(ctx context.Context, names []string, explicit bool, stderr io.Writer) ([]string, error) {
	if !slices.ContainsFunc(names, faultkit.PullsCable) {
		return names, nil
	}
	err := faultkit.Available()
	if err == nil {
		if removed, rerr := faultkit.RemoveStaleHostCuts(ctx); rerr != nil {
			err = rerr
		} else if len(removed) > 0 {
			fmt.Fprintf(stderr, "hangcheck: removed %d cable-pull table(s) left by an earlier run: %s\n", len(removed), strings.Join(removed, " "))
		}
	}
	if err == nil {
		return names, nil
	}
	if errors.Is(err, faultkit.ErrNotRoot) {
		err = fmt.Errorf("the cable-pull scenarios (and websocket-idle-pull) need root for nftables: %w", err)
	}
	if explicit {
		return nil, fmt.Errorf("hangcheck: %w", err)
	}
	fmt.Fprintf(stderr, "hangcheck: skipping the cable-pull scenarios: %v\n", err)
	return slices.DeleteFunc(slices.Clone(names), faultkit.PullsCable), nil
}
