package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/netip"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
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

// hangcheckScenarios lists the scenarios in the order they run.
var hangcheckScenarios = append([]string{"slowloris", "slow-body", "zero-window", "reset-mid-response", "idle-hold",
	"cable-pull-download", "cable-pull-header", "cable-pull-idle", "flood", "replay"}, append(h2Scenarios, wsScenarios...)...)

const (
	// probeEvery is the gap between background probes; the first one is
	// sent probeEvery after a scenario starts.
	probeEvery = time.Second
	// probeTimeout bounds one probe: dial, request and status line.
	probeTimeout = 5 * time.Second
	// replayTimeout bounds one replay case.
	replayTimeout = 5 * time.Second
	// maxConns caps --conns.
	maxConns = 10000
	// resetAfter is how much of the response reset-mid-response reads.
	resetAfter = 16 << 10
)

// rowFormat prints one row of the table.
const rowFormat = "%-6s %-21s %6s %-5s %-6s %8s  %-24s %s\n"

// row is one scenario's outcome in one mode, as printed and as JSON.
// Problem is set when Why names a problem; Note says why a row that looks
// bad is not one.
type row struct {
	Mode     string       `json:"mode"`
	Scenario string       `json:"scenario"`
	Held     float64      `json:"held_seconds"`
	Ended    string       `json:"ended"`
	ProbeOK  bool         `json:"probe_ok"`
	ProbeMS  int64        `json:"probe_ms"`
	Detail   string       `json:"detail"`
	Problem  bool         `json:"problem"`
	Why      string       `json:"why,omitempty"`
	Note     string       `json:"note,omitempty"`
	Cases    []replayCase `json:"cases,omitempty"`
}

// target is where hangcheck connects: a resolved address plus the Host
// header and path of the URL, and the mode of this run.
type target struct {
	addr   string // ip:port
	host   string // Host header
	path   string // request target of the URL
	scheme string // http or https
	mode   faultkit.Mode
	tls    *tls.Config // for a TLS mode; nil verifies nothing (--insecure)
}

