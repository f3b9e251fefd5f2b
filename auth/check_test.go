package auth

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	sess := newFakeSessions()
	a := New(Options{Store: mustParse(t, fixture), Sessions: sess})
	sess.users["mary-session"] = "mary"
	sess.users["ghost-session"] = "ghost" // not in the store
	tests := []struct {
		name      string
		scheme    string
		auth      string
		cookie    string
		abilities [][]string
		user      string
		status    int
	}{
		{"a public route (no scheme, no abilities)", "", "", "", nil, "", 200},
		{"abilities without a scheme need a session", "", "", "", [][]string{{"view"}}, "", 401},
		{"a session on a route without scheme", "", "", "mary-session", [][]string{{"view"}}, "mary", 200},
		{"a session comes before Basic credentials", "basic", basicHeader("joshua", "pass1"), "mary-session", nil, "mary", 200},
		{"a session user without the abilities is forbidden", "basic", "", "mary-session", [][]string{{"manage"}}, "mary", 403},
		{"a session of a user not in the store is ignored", "basic", "", "ghost-session", nil, "", 401},
		{"Basic: AND of abilities held", "basic", basicHeader("joshua", "pass1"), "", [][]string{{"manage", "view"}}, "joshua", 200},
		{"Basic: AND with one missing", "basic", basicHeader("mary", "pass2"), "", [][]string{{"view", "manage"}}, "mary", 403},
		{"Basic: OR with one alternative held", "basic", basicHeader("mary", "pass2"), "", [][]string{{"manage"}, {"view"}}, "mary", 200},
		{"Basic: OR with none held", "basic", basicHeader("mary", "pass2"), "", [][]string{{"manage"}, {"purchase"}}, "mary", 403},
		{"the scheme name is case-insensitive", "Basic", basicHeader("joshua", "pass1"), "", nil, "joshua", 200},
		{"an unknown scheme is a server error", "ntlm", basicHeader("joshua", "pass1"), "", nil, "", 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := getWith(tt.auth)
			if tt.cookie != "" {
				r.Header.Set("Cookie", "sid="+tt.cookie)
			}
			w, user, ok := do(a, r, tt.scheme, tt.abilities)
			if user != tt.user || w.Code != tt.status || ok != (tt.status == 200) {
				t.Errorf("Check = %q, %v, status %d; want %q, %d", user, ok, w.Code, tt.user, tt.status)
			}
			if tt.status == 403 && w.Body.String() != "403 forbidden\n" {
				t.Errorf("403 body %q", w.Body)
			}
		})
	}
}

func TestSetStoreSwapsUsers(t *testing.T) {
	a := New(Options{Store: mustParse(t, fixture)})
	if _, _, ok := do(a, getWith(basicHeader("joshua", "pass1")), "basic", nil); !ok {
		t.Fatal("joshua refused")
	}
	next := mustParse(t, "user name=mary password=5b90553bea8ba3686f4239d62801f0f3")
	a.SetStore(next)
	if a.Store() != next {
		t.Error("Store() is not the new store")
	}
	if _, _, ok := do(a, getWith(basicHeader("joshua", "pass1")), "basic", nil); ok {
		t.Error("joshua accepted after removal")
	}
	if _, _, ok := do(a, getWith(basicHeader("mary", "pass2")), "basic", nil); !ok {
		t.Error("mary refused")
	}
	a.SetStore(nil)
	if w, _, ok := do(a, getWith(basicHeader("mary", "pass2")), "basic", nil); ok || w.Code != 401 {
		t.Errorf("a nil store: ok %v, %d", ok, w.Code)
	}
}

func TestZeroOptions(t *testing.T) {
	a := New(Options{})
	if a.Realm() != DefaultRealm {
		t.Errorf("Realm = %q", a.Realm())
	}
	w, _, ok := do(a, getWith(basicHeader("joshua", "pass1")), "basic", nil)
	if ok || w.Code != 401 {
		t.Errorf("no users: ok %v, %d", ok, w.Code)
	}
	if _, st := a.FormLogin(httptest.NewRecorder(), loginRequest("joshua", "pass1")); st != 401 {
		t.Errorf("FormLogin with no users: %d", st)
	}
}

func TestConcurrentChecks(t *testing.T) {
	// Run with -race: the store swap, throttle, nonce memory and counters
	// are shared.
	a, _ := newDigest(t, Options{})
	done := make(chan struct{})
	for i := range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			for j := range 20 {
				switch (i + j) % 4 {
				case 0:
					do(a, getWith(basicHeader("joshua", "pass1")), "basic", nil)
				case 1:
					do(a, getWith(basicHeader("joshua", "wrong")), "basic", nil)
				case 2:
					d := a.Authorize(digestGet(uri, ""), "digest", nil)
					p, _ := parseDigestParams(strings.TrimPrefix(d.Challenges[len(d.Challenges)-1], "Digest "))
					dc := &digestClient{user: "joshua", password: "pass1", realm: p["realm"], alg: "MD5", nonce: p["nonce"], opaque: p["opaque"], cnonce: "c"}
					do(a, digestGet(uri, dc.header("GET", uri)), "digest", nil)
				case 3:
					a.SetStore(a.Store())
					a.Stats()
				}
			}
		}()
	}
	for range 8 {
		<-done
	}
}
