package route

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

var handlers = []string{"file", "redirect", "continue", "action", "options"}

// goaheadRoutes is GoAhead's test/route.txt, minus the handlers vigil does
// not have yet (jst, cgi).
const goaheadRoutes = `#
#   route.txt - Route configuration
#
route uri=/old-alias/ redirect=/alias/atest.html handler=redirect
route uri=/auth/basic/admin/  auth=basic abilities=manage
route uri=/auth/digest/ auth=digest abilities=view
route uri=/auth/form/login.html
route uri=/action/login methods=POST handler=action redirect=200@/auth/form/index.html redirect=401@/auth/form/login.html
route uri=/action/logout methods=GET|POST handler=action redirect=200@/auth/form/login.html
route uri=/auth/form/ auth=form handler=continue abilities=manage redirect=401@/auth/form/login.html
route uri=/tmp/ methods=PUT|DELETE
route uri=/secure/ protocol=http redirect=https handler=redirect
route uri=/ methods=OPTIONS|TRACE handler=options
route uri=/upload/ limit-body=64MiB stall-timeout=2m min-rate=1KiB handler-timeout=10m
role name=user abilities=view,person
user name=joshua password=2fd6e47ff9bb70c0465fd2f5c8e5305e roles=administrator,purchase
route uri=/
`

func TestParseRules(t *testing.T) {
	rs, err := ParseRules("route.txt", strings.NewReader(goaheadRoutes), handlers)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.Rules) != 12 {
		t.Fatalf("%d rules, want 12", len(rs.Rules))
	}
	login := rs.Rules[4]
	if login.Prefix != "/action/login" || login.Handler != "action" || login.Redirects[200] != "/auth/form/index.html" ||
		login.Redirects[401] != "/auth/form/login.html" || strings.Join(login.Methods, ",") != "POST" || login.Source != "route.txt:8" {
		t.Errorf("login rule = %+v", login)
	}
	up := rs.Rules[10].Policy
	if up.BodyLimit != 64<<20 || up.StallTimeout.Minutes() != 2 || up.MinRate != 1024 || up.HandlerTimeout.Minutes() != 10 {
		t.Errorf("upload policy = %+v", up)
	}
	lines := strings.Split(rs.AuthText, "\n")
	if !strings.HasPrefix(lines[14], "role name=user") || !strings.HasPrefix(lines[15], "user name=joshua") || strings.TrimSpace(lines[3]) != "" {
		t.Errorf("auth text keeps user and role lines at their line numbers: %q", rs.AuthText)
	}

	tests := []struct {
		name, method, path string
		tls                bool
		want               []string // prefixes of the chain
	}{
		{"a plain page falls to the catch-all", "GET", "/index.html", false, []string{"/"}},
		{"the form area checks auth, then continues to the file route", "GET", "/auth/form/index.html", false, []string{"/auth/form/", "/"}},
		{"the login page itself is open", "GET", "/auth/form/login.html", false, []string{"/auth/form/login.html"}},
		{"a prefix never matches a longer segment", "GET", "/auth/basic/administrator", false, []string{"/"}},
		{"dot segments are cleaned before matching", "GET", "/x/../auth/basic/admin/y", false, []string{"/auth/basic/admin/"}},
		{"duplicate slashes are cleaned before matching", "GET", "//auth//digest/x", false, []string{"/auth/digest/"}},
		{"methods restrict a route", "GET", "/action/login", false, []string{"/"}},
		{"PUT reaches only the route that allows it", "PUT", "/tmp/x", false, []string{"/tmp/"}},
		{"PUT elsewhere matches nothing", "PUT", "/x", false, nil},
		{"protocol=http skips TLS requests", "GET", "/secure/x", true, []string{"/"}},
		{"protocol=http matches plain requests", "GET", "/secure/x", false, []string{"/secure/"}},
		{"OPTIONS goes to the options handler", "OPTIONS", "/anything", false, []string{"/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, r := range rs.Lookup(tt.method, tt.path, tt.tls) {
				got = append(got, r.Prefix)
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("Lookup(%s %s) = %v, want %v", tt.method, tt.path, got, tt.want)
			}
			// AppendChain appends the same chain after what dst holds, or
			// leaves dst as it was.
			mark := &Rule{Prefix: "mark"}
			got = got[:0]
			for _, r := range rs.AppendChain([]*Rule{mark}, tt.method, tt.path, tt.tls) {
				got = append(got, r.Prefix)
			}
			if want := append([]string{"mark"}, tt.want...); strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("AppendChain(mark, %s %s) = %v, want %v", tt.method, tt.path, got, want)
			}
		})
	}
}

