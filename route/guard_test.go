package route

import (
	"strings"
	"testing"
)

func parse(t *testing.T, text string) *Rules {
	t.Helper()
	rs, err := ParseRules("route.txt", strings.NewReader(text), append(handlers, "upload"))
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func chainOf(rs *Rules, method, p string) string {
	var got []string
	for _, r := range rs.Lookup(method, p, false) {
		got = append(got, r.Source)
	}
	return strings.Join(got, " ")
}

func TestGuardsCoverEveryMethod(t *testing.T) {
	rs := parse(t, `route uri=/store/ auth=digest handler=continue abilities=admin
route uri=/store/ methods=GET|HEAD|PUT|DELETE|PATCH
route uri=/panel abilities=operate
route uri=/view/ methods=GET auth=basic handler=continue
route uri=/ methods=GET|POST|PUT|DELETE|OPTIONS
`)
	tests := []struct{ name, method, path, want string }{
		{"a guarding continue rule without methods= guards PATCH", "PATCH", "/store/a", "route.txt:1 route.txt:2"},
		{"and DELETE", "DELETE", "/store/a", "route.txt:1 route.txt:2"},
		{"and GET, as before", "GET", "/store/a", "route.txt:1 route.txt:2"},
		{"a guarding handling rule guards the methods it does not handle", "PUT", "/panel/x", "route.txt:3 route.txt:5"},
		{"and OPTIONS", "OPTIONS", "/panel", "route.txt:3 route.txt:5"},
		{"a guard with methods= narrows on purpose", "PUT", "/view/x", "route.txt:5"},
		{"a guard with methods= still guards its own", "GET", "/view/x", "route.txt:4 route.txt:5"},
		{"an unguarded path is not touched", "DELETE", "/other", "route.txt:5"},
		{"the guard holds for a later rule too", "POST", "/store/a", "route.txt:1 route.txt:5"},
		{"a guard alone handles nothing", "TRACE", "/store/a", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := chainOf(rs, tt.method, tt.path); got != tt.want {
				t.Errorf("Lookup(%s %s) = %q, want %q", tt.method, tt.path, got, tt.want)
			}
		})
	}
	// Match, the policy route, is the handling rule and never a guard.
	if r, ok := rs.Match("PUT", "/panel/x", false); !ok || r.Source != "route.txt:5" {
		t.Errorf("Match(PUT /panel/x) = %v, %v; want route.txt:5", r, ok)
	}
}

func TestWarningsNameUnguardedMethods(t *testing.T) {
	rs := parse(t, `route uri=/view/ methods=GET|HEAD auth=basic handler=continue
route uri=/view/ methods=GET|HEAD|PUT
route uri=/all/ auth=basic handler=continue
route uri=/ methods=GET|DELETE
`)
	w := rs.Warnings()
	if len(w) != 2 || !strings.HasPrefix(w[0], "route.txt:2: PUT on /view/ is served without the auth of route.txt:1") ||
		!strings.HasPrefix(w[1], "route.txt:4: DELETE on /view/ is served without the auth of route.txt:1") {
		t.Errorf("Warnings = %q", w)
	}
}

func TestActionBinding(t *testing.T) {
	rs := parse(t, `route uri=/action/flash handler=upload abilities=view
route uri=/action/wipe handler=action abilities=manage
route uri=/api/state handler=action
route uri=/cgi-bin/apply.cgi handler=action action=apply
route uri=/hooks/ handler=action action=*
route uri=/action handler=action
`)
	want := []struct {
		action   string
		dispatch bool
	}{{"flash", false}, {"wipe", false}, {"state", false}, {"apply", false}, {"", true}, {"", true}}
	for i, w := range want {
		if r := rs.Rules[i]; r.Action != w.action || r.Dispatch != w.dispatch {
			t.Errorf("%s: Action %q Dispatch %v, want %q %v", r.Source, r.Action, r.Dispatch, w.action, w.dispatch)
		}
	}
	for _, bad := range []struct{ text, want string }{
		{"route uri=/x action=y", "action: only for handler=action, upload, websocket or events"},
		{"route uri=/ handler=action", "names no action"},
		{"route uri=/a handler=action action=b/c", `action: "b/c": want a name`},
		{"route uri=/a limit-parts=9", "limit-parts: only for handler=upload"},
		{"route uri=/a handler=upload limit-parts=0", `limit-parts: "0"`},
		{"route uri=/a symlinks=maybe", `symlinks: "maybe"`},
	} {
		_, err := ParseRules("route.txt", strings.NewReader(bad.text), append(handlers, "upload"))
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: err = %v, want %q", bad.text, err, bad.want)
		}
	}
}

// AppendServed matches base+suf exactly as AppendChain matches the joined
// path, without building it.
func TestAppendServedIsAppendChainOfTheJoinedPath(t *testing.T) {
	rs := parse(t, `route uri=/ extensions=html|cfg auth=basic
route uri=/etc/wan.conf abilities=manage
route uri=/etc/wan.conf.gz/ abilities=x
route uri=/ind abilities=y
route uri=/
`)
	for _, c := range []struct{ base, suf string }{
		{"/panel/", "index.html"}, {"/panel/", "index.html.gz"}, {"/etc/wan.conf", ".gz"}, {"/etc/wan", ".conf"},
		{"/", "index.html"}, {"/x.cfg", ".gz"}, {"/in", "d/x"}, {"/ind", ".gz"}, {"/etc/wan.conf.gz", ""},
	} {
		var a, b []string
		for _, r := range rs.AppendServed(nil, "GET", c.base, c.suf, false) {
			a = append(a, r.Source)
		}
		for _, r := range rs.AppendChain(nil, "GET", c.base+c.suf, false) {
			b = append(b, r.Source)
		}
		if strings.Join(a, " ") != strings.Join(b, " ") {
			t.Errorf("AppendServed(%q, %q) = %v, AppendChain(%q) = %v", c.base, c.suf, a, c.base+c.suf, b)
		}
	}
}

func FuzzCovers2(f *testing.F) {
	f.Add("/a/b", "/a", "/b")
	f.Add("/etc/x.conf", "/etc/x", ".conf")
	f.Add("/", "/", "index.html")
	f.Fuzz(func(t *testing.T, prefix, base, suf string) {
		if got, want := covers2(prefix, base, suf), Covers(prefix, base+suf); got != want {
			t.Fatalf("covers2(%q, %q, %q) = %v, Covers of the joined path %v", prefix, base, suf, got, want)
		}
	})
}
