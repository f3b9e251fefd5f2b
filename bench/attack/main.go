// Command attack is the mixed-attack benchmark behind bench/attack.sh. It
// starts one server under test inside a fresh network namespace (the Server
// end of a faultkit.Link) and, from the Client end, runs three phases; the
// peers, their source addresses and the cut are faultkit's (Dialer, Peers,
// Link.AddClientAddrs, CutAll), this command only plans and reports:
//
//   - idle: a legitimate client alone, doing sequential keep-alive GETs of a
//     small file on one connection (reconnecting on error), every request
//     bounded by -timeout;
//   - attack: the same client while 1,000 slowloris connections, 100
//     zero-window readers and 200 cable-pulled peers hit the server at once,
//     from source addresses of their own so per-IP caps do not refuse them
//     trivially. The cable-pulled peers read a little of a large file and
//     are then cut together by one nftables table in the client namespace
//     (faultkit.CutAll);
//   - after: the slowloris and zero-window peers close (the cut ones stay
//     cut, which is the point) and the legitimate client goes on, while the
//     server's RSS, goroutines and sockets are polled every second until
//     they are back within a margin of the idle values, or -after ends.
//
// It reports the legitimate client's success rate, p50 and p99 per phase,
// and the server's RSS, goroutine count and server-side TCP sockets before,
// during (peak) and after the attack, as a text block and as one JSON line;
// `attack table` puts the JSON lines of several servers side by side with
// ratios.
//
//	attack run [flags] -- command args...   ("{addr}" in args: the listen address)
//	attack table result.jsonl...
//
// It needs root (namespaces, veth, nftables) and sends traffic only inside
// the two namespaces it creates, addresses in 198.18.0.0/15. Every loop is
// bounded in count and time; the namespaces, the server process (its whole
// process group) and the cut rules are removed on return, on error and on
// SIGINT/SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/vigilhttp/vigil/faultkit"
)

// config is one run's settings, from flags.
type config struct {
	name    string   // label of the server under test
	port    int      // port the server listens on
	pprof   string   // goroutine source: "unix:PATH", "HOST:PORT" in the server namespace, or "" (n/a)
	jsonOut string   // file the result line is appended to; "" for none
	pidFile string   // file the server's process group id is written to; "" for none
	logPath string   // the server's standard output and error
	args    []string // server command; "{addr}" becomes SERVERIP:PORT

	idle, attack, after time.Duration // phase lengths; after is a cap
	settle              time.Duration // how long all metrics must stay within margin to end "after" early

	interval time.Duration // legitimate client: time between request starts
	timeout  time.Duration // legitimate client: bound of one request, dial included
	small    string        // legitimate client's path
	smallLen int64         // its exact length in bytes
	large    string        // zero-window and cable-pulled peers' path

	slowloris, slowlorisIPs   int
	slowlorisEvery            time.Duration
	zeroWindow, zeroWindowIPs int
	cablePull, cablePullIPs   int
	rampUp                    time.Duration // attackers' connections are spread over this
	dialTimeout               time.Duration // attackers' connect bound

	marginRSS    float64 // "returned" when RSS <= before*(1+marginRSS) ...
	marginRSSMiB float64 // ... or before + marginRSSMiB, whichever is larger
	marginGor    int     // "returned" when goroutines <= before + marginGor
	marginSock   int     // "returned" when sockets <= before + marginSock
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "attack:", err)
		os.Exit(1)
	}
}

// run dispatches the subcommands.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: attack run [flags] -- command args... | attack table result.jsonl...")
	}
	switch args[0] {
	case "run":
		cfg, err := parseFlags(args[1:])
		if err != nil {
			return err
		}
		return bench(ctx, cfg, stdout)
	case "table":
		return table(args[1:], stdout)
	}
	return fmt.Errorf("unknown subcommand %q (run, table)", args[0])
}