func TestParseRulesErrors(t *testing.T) {
	tests := []struct{ name, text, want string }{
		{"an unknown key is an error, not a log line", "route uri=/ colour=red", "route.txt:1: colour: unknown key"},
		{"a handler the server lacks fails at load", "\nroute uri=/x handler=jst", `route.txt:2: handler: "jst" is not a handler this server has`},
		{"a route needs a uri", "route handler=file", "route.txt:1: uri: missing"},
		{"a uri must be rooted", "route uri=admin", `route.txt:1: uri: "admin" must start with /`},
		{"a bad duration names the key", "route uri=/ stall-timeout=soon", `route.txt:1: stall-timeout: "soon" is not a duration`},
		{"a bad size names the key", "route uri=/ limit-body=lots", `route.txt:1: limit-body: "lots" is not a size`},
		{"a bad auth scheme", "route uri=/ auth=kerberos", `route.txt:1: auth: "kerberos": want basic, digest or form`},
		{"a bad redirect", "route uri=/ redirect=999@/x", `route.txt:1: redirect: "999@/x"`},
		{"a field without =", "route uri=/ handler", `route.txt:1: "handler": want key=value`},
		{"an unknown directive", "rout uri=/", `route.txt:1: unknown directive "rout"`},
		{"a key given twice", "route uri=/ uri=/x", "route.txt:1: uri: given twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRules("route.txt", strings.NewReader(tt.text), handlers)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("err = %v, want prefix %q", err, tt.want)
			}
		})
	}
}

func FuzzParseRules(f *testing.F) {
	f.Add(goaheadRoutes)
	f.Add("route uri=/a redirect=*@/b abilities=a,b|c extensions=jst,asp")
	f.Fuzz(func(t *testing.T, text string) {
		rs, err := ParseRules("fuzz", strings.NewReader(text), handlers)
		if err != nil {
			return
		}
		for _, r := range rs.Rules {
			if !strings.HasPrefix(r.Prefix, "/") || r.Handler == "" || len(r.Methods) == 0 {
				t.Fatalf("rule %+v from %q", r, text)
			}
			rs.Lookup("GET", text, false)
		}
	})
}

func TestLiveKeys(t *testing.T) {
	hs := []string{"file", "action", "websocket", "events"}
	for _, tc := range []struct {
		name, line string
		want       Live
		action     string
		err        string
	}{
		{"a websocket rule takes its keys, and its name from the uri", "route uri=/ws/live handler=websocket ping=1s pong-timeout=2s max-message=1KiB max-ws=3 origins=a.example|*.b.example",
			Live{Ping: time.Second, PongTimeout: 2 * time.Second, MaxMessage: 1024, MaxConns: 3, Origins: []string{"a.example", "*.b.example"}}, "live", ""},
		{"an events rule takes ping and max-ws", "route uri=/events/feed handler=events ping=5s max-ws=2 action=live",
			Live{Ping: 5 * time.Second, MaxConns: 2}, "live", ""},
		{"pong-timeout is for websockets only", "route uri=/e handler=events pong-timeout=1s", Live{}, "", "pong-timeout: only for handler=websocket"},
		{"ping is for live rules only", "route uri=/f ping=1s", Live{}, "", "ping: only for handler=websocket or handler=events"},
		{"a zero ping is refused", "route uri=/w handler=websocket ping=0s", Live{}, "", "not a positive duration"},
		{"max-ws must be positive", "route uri=/w handler=websocket max-ws=0", Live{}, "", "want a positive count"},
		{"a websocket rule needs a name", "route uri=/ handler=websocket", Live{}, "", "names no endpoint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := ParseRules("route.txt", strings.NewReader(tc.line+"\n"), hs)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			r := rs.Rules[0]
			if !reflect.DeepEqual(r.Live, tc.want) || r.Action != tc.action {
				t.Fatalf("Live = %+v, Action = %q; want %+v, %q", r.Live, r.Action, tc.want, tc.action)
			}
			if r.Policy.HandlerTimeout >= 0 || r.Policy.MinRate >= 0 || r.Policy.TransferTimeout >= 0 {
				t.Fatalf("policy %+v: a live rule has no handler timeout, minimum rate or transfer cap", r.Policy)
			}
		})
	}
}

