package vigil_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilhttp/vigil"
)

// The holes an attacker found (issue 14), by class. Each site is built
// from its own route.txt; the users are the same everywhere.

const secUsers = `role name=viewer abilities=view
role name=admin abilities=view,manage
user name=root password=%s roles=admin
user name=guest password=%s roles=viewer
`

// secSite serves web (files, then symbolic links name → target) with
// routes and secUsers (root/rootpw, guest/guestpw). It returns the server,
// the base URL, the document root and the log.
func secSite(t *testing.T, files, links map[string]string, routes string) (*vigil.Server, string, string, *syncBuf) {
	t.Helper()
	dir := t.TempDir()
	web := filepath.Join(dir, "web")
	os.MkdirAll(web, 0o755)
	for name, body := range files {
		p := filepath.Join(web, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, target := range links {
		p := filepath.Join(web, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	ha1 := func(user, pw string) string {
		sum := md5.Sum([]byte(user + ":example.com:" + pw))
		return hex.EncodeToString(sum[:])
	}
	os.WriteFile(filepath.Join(dir, "route.txt"), []byte(routes), 0o644)
	os.WriteFile(filepath.Join(dir, "auth.txt"), []byte(fmt.Sprintf(secUsers, ha1("root", "rootpw"), ha1("guest", "guestpw"))), 0o600)
	logs := &syncBuf{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, addr := startLoopback(t, vigil.Config{Root: web, Route: filepath.Join(dir, "route.txt"), Auth: filepath.Join(dir, "auth.txt"),
		UploadDir: filepath.Join(dir, "uploads"), Logger: log})
	return srv, "http://" + addr, web, logs
}

// send makes one request; user "" sends no credentials. It returns the
// status and body.
func send(t *testing.T, method, u, user, pw string, body io.Reader, h ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, pw)
	}
	for i := 0; i+1 < len(h); i += 2 {
		req.Header.Set(h[i], h[i+1])
	}
	c := &http.Client{Timeout: 5 * time.Second, CheckRedirect: noRedirects, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Item 1: an action runs only from the rule that binds it.
func TestActionRunsOnlyFromItsRule(t *testing.T) {
	srv, base, _, _ := secSite(t, nil, nil, `route uri=/action/flash methods=POST handler=upload auth=basic abilities=view
route uri=/action/factory-reset methods=POST handler=action auth=basic abilities=manage
route uri=/api/info methods=GET|POST handler=action
route uri=/cgi-bin/apply.cgi methods=POST handler=action action=apply auth=basic abilities=manage
route uri=/action handler=action
route uri=/
`)
	var mu sync.Mutex
	ran := map[string]int{}
	for _, name := range []string{"flash", "factory-reset", "info", "apply", "ping"} {
		srv.Action(name, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			ran[name]++
			mu.Unlock()
			fmt.Fprint(w, "ran "+name)
		}))
	}
	tests := []struct {
		name, method, path, user, pw string
		want                         int
		ran                          string // the action that must have run, "" for none
	}{
		{"a view-only user cannot reach a manage action below its own upload route", "POST", "/action/flash/factory-reset", "guest", "guestpw", 404, ""},
		{"deeper still", "POST", "/action/flash/x/factory-reset", "guest", "guestpw", 404, ""},
		{"a public action route selects no other action", "POST", "/api/info/factory-reset", "", "", 404, ""},
		{"with GET neither", "GET", "/api/info/apply", "", "", 404, ""},
		{"the public dispatcher does not run an action another rule guards", "POST", "/action/apply", "", "", 404, ""},
		{"a guarded action on its own rule asks for credentials", "POST", "/action/factory-reset", "", "", 401, ""},
		{"and refuses a user without the ability", "POST", "/action/factory-reset", "guest", "guestpw", 403, ""},
		{"and runs for one with it", "POST", "/action/factory-reset", "root", "rootpw", 200, "factory-reset"},
		{"an explicit action= key binds its name", "POST", "/cgi-bin/apply.cgi", "root", "rootpw", 200, "apply"},
		{"the public action runs at its uri", "POST", "/api/info", "", "", 200, "info"},
		{"the dispatcher runs an action no rule binds", "POST", "/action/ping", "", "", 200, "ping"},
		{"but only one segment below it", "POST", "/action/ping/info", "", "", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			clear(ran)
			mu.Unlock()
			code, body := send(t, tt.method, base+tt.path, tt.user, tt.pw, strings.NewReader(""), "Content-Type", "application/octet-stream")
			mu.Lock()
			defer mu.Unlock()
			if code != tt.want {
				t.Errorf("%s %s: %d %q, want %d", tt.method, tt.path, code, body, tt.want)
			}
			for name, n := range ran {
				if name != tt.ran && n > 0 {
					t.Errorf("%s %s ran %q", tt.method, tt.path, name)
				}
			}
			if tt.ran != "" && ran[tt.ran] != 1 {
				t.Errorf("%s %s: %q ran %d times, want once", tt.method, tt.path, tt.ran, ran[tt.ran])
			}
		})
	}
}

// Item 3: a guarding rule guards every method unless methods= narrows it.
func TestGuardingRuleGuardsEveryMethod(t *testing.T) {
	_, base, web, logs := secSite(t, map[string]string{"store/keep.txt": "kept", "panel/cfg.txt": "cfg"}, nil,
		`route uri=/store/ auth=basic handler=continue abilities=manage
route uri=/store/ methods=GET|HEAD|PUT|DELETE
route uri=/panel/ abilities=manage auth=basic
route uri=/view/ methods=GET auth=basic handler=continue
route uri=/ methods=GET|HEAD|PUT|DELETE
`)
	for _, tt := range []struct {
		method, path string
		want         int
	}{{"PUT", "/store/new.txt", 401}, {"DELETE", "/store/keep.txt", 401}, {"GET", "/store/keep.txt", 401},
		{"PUT", "/panel/new.txt", 401}, {"DELETE", "/panel/cfg.txt", 401}} {
		if code, _ := send(t, tt.method, base+tt.path, "", "", strings.NewReader("x")); code != tt.want {
			t.Errorf("%s %s without credentials: %d, want %d", tt.method, tt.path, code, tt.want)
		}
	}
	if _, err := os.Stat(filepath.Join(web, "store", "keep.txt")); err != nil {
		t.Errorf("an unauthenticated DELETE removed the file: %v", err)
	}
	if code, _ := send(t, "PUT", base+"/store/new.txt", "guest", "guestpw", strings.NewReader("x")); code != 403 {
		t.Errorf("PUT by a user without manage: %d, want 403", code)
	}
	if code, _ := send(t, "PUT", base+"/store/new.txt", "root", "rootpw", strings.NewReader("x")); code != 201 {
		t.Errorf("PUT by the admin: %d, want 201", code)
	}
	if !strings.Contains(logs.String(), "PUT|DELETE on /view/ is served without the auth of") {
		t.Errorf("no warning for the narrowed guard on /view/; log:\n%s", logs)
	}
}

// Item 4: what is checked is what is served: an index file and a .gz
// sibling pass the rules of their own names.
func TestServedFileIsTheCheckedFile(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("wan secrets"))
	zw.Close()
	_, base, _, _ := secSite(t, map[string]string{
		"panel/index.html": "panel", "etc/wan.conf": "wan secrets", "etc/wan.conf.gz": gz.String(),
		"etc/lan.ini": "lan", "etc/lan.ini.gz": gz.String(), "pub/readme.txt": "open",
	}, nil, `route uri=/ extensions=html|conf auth=basic abilities=view
route uri=/etc/lan.ini auth=digest abilities=manage
route uri=/
`)
	for _, tt := range []struct {
		path string
		h    []string
	}{
		{"/panel/", nil},
		{"/panel/index.html", nil},
		{"/etc/wan.conf.gz", nil},
		{"/etc/wan.conf", []string{"Accept-Encoding", "gzip"}},
		{"/etc/lan.ini.gz", nil},
	} {
		if code, body := send(t, "GET", base+tt.path, "", "", nil, tt.h...); code != 401 {
			t.Errorf("GET %s without credentials: %d %q, want 401", tt.path, code, body)
		}
	}
	if code, body := send(t, "GET", base+"/panel/", "guest", "guestpw", nil); code != 200 || body != "panel" {
		t.Errorf("GET /panel/ as guest: %d %q", code, body)
	}
	if code, _ := send(t, "GET", base+"/pub/readme.txt", "", "", nil); code != 200 {
		t.Errorf("an unguarded file: %d", code)
	}
}

// Item 11: symbolic links neither escape the root nor carry a protected
// file out from under its rule.
func TestSymlinksStayUnderTheirRule(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "shadow")
	os.WriteFile(outside, []byte("outside"), 0o644)
	_, base, _, logs := secSite(t,
		map[string]string{"vault/key.txt": "the key", "pub/real.txt": "real", "pub/sub/b.txt": "b", "mirror/x": "x"},
		map[string]string{
			"pub/key.txt":    "../vault/key.txt",
			"pub/vault":      "../vault",
			"pub/same.txt":   "real.txt",
			"pub/dir":        "sub",
			"pub/escape.txt": outside,
			"mirror/key.txt": "../vault/key.txt",
		},
		`route uri=/vault/ auth=basic abilities=manage
route uri=/mirror/ symlinks=follow
route uri=/
`)
	for _, tt := range []struct {
		path string
		want int
		body string
	}{
		{"/pub/key.txt", 404, ""},
		{"/pub/vault/key.txt", 404, ""},
		{"/pub/escape.txt", 404, ""},
		{"/pub/same.txt", 200, "real"},
		{"/pub/dir/b.txt", 200, "b"},
		{"/mirror/key.txt", 200, "the key"}, // symlinks=follow: the admin said so
	} {
		code, body := send(t, "GET", base+tt.path, "", "", nil)
		if code != tt.want || (tt.body != "" && body != tt.body) {
			t.Errorf("GET %s: %d %q, want %d %q", tt.path, code, body, tt.want, tt.body)
		}
	}
	if code, body := send(t, "GET", base+"/vault/key.txt", "root", "rootpw", nil); code != 200 || body != "the key" {
		t.Errorf("the protected file under its own rule: %d %q", code, body)
	}
	l := logs.String()
	if strings.Contains(l, "level=ERROR") {
		t.Errorf("an ERROR line for a refused link:\n%s", l)
	}
	if !strings.Contains(l, "level=DEBUG msg=\"vigil: symbolic link refused") {
		t.Errorf("no Debug line for a refused link:\n%s", l)
	}
}

