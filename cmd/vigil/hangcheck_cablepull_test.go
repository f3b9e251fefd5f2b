//go:build !nohangcheck

package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigilhttp/vigil"
	"github.com/vigilhttp/vigil/faultkit"
	"github.com/vigilhttp/vigil/faultkit/faulttest"
)

// hangcheckInNetns runs "vigil hangcheck args..." as a process inside ns
// (the test binary, re-executed as vigil), so that its connections, probes
// and its nftables table all live in the test's own namespace, and returns
// its rows and whether it exited with a problem.
func hangcheckInNetns(t *testing.T, ns *faultkit.Netns, args ...string) ([]row, bool) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 150*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns.Name, exe, "hangcheck", "--json"}, args...)...)
	cmd.Env = append(os.Environ(), asMainEnv+"=1")
	cmd.WaitDelay = time.Second
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	problem := false
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit) && exit.ExitCode() == 1:
		problem = true
	case err != nil:
		t.Fatalf("hangcheck: %v\n%s", err, stderr.String())
	}
	var rows []row
	if err := json.Unmarshal(out, &rows); err != nil {
		t.Fatalf("hangcheck --json: %v\n%s\n%s", err, out, stderr.String())
	}
	for _, r := range rows {
		t.Logf("%-6s %-20s held %.2fs ended %-4s probe_ok %v: %s", r.Mode, r.Scenario, r.Held, r.Ended, r.ProbeOK, r.Detail)
	}
	if tables, err := ns.Exec(t.Context(), "nft", "list", "tables"); err != nil || strings.Contains(string(tables), "vglhc") {
		t.Errorf("nft tables after hangcheck: %q, %v; want none of hangcheck's", tables, err)
	}
	return rows, problem
}

