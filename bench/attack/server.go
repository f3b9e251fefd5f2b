package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vigilhttp/vigil/faultkit"
)

// server is the process under test, started inside the server namespace
// (`ip netns exec NS command…`, which execs the command, so the PID is the
// server's) in a process group of its own.
type server struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd.Wait returned
	err  error         // cmd.Wait's result, set before done is closed
}

// startServer starts cfg.args in the server namespace, "{addr}" replaced
// by addr, standard output and error to logPath.
func startServer(link *faultkit.Link, cfg config, addr, logPath string) (*server, error) {
	args := []string{"netns", "exec", link.Server.Name}
	for _, a := range cfg.args {
		args = append(args, strings.ReplaceAll(a, "{addr}", addr))
	}
	log, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer log.Close()
	cmd := exec.Command("ip", args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", cfg.args[0], err)
	}
	s := &server{cmd: cmd, done: make(chan struct{})}
	go func() {
		s.err = cmd.Wait()
		close(s.done)
	}()
	if cfg.pidFile != "" {
		if err := os.WriteFile(cfg.pidFile, []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644); err != nil {
			return s, errors.Join(err, s.stop())
		}
	}
	return s, nil
}

// pid is the server's process id (and process group id).
func (s *server) pid() int { return s.cmd.Process.Pid }

// exited reports whether the server has exited, and how.
func (s *server) exited() (bool, error) {
	select {
	case <-s.done:
		return true, s.err
	default:
		return false, nil
	}
}

// stop sends SIGTERM to the server, waits up to 5 seconds, then kills its
// whole process group (nginx's workers included). It is idempotent.
func (s *server) stop() error {
	if done, _ := s.exited(); !done {
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
		}
	}
	// Whatever is left of the group (a worker whose master died) goes too.
	syscall.Kill(-s.pid(), syscall.SIGKILL)
	select {
	case <-s.done:
		return nil
	case <-time.After(5 * time.Second):
		return fmt.Errorf("server %d did not exit after SIGKILL", s.pid())
	}
}

// waitReady dials the server from src until it accepts, every 100ms for at
// most 10 seconds.
func waitReady(ctx context.Context, s *server, d *faultkit.Dialer, src netip.Addr) error {
	var last error
	for range 100 {
		if done, err := s.exited(); done {
			return fmt.Errorf("server exited: %v", err)
		}
		c, err := dial(ctx, d, src, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		last = err
		if !sleep(ctx, 100*time.Millisecond) {
			return ctx.Err()
		}
	}
	return fmt.Errorf("server not accepting after 10s: %w", last)
}

// Sample is one reading of the server.
type Sample struct {
	// RSSMiB is the resident set of the server and its descendants.
	RSSMiB float64 `json:"rss_mib"`
	// Goroutines is the server's goroutine count, -1 when unknown.
	Goroutines int `json:"goroutines"`
	// Sockets is the server-side TCP sockets on the port, neither LISTEN
	// nor TIME-WAIT (orphans included).
	Sockets int `json:"sockets"`
	// States counts the server-side sockets on the port by TCP state.
	States map[string]int `json:"states,omitempty"`
}

// sampler reads the server's RSS (/proc), goroutines (pprof) and sockets
// (ss in the server namespace).
type sampler struct {
	pid  int
	port uint16
	ns   *faultkit.Netns
	gor  *http.Client // nil: goroutines n/a
	url  string
}

// newSampler builds a sampler for source pprof: "unix:PATH" (vigil's admin
// endpoint) or "HOST:PORT" inside the server namespace; "" for none.
func newSampler(pid int, link *faultkit.Link, port int, pprof string) *sampler {
	s := &sampler{pid: pid, port: uint16(port), ns: link.Server}
	if pprof == "" {
		return s
	}
	tr := &http.Transport{DisableKeepAlives: true}
	if path, ok := strings.CutPrefix(pprof, "unix:"); ok {
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}
		s.url = "http://admin/debug/pprof/goroutine?debug=1"
	} else {
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return link.Server.Dial(ctx, "tcp", pprof)
		}
		s.url = "http://" + pprof + "/debug/pprof/goroutine?debug=1"
	}
	s.gor = &http.Client{Transport: tr, Timeout: 2 * time.Second}
	return s
}

// sample takes one reading; a part that cannot be read is -1 and its error
// is returned alongside.
func (s *sampler) sample(ctx context.Context) (Sample, error) {
	var errs []error
	out := Sample{RSSMiB: -1, Goroutines: -1, Sockets: -1}
	if kib, err := treeRSS(s.pid); err != nil {
		errs = append(errs, err)
	} else {
		out.RSSMiB = float64(kib) / 1024
	}
	if s.gor != nil {
		if n, err := s.goroutines(ctx); err != nil {
			errs = append(errs, err)
		} else {
			out.Goroutines = n
		}
	}
	ctx, cancel := context.WithTimeout(ctx, faultkit.CommandTimeout)
	defer cancel()
	socks, err := faultkit.Sockets(ctx, s.ns, s.port)
	if err != nil {
		errs = append(errs, err)
	} else {
		out.Sockets = 0
		out.States = map[string]int{}
		for _, k := range socks {
			if k.Local.Port() != s.port || k.State == "LISTEN" {
				continue
			}
			out.States[k.State]++
			if k.State != "TIME-WAIT" {
				out.Sockets++
			}
		}
	}
	return out, errors.Join(errs...)
}

// goroutines reads "goroutine profile: total N" from the pprof endpoint.
func (s *sampler) goroutines(ctx context.Context) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := s.gor.Do(req)
	if err != nil {
		return 0, fmt.Errorf("goroutines: %w", err)
	}
	defer resp.Body.Close()
	line, err := bufio.NewReader(io.LimitReader(resp.Body, 4096)).ReadString('\n')
	if err != nil {
		return 0, fmt.Errorf("goroutines: %w", err)
	}
	n, ok := strings.CutPrefix(strings.TrimSpace(line), "goroutine profile: total ")
	if !ok {
		return 0, fmt.Errorf("goroutines: unexpected first line %q", line)
	}
	return strconv.Atoi(n)
}

// treeRSS returns VmRSS in KiB of pid and all its descendants.
func treeRSS(pid int) (int64, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	children := map[int][]int{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // gone meanwhile
		}
		// "pid (comm) state ppid ...": comm may hold spaces, so cut at the last ')'.
		i := strings.LastIndexByte(string(stat), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 2 {
			continue
		}
		if ppid, err := strconv.Atoi(f[1]); err == nil {
			children[ppid] = append(children[ppid], p)
		}
	}
	var total int64
	queue := []int{pid}
	for i := 0; i < len(queue) && i < 10000; i++ {
		kib, err := vmRSS(queue[i])
		if err != nil {
			if i == 0 {
				return 0, err
			}
			continue
		}
		total += kib
		queue = append(queue, children[queue[i]]...)
	}
	return total, nil
}

// vmRSS returns VmRSS in KiB from /proc/PID/status.
func vmRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("pid %d: no VmRSS", pid)
}
