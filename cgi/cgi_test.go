package cgi

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// logBuf is a concurrency-safe log sink for assertions on log lines.
type logBuf struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// site is a CGI route served on a real loopback server.
type site struct {
	dir  string
	srv  *httptest.Server
	h    *Handler
	logs *logBuf
}

func (s *site) opts() Options { return s.h.opts }

func newSite(t *testing.T, opts Options) *site {
	t.Helper()
	s := &site{dir: t.TempDir(), logs: &logBuf{}}
	opts.Dir = s.dir
	opts.Prefix = "/cgi-bin"
	opts.Logger = slog.New(slog.NewTextHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s.h = New(opts)
	s.srv = httptest.NewServer(s.h)
	t.Cleanup(s.srv.Close)
	return s
}

func (s *site) client() *http.Client {
	c := s.srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

func (s *site) get(t *testing.T, path string, hdr map[string]string) (*http.Response, string, error) {
	t.Helper()
	req, err := http.NewRequest("GET", s.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := s.client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, string(body), err
}

// gone reports whether pid no longer runs (absent, or a zombie left to init).
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); err == syscall.ESRCH {
		return true
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	if i := bytes.LastIndexByte(b, ')'); i >= 0 && i+2 < len(b) {
		return b[i+2] == 'Z'
	}
	return false
}

// waitGone polls until pid is gone and returns how long that took, failing
// the test after within.
func waitGone(t *testing.T, pid int, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for !gone(pid) {
		if time.Since(start) > within {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("pid %d still alive after %v", pid, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

// waitGroupGone polls until kill(-pgid, 0) reports ESRCH.
func waitGroupGone(t *testing.T, pgid int, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for syscall.Kill(-pgid, 0) != syscall.ESRCH {
		if time.Since(start) > within {
			syscall.Kill(-pgid, syscall.SIGKILL)
			t.Fatalf("process group %d still exists after %v", pgid, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

func envLines(body string) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(body, "\n") {
		if k, v, ok := strings.Cut(l, "="); ok && k != "ARG" {
			m[k] = v
		}
	}
	return m
}

func args(body string) []string {
	var a []string
	for _, l := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(l, "ARG="); ok {
			a = append(a, v)
		}
	}
	return a
}

func TestEnvironment(t *testing.T) {
	s := newSite(t, Options{Env: []string{"PATH=/usr/bin:/bin", "LD_PRELOAD=/evil.so", "FOO=bar"}})
	install(t, s.dir, "env", "env")

	t.Run("RFC 3875 variables are set and parameters never become variables", func(t *testing.T) {
		resp, body, err := s.get(t, "/cgi-bin/env/extra/path?LD_PRELOAD=/proc/self/fd/0&x=1", map[string]string{
			"X-Ld-Preload":  "/proc/self/fd/0",
			"Authorization": "Basic am9zaHVhOnBhc3Mx",
			"Proxy":         "http://evil:8080",
			"X-Custom":      "v1",
			"X_Custom":      "spoof",
		})
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("status %d, err %v", resp.StatusCode, err)
		}
		env := envLines(body)
		want := map[string]string{
			"GATEWAY_INTERFACE": "CGI/1.1",
			"SERVER_SOFTWARE":   "vigil",
			"SERVER_PROTOCOL":   "HTTP/1.1",
			"SERVER_NAME":       "127.0.0.1",
			"REQUEST_METHOD":    "GET",
			"SCRIPT_NAME":       "/cgi-bin/env",
			"PATH_INFO":         "/extra/path",
			"PATH_TRANSLATED":   s.dir + "/extra/path",
			"QUERY_STRING":      "LD_PRELOAD=/proc/self/fd/0&x=1",
			"REMOTE_ADDR":       "127.0.0.1",
			"HTTP_X_CUSTOM":     "v1",
			"HTTP_X_LD_PRELOAD": "/proc/self/fd/0",
			"PATH":              "/usr/bin:/bin",
			"FOO":               "bar",
		}
		for k, v := range want {
			if env[k] != v {
				t.Errorf("%s = %q, want %q", k, env[k], v)
			}
		}
		for _, k := range []string{"SERVER_PORT", "REMOTE_PORT"} {
			if env[k] == "" {
				t.Errorf("%s missing", k)
			}
		}
		for k := range env {
			for _, p := range forbiddenPrefixes {
				if strings.HasPrefix(k, p) {
					t.Errorf("loader variable %s reached the child", k)
				}
			}
		}
		for _, k := range []string{"HTTP_AUTHORIZATION", "HTTP_PROXY", "X", "LD_PRELOAD"} {
			if _, ok := env[k]; ok {
				t.Errorf("%s reached the child", k)
			}
		}
		if len(args(body)) != 0 {
			t.Errorf("argv %q from a query with '='", args(body))
		}
		if !strings.Contains(s.logs.String(), "dropped loader variable") {
			t.Errorf("no warning for LD_PRELOAD in Env; logs:\n%s", s.logs)
		}
	})

	t.Run("a query never becomes argv, whatever its shape", func(t *testing.T) {
		for _, q := range []string{
			"-d+auto_prepend_file%3d/etc/passwd+-s", // php-cgi, CVE-2012-1823
			"a+b%20c+%2Bd",
			"--help",
			"-n+-dallow_url_include%3don",
			"%2Dx",
			strings.Repeat("x+", 100) + "x",
		} {
			_, body, _ := s.get(t, "/cgi-bin/env?"+q, nil)
			if got := args(body); len(got) != 0 {
				t.Errorf("?%s reached the child as argv %q", q, got)
			}
			if !strings.Contains(body, "QUERY_STRING="+q+"\n") {
				t.Errorf("?%s: the query is not in QUERY_STRING", q)
			}
		}
	})

	t.Run("PATH_TRANSLATED stays inside Dir", func(t *testing.T) {
		_, body, _ := s.get(t, "/cgi-bin/env/a/../../../etc/passwd", nil)
		if got := envLines(body)["PATH_TRANSLATED"]; got != s.dir+"/etc/passwd" {
			t.Errorf("PATH_TRANSLATED = %q", got)
		}
	})

	t.Run("Authorization passes only when asked", func(t *testing.T) {
		s2 := newSite(t, Options{PassAuthorization: true})
		install(t, s2.dir, "env", "env")
		_, body, _ := s2.get(t, "/cgi-bin/env", map[string]string{"Authorization": "Basic eA=="})
		env := envLines(body)
		if env["HTTP_AUTHORIZATION"] != "Basic eA==" {
			t.Errorf("HTTP_AUTHORIZATION = %q", env["HTTP_AUTHORIZATION"])
		}
		if env["PATH"] != "/usr/local/bin:/usr/bin:/bin" {
			t.Errorf("default PATH = %q", env["PATH"])
		}
	})
}

func TestPostBodyEcho(t *testing.T) {
	s := newSite(t, Options{})
	install(t, s.dir, "echo", "echo")
	payload := strings.Repeat("0123456789", 50<<10) // 500 KiB: more than a pipe buffer
	resp, err := s.client().Post(s.srv.URL+"/cgi-bin/echo", "application/octet-stream", strings.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil || string(got) != payload {
		t.Fatalf("echo: %d bytes (want %d), err %v", len(got), len(payload), err)
	}
}

func TestStatusAndLocation(t *testing.T) {
	s := newSite(t, Options{})
	install(t, s.dir, "status", "status")
	install(t, s.dir, "location", "location")
	install(t, s.dir, "stderr", "stderr")

	resp, body, err := s.get(t, "/cgi-bin/status", nil)
	if err != nil || resp.StatusCode != 404 || body != "nope" || resp.Header.Get("X-Extra") != "yes" {
		t.Errorf("status: %d %q %v %v", resp.StatusCode, body, resp.Header, err)
	}
	resp, _, _ = s.get(t, "/cgi-bin/location", nil)
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/elsewhere" {
		t.Errorf("location: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body, _ = s.get(t, "/cgi-bin/stderr", nil)
	if resp.StatusCode != 200 || body != "ok" {
		t.Errorf("stderr child: %d %q", resp.StatusCode, body)
	}
	if !strings.Contains(s.logs.String(), "something went wrong") {
		t.Errorf("stderr not logged:\n%s", s.logs)
	}
}

func TestBadGateway(t *testing.T) {
	s := newSite(t, Options{MaxHeaderBytes: 1024})
	install(t, s.dir, "badhdr", "badhdr")
	install(t, s.dir, "noheader", "noheader")
	install(t, s.dir, "bighdr", "bighdr")
	os.WriteFile(s.dir+"/cgi-bin/badexec", []byte("#!/nonexistent/interpreter\n"), 0o755)
	for _, name := range []string{"badhdr", "noheader", "bighdr", "badexec"} {
		t.Run(name+" answers 502", func(t *testing.T) {
			resp, _, _ := s.get(t, "/cgi-bin/"+name, nil)
			if resp.StatusCode != http.StatusBadGateway {
				t.Errorf("status %d, want 502", resp.StatusCode)
			}
		})
	}
}

func TestHeaderTimeoutKillsGroup(t *testing.T) {
	s := newSite(t, Options{HeaderTimeout: 300 * time.Millisecond})
	pidfile := install(t, s.dir, "silent", "silent")
	start := time.Now()
	resp, _, _ := s.get(t, "/cgi-bin/silent", nil)
	elapsed := time.Since(start)
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("status %d, want 502", resp.StatusCode)
	}
	if elapsed < 300*time.Millisecond || elapsed > 1500*time.Millisecond {
		t.Errorf("502 after %v, want ≈300ms", elapsed)
	}
	pid := readPid(t, pidfile)
	d := waitGroupGone(t, pid, time.Second)
	t.Logf("502 after %v; process group gone %v later", elapsed, d)
	if !strings.Contains(s.logs.String(), "header timeout") {
		t.Errorf("no header-timeout log:\n%s", s.logs)
	}
}

func TestOutputCapCutsAndKills(t *testing.T) {
	const max = 1 << 20
	s := newSite(t, Options{MaxOutput: max})
	pidfile := install(t, s.dir, "flood", "flood")
	start := time.Now()
	resp, body, err := s.get(t, "/cgi-bin/flood", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if err == nil {
		t.Errorf("response ended cleanly after %d bytes; want a cut", len(body))
	}
	if len(body) > max {
		t.Errorf("%d bytes reached the client, cap %d", len(body), max)
	}
	pid := readPid(t, pidfile)
	d := waitGroupGone(t, pid, time.Second)
	t.Logf("cut after %d bytes in %v (err %v); group gone %v later", len(body), time.Since(start), err, d)
}

// A grandchild that leaves the process group (setsid) is killed too: the
// child runs in a PID namespace of its own (as root; otherwise the test
// skips, as the limit is documented).
func TestGrandchildThatCallsSetsidKilled(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for CLONE_NEWPID; without it a setsid grandchild can outlive its request (documented)")
	}
	s := newSite(t, Options{})
	pidfile := install(t, s.dir, "daemon", "setsid")
	resp, body, err := s.get(t, "/cgi-bin/daemon", nil)
	if err != nil || resp.StatusCode != 200 || body != "detached" {
		t.Fatalf("%d %q %v", resp.StatusCode, body, err)
	}
	gpid := readPid(t, pidfile)
	d := waitGone(t, gpid, time.Second)
	t.Logf("setsid grandchild %d gone %v after the response", gpid, d)
	if strings.Contains(s.logs.String(), "PID namespace") {
		t.Errorf("the PID namespace was not used as root:\n%s", s.logs)
	}
}

func TestGrandchildKilled(t *testing.T) {
	s := newSite(t, Options{})
	pidfile := install(t, s.dir, "fork", "fork")
	resp, body, err := s.get(t, "/cgi-bin/fork", nil)
	if err != nil || resp.StatusCode != 200 || body != "forked" {
		t.Fatalf("%d %q %v", resp.StatusCode, body, err)
	}
	gpid := readPid(t, pidfile)
	d := waitGone(t, gpid, time.Second)
	t.Logf("grandchild %d gone %v after the response", gpid, d)
}

func TestClosedStdoutCompletesTheResponse(t *testing.T) {
	s := newSite(t, Options{RunTimeout: 30 * time.Second})
	pidfile := install(t, s.dir, "closeout", "closeout")
	start := time.Now()
	resp, body, err := s.get(t, "/cgi-bin/closeout", nil)
	elapsed := time.Since(start)
	if err != nil || resp.StatusCode != 200 || body != "done" {
		t.Fatalf("%d %q %v", resp.StatusCode, body, err)
	}
	if elapsed > time.Second {
		t.Errorf("the response took %v: a child that closed stdout and lives on held it (run timeout 30 s)", elapsed)
	}
	d := waitGroupGone(t, readPid(t, pidfile), time.Second)
	t.Logf("response complete after %v; child gone %v later", elapsed.Round(time.Millisecond), d)
}

func TestClientGoneKillsChild(t *testing.T) {
	s := newSite(t, Options{})
	pidfile := install(t, s.dir, "slow", "slow")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.srv.URL+"/cgi-bin/slow", nil)
	resp, err := s.client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len("partial\n"))
	if _, err := io.ReadFull(resp.Body, buf); err != nil {
		t.Fatal(err)
	}
	pid := readPid(t, pidfile)
	cancel()
	resp.Body.Close()
	d := waitGroupGone(t, pid, time.Second)
	t.Logf("child gone %v after the client went away", d)
}

func TestRunTimeoutAfterHeaderCuts(t *testing.T) {
	s := newSite(t, Options{RunTimeout: 500 * time.Millisecond})
	pidfile := install(t, s.dir, "slow", "slow")
	start := time.Now()
	resp, body, err := s.get(t, "/cgi-bin/slow", nil)
	elapsed := time.Since(start)
	if resp.StatusCode != 200 || body != "partial\n" || err == nil {
		t.Errorf("%d %q err %v; want 200, partial body, cut", resp.StatusCode, body, err)
	}
	if elapsed < 500*time.Millisecond || elapsed > 2*time.Second {
		t.Errorf("cut after %v, want ≈500ms", elapsed)
	}
	d := waitGroupGone(t, readPid(t, pidfile), time.Second)
	t.Logf("cut after %v; group gone %v later", elapsed, d)
}

func TestNotFound(t *testing.T) {
	dir := t.TempDir()
	install(t, dir, "env", "env")
	os.WriteFile(dir+"/cgi-bin/noexec", []byte("#!/bin/sh\necho hi\n"), 0o644)
	os.Mkdir(dir+"/cgi-bin/adir", 0o755)
	os.Symlink("/bin/sh", dir+"/cgi-bin/escape")
	os.WriteFile(dir+"/secret", []byte("#!/bin/sh\necho secret\n"), 0o755)
	h := New(Options{Dir: dir, Prefix: "/cgi-bin"})
	for _, p := range []string{
		"/cgi-bin/", "/cgi-bin/..", "/cgi-bin/...", "/cgi-bin/../secret", "/cgi-bin/..\\secret",
		"/cgi-bin/a\x00b", "/cgi-bin/noexec", "/cgi-bin/adir", "/cgi-bin/escape", "/cgi-bin/missing",
		"/other/env", "/cgi-binenv",
	} {
		t.Run(strconv.Quote(p)+" is 404", func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.URL.Path = p
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusNotFound {
				t.Errorf("status %d, want 404", w.Code)
			}
		})
	}
	t.Run("the valid name runs", func(t *testing.T) {
		r := httptest.NewRequest("GET", "/cgi-bin/env", nil)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 || !strings.Contains(w.Body.String(), "GATEWAY_INTERFACE=CGI/1.1") {
			t.Errorf("status %d body %q", w.Code, w.Body.String())
		}
	})
}

func TestStalledBodyDoesNotHoldTheHandler(t *testing.T) {
	s := newSite(t, Options{})
	install(t, s.dir, "status", "status") // exits without reading stdin
	conn, err := net.Dial("tcp", s.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(3 * time.Second))
	start := time.Now()
	io.WriteString(conn, "POST /cgi-bin/status HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n0123456789")
	// The client never sends the rest of its body.
	resp, err := io.ReadAll(conn)
	if err != nil {
		t.Fatalf("read: %v (after %v)", err, time.Since(start))
	}
	if !strings.HasPrefix(string(resp), "HTTP/1.1 404") || !strings.Contains(string(resp), "nope") {
		t.Errorf("response %q", resp)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("connection released after %v", d)
	} else {
		t.Logf("response and close after %v with the body stalled", d)
	}
}

func TestChildrenBound(t *testing.T) {
	s := newSite(t, Options{Children: NewSlots(2), RunTimeout: 5 * time.Second})
	install(t, s.dir, "sleep", "sleep")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cl := s.client() // one client for every goroutine (client() sets its fields)
	for range 2 {    // two children at the bound, sleeping
		req, _ := http.NewRequestWithContext(ctx, "GET", s.srv.URL+"/cgi-bin/sleep", nil)
		go func() {
			if resp, err := cl.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
	}
	deadline := time.Now().Add(3 * time.Second)
	for len(s.opts().Children.c) < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	t0 := time.Now()
	resp, err := cl.Get(s.srv.URL + "/cgi-bin/sleep")
	if err == nil {
		resp.Body.Close()
	}
	if err != nil || resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("a third child: %v %v, want 503 with Retry-After", resp, err)
	}
	if d := time.Since(t0); d > 500*time.Millisecond {
		t.Errorf("the 503 took %v, want at once", d)
	}
}