// TestHangcheckCablePull is the short cable-pull hangcheck CI runs: vigil
// with 2 s bounds in a namespace of the test's own, the three cable pulls
// against it on loopback in each mode (http1, https1, h2); then a
// zero-value net/http server, which holds a half-sent header of a vanished
// peer to the cap.
func TestHangcheckCablePull(t *testing.T) {
	faulttest.Need(t)
	ns, err := faultkit.NewNetns(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })

	t.Run("vigil cuts every pulled cable within its bounds in every mode and serves others meanwhile", func(t *testing.T) {
		ln, err := ns.Listen(t.Context(), "tcp", "127.0.0.1:8080")
		if err != nil {
			t.Fatal(err)
		}
		root := t.TempDir()
		if err := os.WriteFile(filepath.Join(root, "index.html"), []byte("<p>up</p>"), 0o644); err != nil {
			t.Fatal(err)
		}
		big, err := os.Create(filepath.Join(root, "big.bin"))
		if err != nil {
			t.Fatal(err)
		}
		big.Truncate(64 << 20)
		big.Close()
		srv, err := vigil.New(vigil.Config{
			Listeners:     []net.Listener{ln},
			Listen:        []string{"https://127.0.0.1:8443"},
			TLSSelfSigned: t.TempDir(),
			Root:          root,
			StallTimeout:  2 * time.Second,
			HeaderTimeout: 2 * time.Second,
			IdleTimeout:   2 * time.Second,
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := ns.Do(srv.Start); err != nil { // binds the https listener in ns
			t.Fatal(err)
		}
		t.Cleanup(func() { srv.Close() })
		rows, problem := hangcheckInNetns(t, ns, "--scenarios", "cable-pull", "--max-wait", "15s", "--large", "/big.bin", "--insecure",
			"http://127.0.0.1:8080/", "https://127.0.0.1:8443/")
		if problem || len(rows) != 9 {
			t.Errorf("hangcheck found a problem or gave %d rows, want 9 (3 modes) without", len(rows))
		}
		// Bounds: stall, header or idle 2 s, plus 1 s. Every cut is
		// abortive; an idle connection whose keepalive probes go
		// unanswered is closed at once, by the idle expiry at the latest.
		want := map[string]struct {
			ended  string
			lo, hi float64
		}{
			"cable-pull-download": {"rst", 1.5, 3},
			"cable-pull-header":   {"rst", 1.5, 3},
			"cable-pull-idle":     {"rst", 1.5, 3},
		}
		modes := map[string]int{}
		for _, r := range rows {
			modes[r.Mode]++
			w := want[r.Scenario]
			if r.Mode == "h2" && r.Scenario != "cable-pull-download" {
				// An idle h2 connection (no stream open: also mid-header)
				// gets a GOAWAY at the idle expiry and net/http's second
				// for frames in flight before the close: idle + 1 s, and
				// this poll's 100 ms.
				w.hi += 0.2
			}
			if r.Ended != w.ended || r.Held < w.lo || r.Held > w.hi || !r.ProbeOK {
				t.Errorf("%s %s: ended %s after %.2fs, probe_ok %v; want %s within %.1f–%.1fs, probes served", r.Mode, r.Scenario, r.Ended, r.Held, r.ProbeOK, w.ended, w.lo, w.hi)
			}
		}
		if modes["http1"] != 3 || modes["https1"] != 3 || modes["h2"] != 3 {
			t.Errorf("rows by mode %v, want 3 each of http1, https1 and h2", modes)
		}
	})
	t.Run("against a remote target it reads the cut's counters: a RST from vigil, silence from net/http until the cap", func(t *testing.T) {
		link, err := faultkit.NewLink(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { link.Close() })
		ln, err := link.Server.Listen(t.Context(), "tcp", net.JoinHostPort(link.ServerIP.String(), "8080"))
		if err != nil {
			t.Fatal(err)
		}
		srv, err := vigil.New(vigil.Config{Listeners: []net.Listener{ln}, HeaderTimeout: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { srv.Close() })
		serveZeroValue(t, link.Server, net.JoinHostPort(link.ServerIP.String(), "8081"))

		base := "http://" + link.ServerIP.String()
		rows, problem := hangcheckInNetns(t, link.Client, "--i-own-this-target", "--scenarios", "cable-pull-header", "--max-wait", "10s", base+":8080/")
		if problem || len(rows) != 1 || rows[0].Ended != "rst" || rows[0].Held < 1.8 || rows[0].Held > 3 {
			t.Errorf("vigil: rows %+v, problem %v; want rst after about 2 s", rows, problem)
		}
		rows, problem = hangcheckInNetns(t, link.Client, "--i-own-this-target", "--scenarios", "cable-pull-header", "--max-wait", "3s", base+":8081/")
		if !problem || len(rows) != 1 || rows[0].Ended != "open" || rows[0].Held < 2.9 {
			t.Errorf("net/http: rows %+v, problem %v; want open at the 3 s cap", rows, problem)
		}

		// A target whose kernel drops the connection without a packet
		// (TCP_USER_TIMEOUT of 1 s, and it never closes): seen at the cap.
		ln3, err := link.Server.Listen(t.Context(), "tcp", net.JoinHostPort(link.ServerIP.String(), "8082"))
		if err != nil {
			t.Fatal(err)
		}
		var served sync.WaitGroup
		t.Cleanup(func() { ln3.Close(); served.Wait() })
		served.Go(func() { silentDropper(ln3) })
		rows, problem = hangcheckInNetns(t, link.Client, "--i-own-this-target", "--scenarios", "cable-pull-download", "--large", "/big", "--max-wait", "4s", base+":8082/")
		if problem || len(rows) != 1 || rows[0].Ended != "rst" || rows[0].Held > 3 || !strings.Contains(rows[0].Detail, "dropped without a packet") {
			t.Errorf("silent dropper: rows %+v, problem %v; want rst, found at the cap, dated by its last packet", rows, problem)
		}
	})
	t.Run("a zero-value net/http server holds a vanished peer's half header to the cap", func(t *testing.T) {
		serveZeroValue(t, ns, "127.0.0.1:8081")
		rows, problem := hangcheckInNetns(t, ns, "--scenarios", "cable-pull-header", "--max-wait", "3s", "http://127.0.0.1:8081/")
		if !problem || len(rows) != 1 || rows[0].Ended != "open" || rows[0].Held < 2.9 || !strings.Contains(rows[0].Detail, "still there (ESTAB)") {
			t.Errorf("rows %+v, problem %v; want one row open at the 3 s cap with its socket ESTAB, and exit status 1", rows, problem)
		}
	})
	t.Run("Ctrl-C in the middle of a cable pull removes its table", func(t *testing.T) {
		serveZeroValue(t, ns, "127.0.0.1:8082")
		exe, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "ip", "netns", "exec", ns.Name, exe, "hangcheck", "--scenarios", "cable-pull-header", "--max-wait", "20s", "http://127.0.0.1:8082/")
		cmd.Env = append(os.Environ(), asMainEnv+"=1")
		cmd.WaitDelay = time.Second
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		tables := func() string {
			out, _ := ns.Exec(t.Context(), "nft", "list", "tables")
			return string(out)
		}
		for i := 0; !strings.Contains(tables(), "vglhc"); i++ {
			if i == 100 {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatal("no cable-pull table 10 s after hangcheck started")
			}
			time.Sleep(100 * time.Millisecond)
		}
		start := time.Now()
		cmd.Process.Signal(os.Interrupt) // ip netns exec execs hangcheck itself
		err = cmd.Wait()
		t.Logf("hangcheck exited %v after Ctrl-C: %v", time.Since(start).Round(time.Millisecond), err)
		if exit := (*exec.ExitError)(nil); !errors.As(err, &exit) || exit.ExitCode() != 1 {
			t.Errorf("hangcheck's exit after Ctrl-C: %v, want status 1 (interrupted)", err)
		}
		if time.Since(start) > 5*time.Second {
			t.Errorf("hangcheck took %v to stop after Ctrl-C", time.Since(start))
		}
		if got := tables(); strings.Contains(got, "vglhc") {
			t.Errorf("tables after Ctrl-C: %q, want hangcheck's gone", got)
		}
	})
}

// serveZeroValue serves addr in ns with a zero-value http.Server (no
// timeouts at all) until the test ends.
func serveZeroValue(t *testing.T, ns *faultkit.Netns, addr string) {
	t.Helper()
	ln, err := ns.Listen(t.Context(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})}
	var served sync.WaitGroup
	served.Go(func() { hs.Serve(ln) })
	t.Cleanup(func() { hs.Close(); served.Wait() })
}

// silentDropper serves the connections of ln until it is closed: after the
// request head, an endless response; each socket has TCP_USER_TIMEOUT 1 s,
// so the kernel drops a connection whose peer stopped acknowledging, and
// sends nothing. It never closes a connection itself until ln is closed.
func silentDropper(ln net.Listener) {
	var conns []net.Conn
	var writers sync.WaitGroup
	defer func() {
		for _, c := range conns {
			c.Close()
		}
		writers.Wait()
	}()
	for range 100 {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		conns = append(conns, c)
		if rc, err := c.(*net.TCPConn).SyscallConn(); err == nil {
			rc.Control(func(fd uintptr) {
				const tcpUserTimeout = 0x12 // TCP_USER_TIMEOUT, linux/tcp.h
				syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, tcpUserTimeout, 1000)
			})
		}
		writers.Go(func() {
			c.Read(make([]byte, 4096)) // the request head
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n")
			buf := make([]byte, 64<<10)
			for range 1 << 14 { // at most 1 GiB
				c.SetWriteDeadline(time.Now().Add(10 * time.Second))
				if _, err := c.Write(buf); err != nil {
					return
				}
			}
		})
	}
}
