package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// connRow is one connection of GET /conns, as far as the table needs it.
type connRow struct {
	ID            uint64  `json:"id"`
	Remote        string  `json:"remote"`
	Phase         string  `json:"phase"`
	Request       string  `json:"request"`
	BytesIn       int64   `json:"bytes_in"`
	BytesOut      int64   `json:"bytes_out"`
	Age           float64 `json:"age_seconds"`
	SinceProgress float64 `json:"since_progress_seconds"`
	DeadlineIn    float64 `json:"deadline_in_seconds"`
	Rule          string  `json:"rule"`
	Explain       string  `json:"explain"`
	Kernel        *struct {
		State        string `json:"state"`
		UnackedBytes int64  `json:"unacked_bytes"`
		Retransmits  int    `json:"retransmits"`
	} `json:"tcp_info"`
	StreamRows []struct {
		ID            uint64   `json:"id"`
		Request       string   `json:"request"`
		Phase         string   `json:"phase"`
		BytesIn       int64    `json:"bytes_in"`
		BytesOut      int64    `json:"bytes_out"`
		Age           float64  `json:"age_seconds"`
		SinceProgress float64  `json:"since_progress_seconds"`
		DeadlineIn    *float64 `json:"deadline_in_seconds"`
		Rule          string   `json:"rule"`
		Explain       string   `json:"explain"`
	} `json:"stream_rows"`
}

type connsReply struct {
	Conns []connRow `json:"conns"`
	Stats struct {
		Open     int               `json:"open"`
		Accepted uint64            `json:"accepted"`
		Refused  uint64            `json:"refused"`
		Closed   map[string]uint64 `json:"closed"`
		Resets   map[string]uint64 `json:"stream_resets"`
	} `json:"stats"`
}

// conns is "vigil conns": the live connection table of a running server,
// stuck connections first, each with its cause in words.
func conns(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("vigil conns", flag.ContinueOnError)
	flags.SetOutput(stderr)
	admin := flags.String("admin", "", "admin endpoint of the server: unix:PATH, a socket path, or host:port (default: the one server answering in "+runDir()+")")
	asJSON := flags.Bool("json", false, "print the admin endpoint's JSON as it is")
	watch := flags.Duration("watch", 0, "refresh every interval (e.g. 1s) until interrupted")
	flags.Usage = func() {
		fmt.Fprintln(stderr, "usage: vigil conns [--admin unix:PATH|ADDR] [--json] [--watch 1s]\n       vigil conns kill ID")
		flags.PrintDefaults()
	}
	if err := parseFlags(flags, args); err != nil {
		return err
	}
	if flags.NArg() > 0 && (flags.Arg(0) != "kill" || flags.NArg() != 2) {
		return usageError{"conns: want \"kill ID\" after the flags"}
	}
	var c adminEndpoint
	if *admin == "" {
		var err error
		if c, err = findAdmin(ctx); err != nil {
			return err
		}
	} else {
		c = parseAdmin(*admin)
	}
	if flags.NArg() > 0 {
		if flags.Arg(0) != "kill" || flags.NArg() != 2 {
			return usageError{"conns: want \"kill ID\""}
		}
		return killConn(ctx, c, flags.Arg(1), stdout)
	}
	for {
		if err := showConns(ctx, c, *asJSON, stdout); err != nil {
			return err
		}
		if *watch <= 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(*watch):
		}
		if !*asJSON {
			fmt.Fprint(stdout, "\x1b[H\x1b[2J")
		}
	}
}

// adminEndpoint is the address of a server's admin endpoint, as given to
// --admin: unix:PATH or host:port.
type adminEndpoint struct{ network, address string }

func (a adminEndpoint) String() string {
	if a.network == "unix" {
		return "unix:" + a.address
	}
	return a.address
}

func parseAdmin(addr string) adminEndpoint {
	if p, ok := strings.CutPrefix(addr, "unix:"); ok {
		return adminEndpoint{"unix", p}
	}
	if _, _, err := net.SplitHostPort(addr); err != nil || strings.ContainsRune(addr, '/') {
		// A bare socket path: /run/vigil/admin.sock, ./admin.sock.
		return adminEndpoint{"unix", addr}
	}
	return adminEndpoint{"tcp", addr}
}