// hangcheckOpts are the parsed flags.
type hangcheckOpts struct {
	maxWait  time.Duration
	trickle  time.Duration
	conns    int
	large    string
	ws       string   // path of a WebSocket endpoint for the websocket scenarios; "" skips them
	timeouts timeouts // the target's own bounds, as far as known
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
	flags.DurationVar(&o.trickle, "trickle", 2*time.Second, "gap between body bytes in slow-body")
	flags.IntVar(&o.conns, "conns", 256, fmt.Sprintf("connections the flood scenario opens (at most %d)", maxConns))
	flags.StringVar(&o.large, "large", "/", "path of a large resource for zero-window, reset-mid-response and cable-pull-download")
	flags.StringVar(&o.ws, "ws", "", "path of a WebSocket endpoint of the target, for websocket-silent and websocket-idle-pull")
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
	if o.maxWait <= 0 || o.trickle <= 0 || o.conns < 0 || o.conns > maxConns || !strings.HasPrefix(o.large, "/") {
		return usageError{fmt.Sprintf("hangcheck: need --max-wait and --trickle > 0, 0 <= --conns <= %d, --large starting with /", maxConns)}
	}
	names := hangcheckScenarios
	if *replayOnly {
		names = []string{"replay"}
	} else if *list != "" {
		names = nil
		for _, n := range strings.Split(*list, ",") {
			if n == "cable-pull" {
				names = append(names, cablePullScenarios...)
				continue
			}
			if !slices.Contains(hangcheckScenarios, n) {
				return usageError{fmt.Sprintf("hangcheck: unknown scenario %q (known: %s)", n, strings.Join(hangcheckScenarios, ","))}
			}
			names = append(names, n)
		}
	}
	names, err := wsNames(names, *list != "", o.ws)
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
			tg.tls = tlsConfig(strings.TrimSuffix(strings.TrimPrefix(hostOnly(tg.host), "["), "]"), *insecure)
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
		fmt.Fprintf(stdout, rowFormat, "MODE", "SCENARIO", "HELD", "ENDED", "PROBE", "PROBE_MS", "PROBLEM", "DETAIL")
	}
	problems := 0
	for _, rn := range runs {
		for _, m := range rn.modes {
			tg := rn.tg
			tg.mode = m
			for _, name := range names {
				if !runsIn(name, m) {
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
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(rows); err != nil {
			return fmt.Errorf("hangcheck: %w", err)
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

// printRow prints one row of the table, and a replay row's cases.
func printRow(w io.Writer, r row) {
	probe := "ok"
	if !r.ProbeOK {
		probe = "FAILED"
	}
	problem := "-"
	switch {
	case r.Problem:
		problem = r.Why
	case r.Note != "":
		problem = "none: " + r.Note
	}
	fmt.Fprintf(w, rowFormat, r.Mode, r.Scenario, fmt.Sprintf("%.1fs", r.Held), r.Ended, probe, strconv.FormatInt(r.ProbeMS, 10), problem, r.Detail)
	for _, c := range r.Cases {
		verdict := "ok"
		if !c.OK {
			verdict = "FAILED"
		}
		fmt.Fprintf(w, "    %-6s %-7s %s (expect %s; %s)\n", verdict, c.Got, c.Name, c.Expect, c.Source)
	}
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
	return target{addr: netip.AddrPortFrom(ip, mustPort(port)).String(), host: u.Host, path: path, scheme: u.Scheme}, nil
}

// mustPort parses a URL port (url.Parse already checked it is digits).
func mustPort(s string) uint16 {
	n, _ := strconv.ParseUint(s, 10, 16)
	return uint16(n)
}

// runScenario runs one scenario bounded by o.maxWait with the probe loop
// alongside, and returns its row.
func runScenario(ctx context.Context, tg target, o hangcheckOpts, name string) row {
	sctx, cancel := context.WithTimeout(ctx, o.maxWait)
	defer cancel()
	pl := startProbes(sctx, tg)
	r := row{Mode: tg.mode.String(), Scenario: name}
	var err error
	switch name {
	case "slowloris", "slow-body", "zero-window", "idle-hold":
		err = connScenario(sctx, tg, o, &r)
	case "reset-mid-response":
		err = resetMidResponse(sctx, tg, o, &r)
	case "cable-pull-download", "cable-pull-header", "cable-pull-idle":
		err = cablePull(sctx, tg, o, &r)
	case "flood":
		err = flood(sctx, tg, o, &r)
	case "replay":
		err = replayAll(sctx, tg, &r)
	case "websocket-silent", "websocket-idle-pull":
		err = wsScenario(sctx, tg, o, &r)
	default:
		err = h2Scenario(sctx, tg, o, &r)
	}
	cancel()
	ok, worst, n := pl.stop()
	if n == 0 && ctx.Err() == nil {
		// The scenario ended within a second: probe once now.
		pctx, pcancel := context.WithTimeout(ctx, probeTimeout)
		_, lat, perr := probeOnce(pctx, tg)
		pcancel()
		ok, worst = perr == nil, lat
	}
	floodOK := name != "flood" || r.ProbeOK // flood probes once with every connection open
	r.ProbeOK = ok && floodOK
	r.ProbeMS = max(r.ProbeMS, worst.Milliseconds())
	if pl.err != nil {
		r.Detail += "; a probe failed: " + pl.err.Error()
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

// connScenario runs one faultkit scenario on one fresh connection. The
// client sees how the connection ended, except when the target's kernel
// drops it without a packet (TCP_USER_TIMEOUT under a zero window does):
// for a target on this host the target's socket is watched too, and for a
// remote one a zero-window reader still open at the cap reads once to find
// out.
func connScenario(ctx context.Context, tg target, o hangcheckOpts, r *row) error {
	var opt faultkit.DialOptions
	if r.Scenario == "zero-window" {
		opt.RecvBuf = 4096
	}
	c, err := tg.dial(ctx, opt)
	if err != nil {
		return err
	}
	defer c.Close()
	start := time.Now()
	// The target's end of the connection, and ours.
	theirs, ours := unmapAP(c.RemoteAddr().(*net.TCPAddr).AddrPort()), unmapAP(c.LocalAddr().(*net.TCPAddr).AddrPort())
	local := isLocal(theirs.Addr())
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var gone time.Duration // written by the watcher, read after watched is closed
	watched := make(chan struct{})
	if local {
		go func() {
			defer close(watched)
			if gone = waitTargetGone(sctx, theirs, ours, start); gone > 0 {
				// Let the client see a FIN or RST itself first.
				t := time.NewTimer(silentGrace)
				defer t.Stop()
				select {
				case <-t.C:
					cancel()
				case <-sctx.Done():
				}
			}
		}()
	} else {
		close(watched)
	}
	var res faultkit.Result
	switch r.Scenario {
	case "slowloris":
		res, err = faultkit.Slowloris(sctx, c, time.Second)
	case "slow-body":
		res, err = faultkit.SlowBody(sctx, c, tg.path, 1<<20, 1, o.trickle)
	case "zero-window":
		res, err = faultkit.StopReading(sctx, c, o.large, 0)
	case "idle-hold":
		res, err = faultkit.IdleHold(sctx, c, tg.path)
	}
	cancel()
	<-watched
	r.Held = res.Held.Seconds()
	r.Ended = res.Ended
	r.Detail = fmt.Sprintf("sent %d B, received %d B, status %d", res.Sent, res.Received, res.Status)
	if tg.mode == faultkit.H2 {
		r.Detail = h2Detail(res)
	}
	switch {
	case res.Ended == faultkit.EndedOpen && gone > 0 && ctx.Err() == nil:
		r.Held, r.Ended = gone.Seconds(), faultkit.EndedRST
		r.Detail += fmt.Sprintf("; the target's socket was gone at %.1fs without a packet to the client (its kernel dropped it)", gone.Seconds())
		err = nil
	case res.Ended == faultkit.EndedOpen && local:
		qctx, qcancel := context.WithTimeout(context.WithoutCancel(ctx), probeTimeout)
		if present, state, serr := targetSocket(qctx, theirs, ours); serr == nil && present {
			r.Detail += "; the target's socket still there (" + state + ")"
		}
		qcancel()
	case res.Ended == faultkit.EndedOpen && r.Scenario == "zero-window" && !errors.Is(ctx.Err(), context.Canceled):
		// At the cap: open the window. A target that dropped the connection
		// silently answers with a reset.
		c.SetReadDeadline(time.Now().Add(lateReply))
		if _, rerr := io.Copy(io.Discard, io.LimitReader(c, 1<<30)); errors.Is(rerr, syscall.ECONNRESET) {
			r.Ended = faultkit.EndedRST
			r.Detail += "; reset when the client read at the cap: the target had dropped it without a packet"
		}
	}
	return err
}

// resetMidResponse sends a GET for o.large, reads a little of the response
// and resets the connection. The connection ends by the client's RST.
func resetMidResponse(ctx context.Context, tg target, o hangcheckOpts, r *row) error {
	c, err := tg.dial(ctx, faultkit.DialOptions{})
	if err != nil {
		return err
	}
	tcp, _ := faultkit.TCP(c)
	start := time.Now()
	dl, _ := ctx.Deadline()
	c.SetDeadline(dl)
	var n int64
	if tg.mode == faultkit.H2 {
		n, err = h2Read(ctx, c, o.large, resetAfter)
	} else {
		_, err = io.WriteString(c, "GET "+o.large+" HTTP/1.1\r\nHost: "+tg.host+"\r\n\r\n")
		if err == nil {
			n, err = io.CopyN(io.Discard, c, resetAfter)
		}
	}
	tcp.SetLinger(0)
	tcp.Close()
	r.Held = time.Since(start).Seconds()
	r.Ended = faultkit.EndedRST
	r.Detail = fmt.Sprintf("read %d B, then reset by us", n)
	if errors.Is(err, io.EOF) {
		r.Detail += " (response shorter than 16 KiB)"
		err = nil
	}
	return err
}

// flood opens up to o.conns connections that send nothing, probes once with
// all of them open, then waits until the target has closed them all (or the
// scenario's cap).
func flood(ctx context.Context, tg target, o hangcheckOpts, r *row) error {
	start := time.Now()
	var conns []*net.TCPConn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	var dialErr error
	for range o.conns {
		dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		c, err := faultkit.DialTCP(dctx, tg.addr, faultkit.DialOptions{})
		cancel()
		if err != nil {
			dialErr = err
			break
		}
		conns = append(conns, c)
	}
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	status, lat, perr := probeOnce(pctx, tg)
	cancel()
	r.ProbeOK = perr == nil
	r.ProbeMS = lat.Milliseconds()
	r.Detail = fmt.Sprintf("opened %d of %d; probe with all open: status %d", len(conns), o.conns, status)
	if perr != nil {
		r.Detail = fmt.Sprintf("opened %d of %d; probe with all open failed: %v", len(conns), o.conns, perr)
	}
	if dialErr != nil {
		r.Detail += fmt.Sprintf("; dial stopped: %v", dialErr)
	}
	// Wait for the target to close each connection.
	ends := make([]string, len(conns))
	var wg sync.WaitGroup
	dl, _ := ctx.Deadline()
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.SetReadDeadline(dl)
			_, err := io.Copy(io.Discard, io.LimitReader(c, 1<<20))
			switch {
			case err == nil:
				ends[i] = faultkit.EndedFIN
			case errors.Is(err, syscall.ECONNRESET):
				ends[i] = faultkit.EndedRST
			default:
				ends[i] = faultkit.EndedOpen
			}
		}()
	}
	stop := context.AfterFunc(ctx, func() {
		for _, c := range conns {
			c.SetReadDeadline(time.Unix(1, 0))
		}
	})
	wg.Wait()
	stop()
	r.Held = time.Since(start).Seconds()
	counts := map[string]int{}
	for _, e := range ends {
		counts[e]++
	}
	r.Ended = faultkit.EndedFIN
	switch {
	case counts[faultkit.EndedOpen] > 0:
		r.Ended = faultkit.EndedOpen
	case counts[faultkit.EndedRST] > 0:
		r.Ended = faultkit.EndedRST
	}
	r.Detail += fmt.Sprintf("; ended fin %d, rst %d, open %d", counts[faultkit.EndedFIN], counts[faultkit.EndedRST], counts[faultkit.EndedOpen])
	return nil
}

// probeLoop sends a probe every probeEvery until stopped.
type probeLoop struct {
	cancel context.CancelFunc
	done   chan struct{}
	// ok, worst and n are written by the loop goroutine and read after
	// done is closed.
	ok    bool
	worst time.Duration
	n     int
	err   error // the first failed probe's error
}

// startProbes starts a probe loop bounded by ctx.
func startProbes(ctx context.Context, tg target) *probeLoop {
	ctx, cancel := context.WithCancel(ctx)
	pl := &probeLoop{cancel: cancel, done: make(chan struct{}), ok: true}
	go func() {
		defer close(pl.done)
		t := time.NewTicker(probeEvery)
		defer t.Stop()
		for range 100000 {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			pctx, pcancel := context.WithTimeout(ctx, probeTimeout)
			_, lat, err := probeOnce(pctx, tg)
			pcancel()
			if dl, ok := ctx.Deadline(); ctx.Err() != nil || ok && !time.Now().Before(dl) {
				// Cut short by the scenario's end (the dial's deadline
				// can pass just before ctx reports it): not a verdict.
				return
			}
			pl.n++
			pl.worst = max(pl.worst, lat)
			if err != nil && pl.ok {
				pl.ok, pl.err = false, err
			}
		}
	}()
	return pl
}

// stop ends the loop and reports whether every probe was served, the
// slowest latency and how many probes completed.
func (pl *probeLoop) stop() (ok bool, worst time.Duration, n int) {
	pl.cancel()
	<-pl.done
	return pl.ok, pl.worst, pl.n
}

// probe sends one GET for the URL's path on a fresh connection and reads
// the status line. Any status line counts as served.
func probeOnce(ctx context.Context, tg target) (int, time.Duration, error) {
	start := time.Now()
	if tg.mode == faultkit.H2 {
		status, err := probeH2(ctx, tg)
		if err != nil {
			return 0, time.Since(start), fmt.Errorf("probe: %w", err)
		}
		return status, time.Since(start), nil
	}
	d := net.Dialer{LocalAddr: probeSource(tg)}
	raw, err := d.DialContext(ctx, "tcp", tg.addr)
	if err != nil {
		return 0, time.Since(start), fmt.Errorf("probe: %w", err)
	}
	defer raw.Close()
	c, err := tg.secure(ctx, raw.(*net.TCPConn))
	if err != nil {
		return 0, time.Since(start), fmt.Errorf("probe: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	if _, err := io.WriteString(c, "GET "+tg.path+" HTTP/1.1\r\nHost: "+tg.host+"\r\nConnection: close\r\n\r\n"); err != nil {
		return 0, time.Since(start), fmt.Errorf("probe: %w", err)
	}
	status, err := readStatus(bufio.NewReaderSize(c, 512))
	if err != nil {
		return 0, time.Since(start), fmt.Errorf("probe: %w", err)
	}
	return status, time.Since(start), nil
}

// probeSource is the local address probes dial from: for an IPv4 loopback
// target on Linux, 127.0.0.254 (127.0.0.253 if that is the target), so that
// a probe is another client than the scenario's connections and a per-IP
// cap that holds the flood back does not refuse it; elsewhere the system's
// choice (nil), the same address as the scenario's, which a per-IP cap may
// refuse.
func probeSource(tg target) net.Addr {
	ap, err := netip.ParseAddrPort(tg.addr)
	if err != nil || runtime.GOOS != "linux" || !ap.Addr().Is4() || !ap.Addr().IsLoopback() {
		return nil
	}
	src := netip.AddrFrom4([4]byte{127, 0, 0, 254})
	if ap.Addr() == src {
		src = netip.AddrFrom4([4]byte{127, 0, 0, 253})
	}
	return net.TCPAddrFromAddrPort(netip.AddrPortFrom(src, 0))
}

// readStatus reads an HTTP/1.x status line and returns its code.
func readStatus(br *bufio.Reader) (int, error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(line))
	if len(f) < 2 || !strings.HasPrefix(f[0], "HTTP/") {
		return 0, fmt.Errorf("bad status line %.60q", line)
	}
	code, err := strconv.Atoi(f[1])
	if err != nil || code < 100 || code > 999 {
		return 0, fmt.Errorf("bad status line %.60q", line)
	}
	return code, nil
}

// replayFiles holds the bad-input replay set, one case per file (see
// parseReplay for the format).
//
//go:embed testdata/replay/*.txt
var replayFiles embed.FS

// replayCase is one bad input, its acceptable verdicts and, after a run,
// the verdict seen.
type replayCase struct {
	Name   string `json:"name"`
	Source string `json:"source"`
	Expect string `json:"expect"` // acceptable verdicts, "|"-separated
	Got    string `json:"got"`    // a status code (+close if closed after it), "close" or "timeout"
	OK     bool   `json:"ok"`
	req    []byte
}

// maxReplayRequest caps a decoded replay request, after # repeat.
const maxReplayRequest = 1 << 20

// loadReplay parses every embedded replay case, sorted by file name.
func loadReplay() ([]replayCase, error) {
	entries, err := fs.ReadDir(replayFiles, "testdata/replay")
	if err != nil {
		return nil, err
	}
	var cases []replayCase
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".txt") {
			continue
		}
		b, err := replayFiles.ReadFile("testdata/replay/" + e.Name())
		if err != nil {
			return nil, err
		}
		c, err := parseReplay(string(b))
		if err != nil {
			return nil, fmt.Errorf("replay %s: %w", e.Name(), err)
		}
		cases = append(cases, c)
	}
	return cases, nil
}

// parseReplay parses one case: "# key: value" header lines (name, source,
// expect, repeat), a blank line, then the request with its line breaks
// dropped and the escapes \r \n \t \\ \xHH decoded. "# repeat: N TOKEN"
// replaces each "{repeat}" in the request with TOKEN repeated N times;
// "{host}" is replaced with the target's host:port when it is sent.
func parseReplay(text string) (replayCase, error) {
	var c replayCase
	head, body, ok := strings.Cut(text, "\n\n")
	if !ok {
		return c, errors.New("no blank line after the header")
	}
	repeat := ""
	for _, line := range strings.Split(head, "\n") {
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "#"), ":")
		if !strings.HasPrefix(line, "#") || !ok {
			return c, fmt.Errorf("header line %q is not \"# key: value\"", line)
		}
		v = strings.TrimSpace(v)
		switch strings.TrimSpace(k) {
		case "name":
			c.Name = v
		case "source":
			c.Source = v
		case "expect":
			c.Expect = v
		case "repeat":
			ns, tok, _ := strings.Cut(v, " ")
			n, err := strconv.Atoi(ns)
			if err != nil || n < 0 || n*len(tok) > maxReplayRequest {
				return c, fmt.Errorf("bad repeat %q", v)
			}
			repeat = strings.Repeat(tok, n)
		}
	}
	if c.Name == "" || c.Expect == "" {
		return c, errors.New("need # name and # expect")
	}
	for _, v := range strings.Split(c.Expect, "|") {
		if _, err := strconv.Atoi(v); err != nil && v != "close" && v != "not-5xx" {
			return c, fmt.Errorf("bad expect verdict %q", v)
		}
	}
	body = strings.ReplaceAll(body, "\n", "")
	body = strings.ReplaceAll(body, "{repeat}", repeat)
	var out []byte
	for i := 0; i < len(body); i++ {
		if body[i] != '\\' || i+1 == len(body) {
			out = append(out, body[i])
			continue
		}
		i++
		switch body[i] {
		case 'r':
			out = append(out, '\r')
		case 'n':
			out = append(out, '\n')
		case 't':
			out = append(out, '\t')
		case '\\':
			out = append(out, '\\')
		case 'x':
			if i+2 >= len(body) {
				return c, errors.New(`truncated \x escape`)
			}
			b, err := strconv.ParseUint(body[i+1:i+3], 16, 8)
			if err != nil {
				return c, fmt.Errorf(`bad \x escape %q`, body[i-1:i+3])
			}
			out = append(out, byte(b))
			i += 2
		default:
			return c, fmt.Errorf(`unknown escape \%c`, body[i])
		}
	}
	if len(out) > maxReplayRequest {
		return c, fmt.Errorf("request of %d bytes exceeds %d", len(out), maxReplayRequest)
	}
	c.req = out
	return c, nil
}

// accepts reports whether verdict got ("close", "timeout", a status code,
// or a status code then "+close" when the target closed the connection
// after answering) is one of the case's acceptable verdicts. "close"
// accepts any close; "not-5xx" accepts any status below 500 and a close.
func (c replayCase) accepts(got string) bool {
	code, closed := strings.CutSuffix(got, "+close")
	for _, v := range strings.Split(c.Expect, "|") {
		switch {
		case v == got, v == code:
			return true
		case v == "close" && closed:
			return true
		case v == "not-5xx":
			n, err := strconv.Atoi(code)
			if got == "close" || err == nil && n < 500 {
				return true
			}
		}
	}
	return false
}

// replayOne sends one case on a fresh connection and returns the verdict:
// the status code, "close" if the target closed or reset before a status
// line, or "timeout" if neither happened within replayTimeout.
func replayOne(ctx context.Context, tg target, c replayCase) string {
	ctx, cancel := context.WithTimeout(ctx, replayTimeout)
	defer cancel()
	conn, err := tg.dial(ctx, faultkit.DialOptions{})
	if err != nil {
		return "dial error"
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	dl, _ := ctx.Deadline()
	conn.SetDeadline(dl)
	// Write and read at once: a server may answer and close before it has
	// read a long request.
	wg.Go(func() { conn.Write(bytes.ReplaceAll(c.req, []byte("{host}"), []byte(tg.host))) })
	br := bufio.NewReaderSize(conn, 4096)
	code, err := readStatus(br)
	switch {
	case err == nil && !slices.Contains(strings.Split(c.Expect, "|"), "close"):
		return strconv.Itoa(code)
	case err == nil:
		// Did the target close after answering? Read on briefly.
		conn.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		if _, err := io.Copy(io.Discard, io.LimitReader(br, 1<<20)); err == nil {
			return strconv.Itoa(code) + "+close"
		}
		return strconv.Itoa(code)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "timeout"
	default:
		return "close"
	}
}

// replayAll runs every replay case; the row's Held is the slowest case.
func replayAll(ctx context.Context, tg target, r *row) error {
	cases, err := loadReplay()
	if err != nil {
		return err
	}
	failed := 0
	var slowest time.Duration
	r.Ended = faultkit.EndedFIN
	for i := range cases {
		if ctx.Err() != nil {
			cases[i].Got = "not run (max-wait)"
			failed++
			continue
		}
		start := time.Now()
		cases[i].Got = replayOne(ctx, tg, cases[i])
		slowest = max(slowest, time.Since(start))
		cases[i].OK = cases[i].accepts(cases[i].Got)
		if !cases[i].OK {
			failed++
		}
		if cases[i].Got == "timeout" {
			r.Ended = faultkit.EndedOpen
		}
	}
	r.Held = slowest.Seconds()
	r.Cases = cases
	r.Detail = fmt.Sprintf("%d of %d cases met their verdict", len(cases)-failed, len(cases))
	if failed > 0 {
		r.Problem, r.Why = true, fmt.Sprintf("%d replay verdicts not met", failed)
	}
	return nil
}
