package vigil_test

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigilhttp/vigil"
	"github.com/vigilhttp/vigil/jst"
)

// jstSite serves a GoAhead-style tree of .asp and .jst pages with routes
// (secUsers as its users) and binds the Ralink-style getCfgGeneral to
// settings. It returns the server, the base URL, the route.txt's
// directory and the log.
func jstSite(t *testing.T, files map[string]string, routes string, settings map[string]string) (*vigil.Server, string, string, *syncBuf) {
	t.Helper()
	srv, base, web, logs := secSite(t, files, nil, routes)
	err := srv.JST("getCfgGeneral", func(c *jst.Call) error {
		v := settings[c.Arg(1)]
		if c.Arg(0) == "1" {
			_, err := c.WriteString(v)
			return err
		}
		c.Return(v)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return srv, base, filepath.Dir(web), logs
}

func TestJSTRoutes(t *testing.T) {
	files := map[string]string{
		"net/lan.asp": `<input name="lanIp" value="<% getCfgGeneral(1, "lanIp"); %>">` + "\n" +
			`<option value="1" <% if (getCfgGeneral(0, "dhcpEnabled") == "1") write("selected"); %>>Server</option>`,
		"status.jst":         `<td><% write(getCfgGeneral(0, "HostName")); %></td>`,
		"vars.asp":           `<% write("hello " + name); %>`,
		"style.css":          `body { color: red }`,
		"broken.asp":         "<p>one</p>\n<p>two</p>\n<% getCfgZer(1, \"x\"); %>\n",
		"fail.asp":           `<% fail(); %>`,
		"big.asp":            `<% big(); %>`,
		"inline/broken.asp":  "<p>before</p><% nope(); %><p>after</p>",
		"safe/host.asp":      `<td><% getCfgGeneral(1, "HostName"); %></td><% write("<b>" + getCfgGeneral(0, "HostName") + "</b>"); %>`,
		"raw/host.asp":       `<td><% getCfgGeneral(1, "HostName"); %></td>`,
		"admin/reboot.asp":   `<p>reboot <% getCfgGeneral(1, "HostName"); %></p>`,
		".hidden.asp":        `secret`,
		"dir.asp/index.html": `a directory`,
	}
	routes := `route uri=/admin/ handler=jst auth=basic abilities=manage
route uri=/safe/ handler=jst escape=html
route uri=/inline/ handler=jst errors=inline
route uri=/ extensions=asp|jst handler=jst
route uri=/
`
	settings := map[string]string{"lanIp": "192.168.1.1", "dhcpEnabled": "1", "HostName": `lab"><script>x</script>`}
	srv, base, _, logs := jstSite(t, files, routes, settings)
	srv.JST("fail", func(c *jst.Call) error { return errors.New("boom") })
	srv.JST("big", func(c *jst.Call) error {
		_, err := c.WriteString(strings.Repeat("x", jst.DefaultMaxOutput+1))
		return err
	})
	tests := []struct {
		name, method, path, user, pw, body string
		want                               int
		has, hasNot                        []string
		ctype                              string
	}{
		{"an .asp page renders with bound functions, inside attribute values", "GET", "/net/lan.asp", "", "", "", 200,
			[]string{`<input name="lanIp" value="192.168.1.1">`, `<option value="1" selected>Server</option>`}, []string{"<%"}, "text/html"},
		{"a .jst page renders too", "GET", "/status.jst", "", "", "", 200,
			[]string{`<td>lab"><script>x</script></td>`}, nil, "text/html"},
		{"HEAD answers without a body", "HEAD", "/status.jst", "", "", "", 200, nil, nil, "text/html"},
		{"query fields are page variables", "GET", "/vars.asp?name=q", "", "", "", 200, []string{"hello q"}, nil, ""},
		{"urlencoded body fields too", "POST", "/vars.asp", "", "", "name=b", 200, []string{"hello b"}, nil, ""},
		{"other files go on to the file rule, unrendered", "GET", "/style.css", "", "", "", 200,
			[]string{"body { color: red }"}, nil, "text/css; charset=utf-8"},
		{"an undefined function is a clean 500", "GET", "/broken.asp", "", "", "", 500, nil, []string{"one", "getCfgZer"}, ""},
		{"a bound function's error is a 500", "GET", "/fail.asp", "", "", "", 500, nil, []string{"boom"}, ""},
		{"output past the bound is a 500 and sends nothing of the page", "GET", "/big.asp", "", "", "", 500, nil, []string{"xxxx"}, ""},
		{"errors=inline answers as GoAhead did", "GET", "/inline/broken.asp", "", "", "", 200,
			[]string{"<p>before</p>", "Javascript Error: undefined function nope"}, []string{"after"}, ""},
		{"escape=html escapes what Go gives the page, not the page's markup", "GET", "/safe/host.asp", "", "", "", 200,
			[]string{`<td>lab&#34;&gt;&lt;script&gt;x&lt;/script&gt;</td>`, `<b>lab&#34;&gt;`}, []string{"<script>"}, ""},
		{"without it the value is raw, as in GoAhead", "GET", "/raw/host.asp", "", "", "", 200,
			[]string{`<td>lab"><script>x</script></td>`}, nil, ""},
		{"a guarded page asks for credentials", "GET", "/admin/reboot.asp", "", "", "", 401, nil, []string{"reboot"}, ""},
		{"and refuses a user without the ability", "GET", "/admin/reboot.asp", "guest", "guestpw", "", 403, nil, []string{"reboot"}, ""},
		{"and renders for one with it", "GET", "/admin/reboot.asp", "root", "rootpw", "", 200, []string{"<p>reboot lab"}, nil, ""},
		{"a missing page is 404", "GET", "/nope.asp", "", "", "", 404, nil, nil, ""},
		{"a dot file is 404, never its source", "GET", "/.hidden.asp", "", "", "", 404, nil, []string{"secret"}, ""},
		{"a directory named like a page is 404", "GET", "/dir.asp", "", "", "", 404, nil, []string{"directory"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h []string
			if tt.body != "" {
				h = []string{"Content-Type", "application/x-www-form-urlencoded"}
			}
			code, body, hdr := sendH(t, tt.method, base+tt.path, tt.user, tt.pw, tt.body, h...)
			if code != tt.want {
				t.Fatalf("%s %s: %d %q, want %d", tt.method, tt.path, code, body, tt.want)
			}
			for _, s := range tt.has {
				if !strings.Contains(body, s) {
					t.Errorf("%s %s: body %q lacks %q", tt.method, tt.path, body, s)
				}
			}
			for _, s := range tt.hasNot {
				if strings.Contains(body, s) {
					t.Errorf("%s %s: body %q has %q", tt.method, tt.path, body, s)
				}
			}
			if tt.ctype != "" && hdr.Get("Content-Type") != tt.ctype {
				t.Errorf("Content-Type %q, want %q", hdr.Get("Content-Type"), tt.ctype)
			}
			if tt.method == "HEAD" && (body != "" || hdr.Get("Content-Length") == "") {
				t.Errorf("HEAD: body %q, Content-Length %q", body, hdr.Get("Content-Length"))
			}
		})
	}
	t.Run("a script error is logged with the page's file and line", func(t *testing.T) {
		for _, want := range []string{"broken.asp:3: undefined function getCfgZer", "fail.asp:1: fail: boom", "inline/broken.asp:1: undefined function nope"} {
			if !strings.Contains(logs.String(), want) {
				t.Errorf("log lacks %q:\n%s", want, logs.String())
			}
		}
	})
}

// sendH is send, also returning the response header.
func sendH(t *testing.T, method, u, user, pw, body string, h ...string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
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
	// A read error is not fatal, as in send: httpd's early 413 for a
	// declared body over limit-body ends its chunked body short.
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func TestJSTReparse(t *testing.T) {
	_, base, home, _ := jstSite(t, map[string]string{"p.asp": "v1 <% getCfgGeneral(1, \"a\"); %>"},
		"route uri=/ handler=jst\n", map[string]string{"a": "A"})
	page := filepath.Join(home, "web", "p.asp")
	get := func() string {
		t.Helper()
		code, body, _ := sendH(t, "GET", base+"/p.asp", "", "", "")
		if code != 200 {
			t.Fatalf("GET /p.asp: %d %q", code, body)
		}
		return body
	}
	if got := get(); got != "v1 A" {
		t.Fatalf("first render %q, want %q", got, "v1 A")
	}
	t.Run("a changed file is parsed again", func(t *testing.T) {
		os.WriteFile(page, []byte("v22 <% getCfgGeneral(1, \"a\"); %>"), 0o644)
		if got := get(); got != "v22 A" {
			t.Fatalf("after the edit %q, want %q", got, "v22 A")
		}
	})
	t.Run("a file of the same size and time stays cached until a reload", func(t *testing.T) {
		fi, err := os.Stat(page)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(page, []byte("v33 <% getCfgGeneral(1, \"a\"); %>"), 0o644)
		os.Chtimes(page, fi.ModTime(), fi.ModTime())
		if got := get(); got != "v22 A" {
			t.Fatalf("before the reload %q, want the cached %q", got, "v22 A")
		}
	})
}

func TestJSTReload(t *testing.T) {
	srv, base, home, _ := jstSite(t, map[string]string{"p.asp": "v1 <% late(); %>"}, "route uri=/ handler=jst\n", nil)
	page := filepath.Join(home, "web", "p.asp")
	t.Run("a function bound after Start is called", func(t *testing.T) {
		if err := srv.JST("late", func(c *jst.Call) error { _, err := c.WriteString("L"); return err }); err != nil {
			t.Fatal(err)
		}
		if code, body, _ := sendH(t, "GET", base+"/p.asp", "", "", ""); code != 200 || body != "v1 L" {
			t.Fatalf("GET: %d %q, want 200 %q", code, body, "v1 L")
		}
	})
	t.Run("a reload (SIGHUP) parses every page again", func(t *testing.T) {
		fi, _ := os.Stat(page)
		os.WriteFile(page, []byte("v2 <% late(); %>"), 0o644)
		os.Chtimes(page, fi.ModTime(), fi.ModTime())
		if err := srv.Reload(); err != nil {
			t.Fatal(err)
		}
		if code, body, _ := sendH(t, "GET", base+"/p.asp", "", "", ""); code != 200 || body != "v2 L" {
			t.Fatalf("GET: %d %q, want 200 %q", code, body, "v2 L")
		}
	})
	t.Run("bindings hold across the reload and a new dir= rule", func(t *testing.T) {
		os.MkdirAll(filepath.Join(home, "other", "x"), 0o755)
		os.WriteFile(filepath.Join(home, "other", "x", "q.jst"), []byte("q <% late(); %>"), 0o644)
		os.WriteFile(filepath.Join(home, "route.txt"), []byte("route uri=/x dir=other handler=jst\nroute uri=/ handler=jst\n"), 0o644)
		if err := srv.Reload(); err != nil {
			t.Fatal(err)
		}
		if code, body, _ := sendH(t, "GET", base+"/x/q.jst", "", "", ""); code != 200 || body != "q L" {
			t.Fatalf("GET: %d %q, want 200 %q", code, body, "q L")
		}
	})
	t.Run("a name no page could call is refused", func(t *testing.T) {
		for _, name := range []string{"", "1x", "a-b", "a.b"} {
			if err := srv.JST(name, func(*jst.Call) error { return nil }); err == nil {
				t.Errorf("JST(%q): no error", name)
			}
		}
	})
}

func TestJSTNeedsRoutes(t *testing.T) {
	srv, err := vigil.New(vigil.Config{Root: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.JST("f", func(*jst.Call) error { return nil }); err == nil {
		t.Error("JST without a route file: no error")
	}
	if err := srv.Form("f", http.NotFoundHandler()); err == nil {
		t.Error("Form without a route file: no error")
	}
}