// adminDo makes one request to the admin endpoint, bounded in time, and
// returns the body of a 200 answer.
func adminDo(ctx context.Context, a adminEndpoint, method, path string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, exchangeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, "http://vigil"+path, nil)
	if err != nil {
		return nil, err
	}
	resp, body, err := exchange(ctx, a.network, a.address, req, 64<<20)
	if err != nil {
		return nil, fmt.Errorf("admin endpoint %s: %w (is vigil serving with this --admin?)", a, err)
	}
	if resp.StatusCode != http.StatusOK {
		return body, fmt.Errorf("admin endpoint: %s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(body)))
	}
	return body, nil
}

func killConn(ctx context.Context, c adminEndpoint, id string, stdout io.Writer) error {
	if _, err := strconv.ParseUint(id, 10, 64); err != nil {
		return usageError{fmt.Sprintf("conns kill: %q is not a connection id", id)}
	}
	if _, err := adminDo(ctx, c, http.MethodPost, "/conns/"+id+"/kill"); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "killed connection %s\n", id)
	return nil
}

func showConns(ctx context.Context, c adminEndpoint, asJSON bool, stdout io.Writer) error {
	body, err := adminDo(ctx, c, http.MethodGet, "/conns")
	if err != nil {
		return err
	}
	if asJSON {
		_, err := stdout.Write(body)
		return err
	}
	var r connsReply
	if err := json.Unmarshal(body, &r); err != nil {
		return fmt.Errorf("admin endpoint: bad /conns reply: %w", err)
	}
	printConns(stdout, r)
	return nil
}

// printConns prints a netstat-like table, stuck connections first (the
// admin endpoint sorts by time since progress), each stuck one with its
// cause in words in the last column.
func printConns(w io.Writer, r connsReply) {
	fmt.Fprintf(w, "%d open, %d accepted, %d refused at a cap", r.Stats.Open, r.Stats.Accepted, r.Stats.Refused)
	if len(r.Stats.Closed) > 0 {
		var parts []string
		for cause, n := range r.Stats.Closed {
			parts = append(parts, fmt.Sprintf("%s %d", cause, n))
		}
		slices.Sort(parts)
		fmt.Fprintf(w, "; closed: %s", strings.Join(parts, ", "))
	}
	if len(r.Stats.Resets) > 0 {
		var parts []string
		for cause, n := range r.Stats.Resets {
			parts = append(parts, fmt.Sprintf("%s %d", cause, n))
		}
		slices.Sort(parts)
		fmt.Fprintf(w, "; HTTP/2 streams reset: %s", strings.Join(parts, ", "))
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tREMOTE\tPHASE\tREQUEST\tIN\tOUT\tAGE\tNO PROGRESS\tCLOSES\tKERNEL\tCAUSE")
	for _, c := range r.Conns {
		closes := "-"
		if c.Rule != "" {
			closes = fmt.Sprintf("%s in %s", c.Rule, secs(c.DeadlineIn))
		}
		kernel := "-"
		if k := c.Kernel; k != nil {
			kernel = fmt.Sprintf("%s unacked=%s retrans=%d", k.State, size(k.UnackedBytes), k.Retransmits)
		}
		req := c.Request
		if req == "" {
			req = "-"
		}
		cause := c.Explain
		if cause == "" {
			cause = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.Remote, c.Phase, req,
			size(c.BytesIn), size(c.BytesOut), secs(c.Age), secs(c.SinceProgress), closes, kernel, cause)
		for _, s := range c.StreamRows {
			// An HTTP/2 stream, under its connection: its own phase,
			// bytes and rule.
			closes := "-"
			if s.Rule != "" && s.DeadlineIn != nil {
				closes = fmt.Sprintf("%s in %s", s.Rule, secs(*s.DeadlineIn))
			}
			cause := s.Explain
			if cause == "" {
				cause = "-"
			}
			fmt.Fprintf(tw, " └%d\t\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t-\t%s\n", s.ID, s.Phase, s.Request,
				size(s.BytesIn), size(s.BytesOut), secs(s.Age), secs(s.SinceProgress), closes, cause)
		}
	}
	tw.Flush()
}

func secs(s float64) string { return strconv.FormatFloat(s, 'f', 1, 64) + "s" }

func size(n int64) string {
	switch {
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + "MiB"
	case n >= 1<<10:
		return strconv.FormatFloat(float64(n)/(1<<10), 'f', 1, 64) + "KiB"
	}
	return strconv.FormatInt(n, 10) + "B"
}