// Item 9: logout changes state and is protected as such; a junk
// Authorization header does not lift a session's CSRF requirement.
func TestSessionCSRF(t *testing.T) {
	_, base, _, _ := secSite(t, map[string]string{"cfg/a.txt": "a"}, nil, `route uri=/action/login methods=POST handler=action
route uri=/action/logout methods=GET|POST handler=action
route uri=/action/csrf methods=GET handler=action
route uri=/cfg/ auth=form abilities=manage handler=continue
route uri=/cfg/ methods=GET|PUT
route uri=/
`)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 5 * time.Second, CheckRedirect: noRedirects}
	do := func(method, path string, body io.Reader, h ...string) int {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, body)
		for i := 0; i+1 < len(h); i += 2 {
			req.Header.Set(h[i], h[i+1])
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	login := func() {
		t.Helper()
		if code := do("POST", "/action/login", strings.NewReader(url.Values{"username": {"root"}, "password": {"rootpw"}}.Encode()),
			"Content-Type", "application/x-www-form-urlencoded"); code != 204 {
			t.Fatalf("login: %d", code)
		}
	}
	loggedIn := func() bool { return do("GET", "/cfg/a.txt", nil) == 200 }
	login()
	if code := do("GET", "/action/logout", nil); code != 405 || !loggedIn() {
		t.Errorf("GET /action/logout: %d, logged in %v; want 405 and still logged in", code, loggedIn())
	}
	if code := do("POST", "/action/logout", nil, "Sec-Fetch-Site", "cross-site"); code != 403 || !loggedIn() {
		t.Errorf("a cross-site POST /action/logout: %d, logged in %v; want 403 and still logged in", code, loggedIn())
	}
	if code := do("POST", "/action/logout", nil, "Origin", "http://evil.example"); code != 403 || !loggedIn() {
		t.Errorf("POST /action/logout from another origin: %d; want 403", code)
	}
	if code := do("POST", "/action/logout", nil); code != 403 || !loggedIn() {
		t.Errorf("POST /action/logout without Fetch metadata or token: %d; want 403", code)
	}
	if code := do("PUT", "/cfg/b.txt", strings.NewReader("x"), "Authorization", "Basic Zm9vOmJhcg=="); code != 403 {
		t.Errorf("a session PUT with a junk Authorization header and no token: %d, want 403", code)
	}
	if code := do("PUT", "/cfg/b.txt", strings.NewReader("x"), "Authorization", "Bearer junk"); code != 403 {
		t.Errorf("a session PUT with a Bearer junk header and no token: %d, want 403", code)
	}
	tok := csrfToken(t, c, base)
	if code := do("PUT", "/cfg/b.txt", strings.NewReader("x"), "X-CSRF-Token", tok); code != 201 {
		t.Errorf("a session PUT with the token: %d, want 201", code)
	}
	if code := do("POST", "/action/logout", nil, "X-CSRF-Token", tok); code != 204 || loggedIn() {
		t.Errorf("POST /action/logout with the token: %d, logged in %v; want 204, logged out", code, loggedIn())
	}
	login()
	if code := do("POST", "/action/logout", nil, "Sec-Fetch-Site", "same-origin"); code != 204 || loggedIn() {
		t.Errorf("a same-origin POST /action/logout: %d; want 204, logged out", code)
	}
}

