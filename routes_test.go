package vigil_test

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigilhttp/vigil"
)

// goaheadSite lays out GoAhead's test route.txt (minus jst and cgi, which
// vigil does not have yet) and an auth.txt with its users, and serves them.
func goaheadSite(t *testing.T) (*vigil.Server, string) {
	t.Helper()
	dir := t.TempDir()
	web := filepath.Join(dir, "web")
	for name, body := range map[string]string{
		"index.html":                  "Hello /index.html",
		"auth/basic/admin/index.html": "basic admin area",
		"auth/basic/administrator":    "not the admin area",
		"auth/digest/index.html":      "digest area",
		"auth/form/index.html":        "form area",
		"auth/form/login.html":        "<form method=post action=/action/login>",
		"alias/atest.html":            "alias target",
	} {
		p := filepath.Join(web, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	routes := `route uri=/old-alias/ redirect=/alias/atest.html handler=redirect
route uri=/auth/basic/admin/  auth=basic abilities=manage
route uri=/auth/digest/ auth=digest abilities=view
route uri=/auth/form/login.html
route uri=/action/login methods=POST handler=action redirect=200@/auth/form/index.html redirect=401@/auth/form/login.html
route uri=/action/logout methods=GET|POST handler=action redirect=200@/auth/form/login.html
route uri=/action/csrf methods=GET handler=action
route uri=/auth/form/ auth=form handler=continue abilities=manage redirect=401@/auth/form/login.html
route uri=/ methods=OPTIONS|TRACE handler=options
route uri=/
`
	ha1 := func(user, pw string) string {
		sum := md5.Sum([]byte(user + ":example.com:" + pw))
		return hex.EncodeToString(sum[:])
	}
	users := fmt.Sprintf(`role name=user abilities=view,person
role name=administrator abilities=user,manage
user name=joshua password=%s roles=administrator,purchase
user name=mary password=%s roles=user
`, ha1("joshua", "pass1"), ha1("mary", "pass2"))
	os.WriteFile(filepath.Join(dir, "route.txt"), []byte(routes), 0o644)
	os.WriteFile(filepath.Join(dir, "auth.txt"), []byte(users), 0o600)
	return startLoopback(t, vigil.Config{Root: web, Route: filepath.Join(dir, "route.txt"), Auth: filepath.Join(dir, "auth.txt")})
}

func rawGet(t *testing.T, c *http.Client, u string, h ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(h); i += 2 {
		req.Header.Set(h[i], h[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

func TestRoutesAndLogin(t *testing.T) {
	_, addr := goaheadSite(t)
	base := "http://" + addr
	c := &http.Client{Timeout: 5 * time.Second, CheckRedirect: noRedirects, Transport: &http.Transport{DisableKeepAlives: true}}

	t.Run("every spelling of a protected path asks for credentials", func(t *testing.T) {
		for _, p := range []string{
			"/auth/basic/admin/index.html",
			"//auth/basic/admin/index.html",
			"/auth//basic/admin/index.html",
			"/./auth/basic/admin/index.html",
			"/x/../auth/basic/admin/index.html",
			"/%61uth/basic/admin/index.html",
			"/auth/basic/admin%2findex.html",
			"/auth/basic/admin/./index.html",
			"/auth/basic/admin/",
		} {
			resp, body := rawGet(t, c, base+p)
			if resp.StatusCode != 401 || strings.Contains(body, "basic admin area") {
				t.Errorf("GET %s without credentials: %d %q, want 401", p, resp.StatusCode, body)
			}
		}
	})

	t.Run("a route for /auth/basic/admin does not cover /auth/basic/administrator", func(t *testing.T) {
		resp, body := rawGet(t, c, base+"/auth/basic/administrator")
		if resp.StatusCode != 200 || body != "not the admin area" {
			t.Errorf("got %d %q", resp.StatusCode, body)
		}
	})

	t.Run("basic auth: right password, wrong password, missing ability", func(t *testing.T) {
		for _, tt := range []struct {
			user, pw string
			want     int
		}{{"joshua", "pass1", 200}, {"joshua", "wrong", 401}, {"nobody", "pass1", 401}, {"mary", "pass2", 403}} {
			req, _ := http.NewRequest("GET", base+"/auth/basic/admin/index.html", nil)
			req.SetBasicAuth(tt.user, tt.pw)
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("%s/%s: %d %q, want %d", tt.user, tt.pw, resp.StatusCode, b, tt.want)
			}
			if tt.want == 401 && strings.Contains(string(b), tt.user) {
				t.Errorf("401 body reveals the user: %q", b)
			}
		}
	})

	t.Run("a malformed Authorization header is a 401, never a 500", func(t *testing.T) {
		for _, h := range []string{"Basic", "Basic !!!", "Digest", `Digest username="x`, "Digest " + strings.Repeat("a=b,", 2000), "Bearer x"} {
			resp, _ := rawGet(t, c, base+"/auth/digest/index.html", "Authorization", h)
			if resp.StatusCode != 401 {
				t.Errorf("Authorization %.40q: %d, want 401", h, resp.StatusCode)
			}
		}
	})

	t.Run("digest auth works, and a replayed or forged nonce does not", func(t *testing.T) {
		resp, _ := rawGet(t, c, base+"/auth/digest/index.html")
		var chal string
		for _, v := range resp.Header.Values("WWW-Authenticate") {
			if strings.Contains(v, "MD5") || !strings.Contains(v, "algorithm") {
				chal = v
			}
		}
		nonce := digestParam(chal, "nonce")
		if resp.StatusCode != 401 || nonce == "" {
			t.Fatalf("challenge %d %q", resp.StatusCode, resp.Header.Values("WWW-Authenticate"))
		}
		opaque := digestParam(chal, "opaque")
		authz := func(user, pw, nonce, nc string) string {
			h := func(s string) string { x := md5.Sum([]byte(s)); return hex.EncodeToString(x[:]) }
			cnonce := hex.EncodeToString([]byte(rand.Text())[:8])
			uri := "/auth/digest/index.html"
			resp := h(h(user+":example.com:"+pw) + ":" + nonce + ":" + nc + ":" + cnonce + ":auth:" + h("GET:"+uri))
			s := fmt.Sprintf(`Digest username="%s", realm="example.com", nonce="%s", uri="%s", algorithm=MD5, qop=auth, nc=%s, cnonce="%s", response="%s"`,
				user, nonce, uri, nc, cnonce, resp)
			if opaque != "" {
				s += fmt.Sprintf(`, opaque="%s"`, opaque)
			}
			return s
		}
		a1 := authz("mary", "pass2", nonce, "00000001")
		if resp, body := rawGet(t, c, base+"/auth/digest/index.html", "Authorization", a1); resp.StatusCode != 200 || body != "digest area" {
			t.Fatalf("good digest: %d %q", resp.StatusCode, body)
		}
		if resp, _ := rawGet(t, c, base+"/auth/digest/index.html", "Authorization", a1); resp.StatusCode != 401 {
			t.Errorf("replayed nc: %d, want 401", resp.StatusCode)
		}
		if resp, _ := rawGet(t, c, base+"/auth/digest/index.html", "Authorization", authz("mary", "pass2", nonce, "00000002")); resp.StatusCode != 200 {
			t.Errorf("next nc: %d, want 200", resp.StatusCode)
		}
		if resp, _ := rawGet(t, c, base+"/auth/digest/index.html", "Authorization", authz("mary", "wrong", nonce, "00000003")); resp.StatusCode != 401 {
			t.Errorf("wrong password: %d, want 401", resp.StatusCode)
		}
		forged := "AAAA" + nonce[4:]
		resp, _ = rawGet(t, c, base+"/auth/digest/index.html", "Authorization", authz("mary", "pass2", forged, "00000001"))
		if resp.StatusCode != 401 || strings.Contains(strings.Join(resp.Header.Values("WWW-Authenticate"), " "), "stale=true") {
			t.Errorf("forged nonce: %d %q, want 401 without stale", resp.StatusCode, resp.Header.Values("WWW-Authenticate"))
		}
	})

	t.Run("form login: redirect to the login page, log in, use the session, log out", func(t *testing.T) {
		jar, _ := cookiejar.New(nil)
		fc := &http.Client{Timeout: 5 * time.Second, Jar: jar, CheckRedirect: noRedirects, Transport: &http.Transport{DisableKeepAlives: true}}
		resp, _ := rawGet(t, fc, base+"/auth/form/index.html")
		if resp.StatusCode != 302 || resp.Header.Get("Location") != "/auth/form/login.html" {
			t.Fatalf("unauthenticated: %d to %q, want 302 to the login page", resp.StatusCode, resp.Header.Get("Location"))
		}
		post := func(u string, v url.Values) *http.Response {
			req, _ := http.NewRequest("POST", u, strings.NewReader(v.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			resp, err := fc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return resp
		}
		if resp := post(base+"/action/login", url.Values{"username": {"joshua"}, "password": {"nope"}}); resp.StatusCode != 302 || resp.Header.Get("Location") != "/auth/form/login.html" {
			t.Errorf("bad login: %d to %q, want 302 back to the login page", resp.StatusCode, resp.Header.Get("Location"))
		}
		resp = post(base+"/action/login", url.Values{"username": {"joshua"}, "password": {"pass1"}})
		if resp.StatusCode != 302 || resp.Header.Get("Location") != "/auth/form/index.html" {
			t.Fatalf("good login: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		var sc *http.Cookie
		for _, ck := range resp.Cookies() {
			sc = ck
		}
		if sc == nil || !sc.HttpOnly || sc.Domain != "" || sc.SameSite != http.SameSiteLaxMode {
			t.Errorf("session cookie %+v, want HttpOnly, SameSite=Lax, no Domain", sc)
		}
		if resp, body := rawGet(t, fc, base+"/auth/form/index.html"); resp.StatusCode != 200 || body != "form area" {
			t.Errorf("with the session: %d %q", resp.StatusCode, body)
		}
		// An old browser (no Sec-Fetch-Site, no Origin) must send the
		// session's CSRF token with a state-changing request.
		oldPost := func(token string) int {
			v := url.Values{}
			if token != "" {
				v.Set("csrf_token", token)
			}
			req, _ := http.NewRequest("POST", base+"/auth/form/index.html", strings.NewReader(v.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := fc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		if got := oldPost(""); got != 403 {
			t.Errorf("old-browser POST without a token: %d, want 403", got)
		}
		_, tokJSON := rawGet(t, fc, base+"/action/csrf")
		tok := digestParam(strings.ReplaceAll(tokJSON, `":"`, `="`), "csrf_token")
		if tok == "" {
			t.Fatalf("no token from /action/csrf: %q", tokJSON)
		}
		if got := oldPost(tok); got == 403 {
			t.Errorf("old-browser POST with the token: %d, want it let through", got)
		}
		req, _ := http.NewRequest("POST", base+"/auth/form/index.html", nil)
		req.Header.Set("Origin", "http://evil.example")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		if resp, err := fc.Do(req); err != nil || resp.StatusCode != 403 {
			t.Errorf("cross-origin POST with the session: %v %v, want 403", resp.StatusCode, err)
		} else {
			resp.Body.Close()
		}
		if resp := post(base+"/action/logout", nil); resp.StatusCode != 302 || resp.Header.Get("Location") != "/auth/form/login.html" {
			t.Errorf("logout: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		// The old cookie no longer works, even replayed by hand.
		req, _ = http.NewRequest("GET", base+"/auth/form/index.html", nil)
		req.AddCookie(sc)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 302 {
			t.Errorf("old session cookie after logout: %d, want 302 to login", resp.StatusCode)
		}
	})

	t.Run("OPTIONS lists methods and TRACE is refused", func(t *testing.T) {
		req, _ := http.NewRequest("OPTIONS", base+"/index.html", nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 204 || !strings.Contains(resp.Header.Get("Allow"), "GET") {
			t.Errorf("OPTIONS: %d Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
		}
		req, _ = http.NewRequest("TRACE", base+"/index.html", nil)
		req.Header.Set("Authorization", "Basic c2VjcmV0")
		resp, err = c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 405 || strings.Contains(string(b), "c2VjcmV0") {
			t.Errorf("TRACE: %d %q, want 405 without an echo", resp.StatusCode, b)
		}
	})

	t.Run("a redirect route redirects", func(t *testing.T) {
		resp, _ := rawGet(t, c, base+"/old-alias/")
		if resp.StatusCode != 302 || resp.Header.Get("Location") != "/alias/atest.html" {
			t.Errorf("alias: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})

	t.Run("repeated wrong passwords are throttled with 429", func(t *testing.T) {
		var last int
		for i := 0; i < 12; i++ {
			req, _ := http.NewRequest("GET", base+"/auth/basic/admin/index.html", nil)
			req.SetBasicAuth("joshua", fmt.Sprint("guess", i))
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			last = resp.StatusCode
			if last == 429 {
				if resp.Header.Get("Retry-After") == "" {
					t.Error("429 without Retry-After")
				}
				break
			}
		}
		if last != 429 {
			t.Errorf("after 12 wrong passwords the status is %d, want 429", last)
		}
	})
}

// digestParam returns a parameter of a WWW-Authenticate Digest challenge.
func digestParam(chal, key string) string {
	i := strings.Index(chal, key+`="`)
	if i < 0 {
		return ""
	}
	rest := chal[i+len(key)+2:]
	j := strings.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return rest[:j]
}

// TestRedirectPicksInFileOrder: a handler=redirect rule with several
// redirect= targets answers with the first 3xx (or "*") the file gives,
// every time (a map's order would pick either).
func TestRedirectPicksInFileOrder(t *testing.T) {
	dir := t.TempDir()
	routes := "route uri=/one redirect=301@/a redirect=/b handler=redirect\n" +
		"route uri=/two redirect=/b redirect=301@/a handler=redirect\n"
	os.WriteFile(filepath.Join(dir, "route.txt"), []byte(routes), 0o644)
	_, addr := startLoopback(t, vigil.Config{Root: dir, Route: filepath.Join(dir, "route.txt")})
	c := &http.Client{Timeout: 5 * time.Second, CheckRedirect: noRedirects, Transport: &http.Transport{DisableKeepAlives: true}}
	for range 20 {
		for p, want := range map[string]string{"/one": "301 /a", "/two": "302 /b"} {
			resp, _ := rawGet(t, c, "http://"+addr+p)
			if got := fmt.Sprintf("%d %s", resp.StatusCode, resp.Header.Get("Location")); got != want {
				t.Fatalf("GET %s: %s, want %s", p, got, want)
			}
		}
	}
}