func TestJSTAndFormRules(t *testing.T) {
	hs := append([]string{"jst", "upload"}, handlers...)
	rs, err := ParseRules("route.txt", strings.NewReader(`route uri=/ extensions=asp handler=jst escape=html errors=inline
route uri=/pages handler=jst
route uri=/goform handler=action
route uri=/goform/setSysAdm handler=action auth=basic
route uri=/goform/upload handler=upload
route uri=/action/x handler=action
route uri=/action/ handler=action
route uri=/
`), hs)
	if err != nil {
		t.Fatal(err)
	}
	r := rs.Rules
	if !r[0].EscapeHTML || !r[0].InlineErrors || strings.Join(r[0].Extensions, ",") != "asp" {
		t.Errorf("rule 1 = %+v, want escape=html errors=inline extensions=asp", r[0])
	}
	if r[1].EscapeHTML || r[1].InlineErrors || strings.Join(r[1].Extensions, ",") != "jst,asp" {
		t.Errorf("rule 2 = %+v, want raw, status errors and the .jst and .asp pages only", r[1])
	}
	if !r[2].Forms || !r[2].Dispatch || r[2].Action != "" {
		t.Errorf("uri=/goform = %+v, want the forms dispatcher", r[2])
	}
	if !r[3].Forms || r[3].Dispatch || r[3].Action != "setSysAdm" || !r[4].Forms || r[4].Action != "upload" {
		t.Errorf("/goform/NAME rules = %+v %+v, want forms binding NAME", r[3], r[4])
	}
	if r[5].Forms || r[5].Action != "x" || r[6].Forms || !r[6].Dispatch {
		t.Errorf("/action rules = %+v %+v, want actions: x bound, /action/ the dispatcher", r[5], r[6])
	}
	for _, tt := range []struct{ name, line, want string }{
		{"escape= only on handler=jst", "route uri=/ escape=html", "route.txt:1: escape: only for handler=jst"},
		{"errors= only on handler=jst", "route uri=/ handler=action errors=inline", "route.txt:1: errors: only for handler=jst"},
		{"escape= takes html or none", "route uri=/ handler=jst escape=js", `route.txt:1: escape: "js": want html or none`},
		{"errors= takes inline or status", "route uri=/ handler=jst errors=500", `route.txt:1: errors: "500": want inline or status`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRules("route.txt", strings.NewReader(tt.line), hs)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error %v, want it to start %q", err, tt.want)
			}
		})
	}
	t.Run("a jst rule covers its pages only", func(t *testing.T) {
		for p, want := range map[string]string{"/pages/a.jst": "route.txt:2", "/pages/a.asp": "route.txt:1", "/pages/a.css": "route.txt:8", "/b.asp": "route.txt:1"} {
			if m, ok := rs.Match("GET", p, false); !ok || m.Source != want {
				t.Errorf("%s matched %+v, want the rule at %s", p, m, want)
			}
		}
	})
}