// Item 6: a truncated upload is never answered as a success.
func TestTruncatedBodiesAreNotSuccess(t *testing.T) {
	srv, base, web, _ := secSite(t, nil, nil, "route uri=/action/img methods=POST handler=upload\nroute uri=/drop/ methods=PUT\nroute uri=/\n")
	os.MkdirAll(filepath.Join(web, "drop"), 0o755)
	ran := false
	srv.Action("img", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ran = true }))
	addr := strings.TrimPrefix(base, "http://")
	for _, tt := range []struct{ name, req string }{
		{"a PUT that declares 1,000 bytes and sends 10", "PUT /drop/f.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n0123456789"},
		{"an upload that declares 900 bytes and sends 40", "POST /action/img HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 900\r\n\r\n" + strings.Repeat("u", 40)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			io.WriteString(conn, tt.req)
			conn.(*net.TCPConn).CloseWrite()
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("no response: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != 400 {
				t.Errorf("status %d, want 400", resp.StatusCode)
			}
		})
	}
	if ran {
		t.Error("the upload's action ran for a truncated body")
	}
	if _, err := os.Stat(filepath.Join(web, "drop", "f.bin")); err == nil {
		t.Error("the truncated PUT created the file")
	}
}

// Item 2: a route's limit-parts= reaches the upload.
func TestUploadPartsLimitFromRoute(t *testing.T) {
	srv, base, _, logs := secSite(t, nil, nil, "route uri=/action/cfg methods=POST handler=upload limit-parts=5\nroute uri=/\n")
	srv.Action("cfg", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, len(vigil.Uploaded(r).Values)) }))
	form := func(n int) (io.Reader, string) {
		var b bytes.Buffer
		for i := range n {
			fmt.Fprintf(&b, "--B\r\nContent-Disposition: form-data; name=\"k%d\"\r\n\r\nv\r\n", i)
		}
		b.WriteString("--B--\r\n")
		return &b, "multipart/form-data; boundary=B"
	}
	body, ct := form(5)
	if code, got := send(t, "POST", base+"/action/cfg", "", "", body, "Content-Type", ct); code != 200 || got != "5" {
		t.Errorf("5 parts: %d %q", code, got)
	}
	body, ct = form(6)
	if code, _ := send(t, "POST", base+"/action/cfg", "", "", body, "Content-Type", ct); code != 413 {
		t.Errorf("6 parts on limit-parts=5: %d, want 413", code)
	}
	if !strings.Contains(logs.String(), "more than 5 parts") {
		t.Errorf("no log line for the refusal:\n%s", logs)
	}
}

// csrfToken fetches the session's token from /action/csrf.
func csrfToken(t *testing.T, c *http.Client, base string) string {
	t.Helper()
	resp, err := c.Get(base + "/action/csrf")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	_, rest, _ := strings.Cut(string(b), `"csrf_token":"`)
	tok, _, _ := strings.Cut(rest, `"`)
	if tok == "" {
		t.Fatalf("no CSRF token in %q", b)
	}
	return tok
}
