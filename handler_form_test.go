package vigil_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilhttp/vigil"
)

// GoAhead 2.x forms: /goform/NAME runs the form registered as NAME, from
// the rule that binds it or the /goform dispatcher, never an action.
func TestGoform(t *testing.T) {
	srv, base, _, logs := secSite(t, nil, nil, `route uri=/goform/setSysAdm methods=POST handler=action auth=basic abilities=manage
route uri=/goform/small methods=POST handler=action limit-body=64
route uri=/goform handler=action
route uri=/action handler=action
route uri=/
`)
	var mu sync.Mutex
	ran := map[string]int{}
	record := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			ran[name]++
			mu.Unlock()
			fmt.Fprintf(w, "%s user=%s mode=%s", name, vigil.FormVar(r, "user", "-"), vigil.FormVar(r, "mode", "none"))
		})
	}
	for _, name := range []string{"setSysAdm", "small", "setWan"} {
		if err := srv.Form(name, record("form "+name)); err != nil {
			t.Fatal(err)
		}
	}
	srv.Action("setWan", record("action setWan"))
	srv.Action("ping", record("action ping"))
	form := "application/x-www-form-urlencoded"
	tests := []struct {
		name, method, path, user, pw, body string
		want                               int
		ran, says                          string // the handler that must have run ("" for none), and what it answers
	}{
		{"the dispatcher runs a registered form", "POST", "/goform/setWan", "", "", "user=ann&mode=dhcp", 200,
			"form setWan", "form setWan user=ann mode=dhcp"},
		{"GET runs it too, with the query's fields", "GET", "/goform/setWan?user=bo", "", "", "", 200,
			"form setWan", "form setWan user=bo mode=none"},
		{"query and body both count, the query's values first, joined by a space", "POST", "/goform/setWan?mode=a", "", "", "mode=b&user=c", 200,
			"form setWan", "form setWan user=c mode=a b"},
		{"an unregistered form is 404", "POST", "/goform/nope", "", "", "", 404, "", ""},
		{"an action is never reached through /goform", "POST", "/goform/ping", "", "", "", 404, "", ""},
		{"a form is never reached through /action", "POST", "/action/setSysAdm", "", "", "", 404, "", ""},
		{"an action of a form's name stays an action", "POST", "/action/setWan", "", "", "", 200, "action setWan", "action setWan user=- mode=none"},
		{"the built-in actions are not forms", "POST", "/goform/logout", "", "", "", 404, "", ""},
		{"only one segment below the dispatcher", "POST", "/goform/setWan/x", "", "", "", 404, "", ""},
		{"the dispatcher does not run a form another rule guards", "POST", "/goform/setSysAdm/", "", "", "", 401, "", ""},
		{"a guarded form asks for credentials", "POST", "/goform/setSysAdm", "", "", "user=x", 401, "", ""},
		{"and refuses a user without the ability", "POST", "/goform/setSysAdm", "guest", "guestpw", "user=x", 403, "", ""},
		{"and runs for one with it", "POST", "/goform/setSysAdm", "root", "rootpw", "user=x", 200, "form setSysAdm", "form setSysAdm user=x mode=none"},
		{"a body within its rule's limit-body is read", "POST", "/goform/small", "", "", "user=" + strings.Repeat("a", 50), 200,
			"form small", "form small user=" + strings.Repeat("a", 50) + " mode=none"},
		{"a body over it is 413 and the form does not run", "POST", "/goform/small", "", "", "user=" + strings.Repeat("a", 100), 413, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			clear(ran)
			mu.Unlock()
			code, body, _ := sendH(t, tt.method, base+tt.path, tt.user, tt.pw, tt.body, "Content-Type", form)
			mu.Lock()
			defer mu.Unlock()
			if code != tt.want {
				t.Fatalf("%s %s: %d %q, want %d", tt.method, tt.path, code, body, tt.want)
			}
			for name, n := range ran {
				if name != tt.ran && n > 0 {
					t.Errorf("%s %s ran %q", tt.method, tt.path, name)
				}
			}
			if tt.ran != "" && (ran[tt.ran] != 1 || body != tt.says) {
				t.Errorf("%s %s: %q ran %d times and said %q, want once saying %q", tt.method, tt.path, tt.ran, ran[tt.ran], body, tt.says)
			}
		})
	}
	t.Run("an unregistered form is logged at Debug with its name", func(t *testing.T) {
		if !strings.Contains(logs.String(), `no form nope registered`) {
			t.Errorf("log lacks the reason:\n%s", logs.String())
		}
	})
	t.Run("a form name with a slash is refused", func(t *testing.T) {
		if err := srv.Form("a/b", http.NotFoundHandler()); err == nil {
			t.Error("Form(a/b): no error")
		}
	})
}

// A body that is over the limit but declares no length is cut by httpd's
// reader while the fields are parsed: 413 still, and nothing runs.
func TestGoformChunkedBodyOverLimit(t *testing.T) {
	srv, base, _, _ := secSite(t, nil, nil, "route uri=/goform methods=POST handler=action limit-body=32\n")
	ran := false
	srv.Form("f", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ran = true }))
	body := url.Values{"v": {strings.Repeat("z", 200)}}.Encode()
	req, _ := http.NewRequest("POST", base+"/goform/f", struct{ *strings.Reader }{strings.NewReader(body)})
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 || ran {
		t.Fatalf("status %d, form ran %v; want 413 and not run", resp.StatusCode, ran)
	}
}