// parseFlags reads the flags of `attack run`.
func parseFlags(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("attack run", flag.ContinueOnError)
	fs.StringVar(&c.name, "name", "server", "label of the server under test")
	fs.IntVar(&c.port, "port", 8080, "port the server listens on (in its namespace)")
	fs.StringVar(&c.pprof, "pprof", "", "goroutine count from /debug/pprof/goroutine: unix:PATH, or HOST:PORT inside the server namespace; empty for n/a")
	fs.StringVar(&c.jsonOut, "json", "", "append the result as one JSON line to this file")
	fs.StringVar(&c.pidFile, "pidfile", "", "write the server's process group id here (for the caller's cleanup)")
	fs.StringVar(&c.logPath, "log", os.DevNull, "the server's standard output and error go to this file")
	fs.DurationVar(&c.idle, "idle", 10*time.Second, "idle phase: legitimate client alone")
	fs.DurationVar(&c.attack, "attack", 40*time.Second, "attack phase")
	fs.DurationVar(&c.after, "after", 60*time.Second, "after phase: longest wait for the server to return to its idle values")
	fs.DurationVar(&c.settle, "settle", 5*time.Second, "end the after phase once every metric has stayed within its margin this long")
	fs.DurationVar(&c.interval, "interval", 20*time.Millisecond, "legitimate client: time between request starts")
	fs.DurationVar(&c.timeout, "timeout", 2*time.Second, "legitimate client: bound of one request (a timeout is a failure)")
	fs.StringVar(&c.small, "small", "/1k.bin", "legitimate client's path")
	fs.Int64Var(&c.smallLen, "small-len", 1024, "its exact length in bytes")
	fs.StringVar(&c.large, "large", "/big.bin", "path of the large file for zero-window and cable-pulled peers")
	fs.IntVar(&c.slowloris, "slowloris", 1000, "slowloris connections kept up")
	fs.IntVar(&c.slowlorisIPs, "slowloris-ips", 20, "source addresses they are spread over")
	fs.DurationVar(&c.slowlorisEvery, "slowloris-every", 5*time.Second, "one header byte per this")
	fs.IntVar(&c.zeroWindow, "zero-window", 100, "zero-window readers kept up")
	fs.IntVar(&c.zeroWindowIPs, "zero-window-ips", 2, "source addresses they are spread over")
	fs.IntVar(&c.cablePull, "cable-pull", 200, "cable-pulled peers, cut once each at attack start")
	fs.IntVar(&c.cablePullIPs, "cable-pull-ips", 4, "source addresses they are spread over")
	fs.DurationVar(&c.rampUp, "ramp-up", 2*time.Second, "attackers' first connections are spread over this")
	fs.DurationVar(&c.dialTimeout, "dial-timeout", 3*time.Second, "attackers' connect bound")
	fs.Float64Var(&c.marginRSS, "margin-rss", 0.25, "RSS is back when within this fraction above its idle value ...")
	fs.Float64Var(&c.marginRSSMiB, "margin-rss-mib", 4, "... or within this many MiB, whichever is larger")
	fs.IntVar(&c.marginGor, "margin-goroutines", 10, "goroutines are back when at most this many above idle")
	fs.IntVar(&c.marginSock, "margin-sockets", 5, "server sockets (not LISTEN, not TIME-WAIT) are back when at most this many above idle")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	c.args = fs.Args()
	switch {
	case len(c.args) == 0:
		return c, errors.New("run: no server command after --")
	case c.port <= 0 || c.port > 65535:
		return c, fmt.Errorf("run: port %d", c.port)
	case c.idle < time.Second || c.attack < time.Second || c.after < time.Second:
		return c, errors.New("run: phases must last at least 1s")
	case c.interval <= 0 || c.timeout <= 0 || c.slowlorisEvery <= 0 || c.dialTimeout <= 0:
		return c, errors.New("run: -interval, -timeout, -slowloris-every and -dial-timeout must be positive")
	case c.slowlorisIPs < 1 || c.zeroWindowIPs < 1 || c.cablePullIPs < 1:
		return c, errors.New("run: each attacker group needs at least one address")
	case c.slowlorisIPs+c.zeroWindowIPs+c.cablePullIPs > faultkit.MaxClientAddrs:
		return c, fmt.Errorf("run: at most %d attacker addresses", faultkit.MaxClientAddrs)
	case c.slowloris < 0 || c.zeroWindow < 0 || c.cablePull < 0 || c.slowloris+c.zeroWindow+c.cablePull > 10000:
		return c, errors.New("run: attacker counts must be >= 0 and at most 10000 in all")
	}
	return c, nil
}
