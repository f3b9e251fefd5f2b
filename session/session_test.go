package session

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a settable Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// request returns a GET request carrying the given session cookie values.
func request(values ...string) *http.Request {
	r := httptest.NewRequest("GET", "http://device.example/", nil)
	for _, v := range values {
		r.AddCookie(&http.Cookie{Name: DefaultCookieName, Value: v})
	}
	return r
}

// login logs user in with r and returns the new cookie value.
func login(t *testing.T, s *Store, r *http.Request, user string) string {
	t.Helper()
	w := httptest.NewRecorder()
	if err := s.Login(w, r, user); err != nil {
		t.Fatalf("Login(%q): %v", user, err)
	}
	cs := w.Result().Cookies()
	if len(cs) != 1 || cs[0].Name != s.opts.CookieName {
		t.Fatalf("Login(%q) set cookies %v, want one %s", user, cs, s.opts.CookieName)
	}
	return cs[0].Value
}

// authenticates reports whether the cookie value v is a live session of user.
func authenticates(s *Store, v, user string) bool {
	got, ok := s.User(request(v))
	return ok && got == user
}

// attrs splits a Set-Cookie header into its name=value and sorted attributes.
func attrs(h string) (string, []string) {
	parts := strings.Split(h, "; ")
	a := parts[1:]
	slices.Sort(a)
	return parts[0], a
}

func TestLoginCookie(t *testing.T) {
	tests := []struct {
		name   string
		opts   Options
		tls    bool
		host   string
		header http.Header
		want   []string
	}{
		{
			name: "login over plain HTTP sets HttpOnly, SameSite=Lax and Path=/ but not Secure",
			want: []string{"HttpOnly", "Path=/", "SameSite=Lax"},
		},
		{
			name: "login over TLS adds Secure",
			tls:  true,
			want: []string{"HttpOnly", "Path=/", "SameSite=Lax", "Secure"},
		},
		{
			name: "an IP Host header never becomes a Domain attribute",
			host: "127.0.0.1:8080",
			want: []string{"HttpOnly", "Path=/", "SameSite=Lax"},
		},
		{
			name: "a hostile Host header never becomes a Domain attribute",
			host: "evil.example",
			tls:  true,
			want: []string{"HttpOnly", "Path=/", "SameSite=Lax", "Secure"},
		},
		{
			name: "a Secure func overrides the TLS test, e.g. behind a TLS proxy",
			opts: Options{Secure: func(r *http.Request) bool {
				return r.Header.Get("X-Forwarded-Proto") == "https"
			}},
			header: http.Header{"X-Forwarded-Proto": {"https"}},
			want:   []string{"HttpOnly", "Path=/", "SameSite=Lax", "Secure"},
		},
		{
			name: "a Secure func can withhold Secure even on TLS",
			opts: Options{Secure: func(*http.Request) bool { return false }},
			tls:  true,
			want: []string{"HttpOnly", "Path=/", "SameSite=Lax"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(tt.opts)
			r := request()
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			}
			if tt.host != "" {
				r.Host = tt.host
			}
			for k, v := range tt.header {
				r.Header[k] = v
			}
			w := httptest.NewRecorder()
			if err := s.Login(w, r, "alice"); err != nil {
				t.Fatal(err)
			}
			hs := w.Result().Header.Values("Set-Cookie")
			if len(hs) != 1 {
				t.Fatalf("Set-Cookie headers: %q, want one", hs)
			}
			nv, got := attrs(hs[0])
			if !slices.Equal(got, tt.want) {
				t.Errorf("attributes = %q, want exactly %q", got, tt.want)
			}
			name, value, _ := strings.Cut(nv, "=")
			if name != DefaultCookieName || !validID(value) {
				t.Errorf("cookie = %q, want %s=<43 base64url characters>", nv, DefaultCookieName)
			}
			if !authenticates(s, value, "alice") {
				t.Errorf("the new cookie does not authenticate alice")
			}
		})
	}
}

func TestLoginRejects(t *testing.T) {
	tests := []struct {
		name  string
		user  string
		limit bool
	}{
		{"an empty user name is refused", "", false},
		{"a user name over MaxUserSize is refused", strings.Repeat("u", MaxUserSize+1), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(Options{})
			w := httptest.NewRecorder()
			err := s.Login(w, request(), tt.user)
			if err == nil {
				t.Fatal("Login succeeded")
			}
			if errors.Is(err, ErrLimit) != tt.limit {
				t.Errorf("Login: %v; errors.Is(ErrLimit) = %v, want %v", err, !tt.limit, tt.limit)
			}
			if len(w.Result().Cookies()) != 0 || s.Len() != 0 {
				t.Errorf("a refused login set a cookie or kept a session")
			}
		})
	}
}

func TestLoginRenewsID(t *testing.T) {
	tests := []struct {
		name      string
		firstUser string
		planted   bool // the first id reaches the victim as a planted cookie
	}{
		{"logging in again issues a new id and the old one stops authenticating", "alice", false},
		{"an id planted by an attacker is worthless after the victim logs in", "mallory", true},
		{"a different user logging in on the same browser replaces the session", "bob", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(Options{})
			old := login(t, s, request(), tt.firstUser)
			if err := s.Set(request(old), "k", "v"); err != nil {
				t.Fatal(err)
			}
			renewed := login(t, s, request(old), "alice")
			if renewed == old {
				t.Fatal("Login kept the id the request carried")
			}
			if _, ok := s.User(request(old)); ok {
				t.Errorf("the old id still authenticates after login")
			}
			if !authenticates(s, renewed, "alice") {
				t.Errorf("the new id does not authenticate alice")
			}
			if _, ok := s.Get(request(renewed), "k"); ok {
				t.Errorf("values of the old session leaked into the new one")
			}
			if n := s.Len(); n != 1 {
				t.Errorf("Len = %d, want 1: the old session must be destroyed", n)
			}
		})
	}
}

func TestLogout(t *testing.T) {
	tests := []struct {
		name    string
		session bool
		tls     bool
	}{
		{"logout destroys the session server-side and expires the cookie", true, false},
		{"logout over TLS expires a Secure cookie", true, true},
		{"logout without a session still expires the cookie", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(Options{})
			var v string
			if tt.session {
				v = login(t, s, request(), "alice")
			}
			other := login(t, s, request(), "bob")
			r := request(v)
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			}
			w := httptest.NewRecorder()
			s.Logout(w, r)
			if tt.session && authenticates(s, v, "alice") {
				t.Errorf("the logged-out cookie value still authenticates")
			}
			if !authenticates(s, other, "bob") {
				t.Errorf("logout ended another user's session")
			}
			if n := s.Len(); n != 1 {
				t.Errorf("Len = %d, want 1", n)
			}
			hs := w.Result().Header.Values("Set-Cookie")
			if len(hs) != 1 {
				t.Fatalf("Set-Cookie headers: %q, want one", hs)
			}
			nv, got := attrs(hs[0])
			want := []string{"Expires=Thu, 01 Jan 1970 00:00:00 GMT", "HttpOnly", "Max-Age=0", "Path=/", "SameSite=Lax"}
			if tt.tls {
				want = append(want, "Secure")
			}
			slices.Sort(want)
			if nv != DefaultCookieName+"=" || !slices.Equal(got, want) {
				t.Errorf("Set-Cookie = %q %q, want %q %q", nv, got, DefaultCookieName+"=", want)
			}
		})
	}
}

func TestExpiry(t *testing.T) {
	const idle, life = 30 * time.Minute, 12 * time.Hour
	tests := []struct {
		name  string
		steps []time.Duration // wait, then use the session
		alive bool            // after the last step
	}{
		{"a session used just before the idle timeout lives", []time.Duration{idle - time.Second}, true},
		{"a session unused for the idle timeout ends", []time.Duration{idle}, false},
		{"use resets the idle timer", []time.Duration{20 * time.Minute, 20 * time.Minute, 20 * time.Minute}, true},
		{"a session used every 20 minutes still ends at its lifetime", repeat(20*time.Minute, int(life/(20*time.Minute))), false},
		{"a session used every 20 minutes lives until just before its lifetime", append(repeat(20*time.Minute, int(life/(20*time.Minute))-1), 20*time.Minute-time.Second), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			s := New(Options{IdleTimeout: idle, Lifetime: life, Now: c.Now})
			v := login(t, s, request(), "alice")
			for i, d := range tt.steps {
				c.Add(d)
				ok := authenticates(s, v, "alice")
				if last := i == len(tt.steps)-1; !last && !ok {
					t.Fatalf("session ended early, at step %d", i)
				}
			}
			if ok := authenticates(s, v, "alice"); ok != tt.alive {
				t.Errorf("alive = %v, want %v", ok, tt.alive)
			}
		})
	}
}

func repeat(d time.Duration, n int) []time.Duration {
	s := make([]time.Duration, n)
	for i := range s {
		s[i] = d
	}
	return s
}

func TestExpiredSessionIsRemovedWhenFound(t *testing.T) {
	c := newClock()
	s := New(Options{Now: c.Now})
	v := login(t, s, request(), "alice")
	c.Add(DefaultIdleTimeout)
	if authenticates(s, v, "alice") {
		t.Fatal("an expired session authenticated")
	}
	s.mu.Lock()
	n := len(s.byKey)
	s.mu.Unlock()
	if n != 0 {
		t.Fatalf("the expired session is still held after a request found it")
	}
	c.Add(-time.Hour)
	if authenticates(s, v, "alice") {
		t.Errorf("an expired session came back when the clock went back")
	}
}

func TestEviction(t *testing.T) {
	tests := []struct {
		name    string
		use     []string // users whose sessions are used, in order, after all logged in
		expire  []string // users whose sessions are then made idle-expired
		evicted string   // "" when an expired session makes room
	}{
		{"at the cap the least-recently-used session goes, not the oldest", []string{"a"}, nil, "b"},
		{"with no use since login the oldest is the least recently used", nil, nil, "a"},
		{"every session used: the one used longest ago goes", []string{"c", "a", "b"}, nil, "c"},
		{"an expired session makes room before a live one is evicted", []string{"a", "c"}, []string{"b"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			s := New(Options{MaxSessions: 3, Now: c.Now})
			ids := map[string]string{}
			for _, u := range []string{"a", "b", "c"} {
				ids[u] = login(t, s, request(), u)
				c.Add(time.Second)
			}
			for _, u := range tt.use {
				c.Add(time.Second)
				if !authenticates(s, ids[u], u) {
					t.Fatalf("%s does not authenticate", u)
				}
			}
			if len(tt.expire) > 0 {
				// Age everything by half the idle timeout, use all but the
				// ones to expire, then age by the other half.
				c.Add(DefaultIdleTimeout / 2)
				for _, u := range []string{"a", "b", "c"} {
					if !slices.Contains(tt.expire, u) {
						authenticates(s, ids[u], u)
					}
				}
				c.Add(DefaultIdleTimeout / 2)
			}
			ids["d"] = login(t, s, request(), "d") // never refused
			for _, u := range []string{"a", "b", "c", "d"} {
				want := u != tt.evicted && !slices.Contains(tt.expire, u)
				if got := authenticates(s, ids[u], u); got != want {
					t.Errorf("%s authenticates = %v, want %v", u, got, want)
				}
			}
			if n := s.Len(); n != 3 {
				t.Errorf("Len = %d, want the cap 3", n)
			}
		})
	}
}

// One account logging in in a loop (520 times, past the table's default
// cap) ends only its own oldest sessions: the other users stay logged in.
func TestOneUserCannotFlushTheTable(t *testing.T) {
	s := New(Options{})
	owner := login(t, s, request(), "root")
	other := login(t, s, request(), "operator")
	var ids []string
	for range DefaultMaxSessions + 8 {
		ids = append(ids, login(t, s, request(), "guest"))
	}
	if !authenticates(s, owner, "root") || !authenticates(s, other, "operator") {
		t.Errorf("another user's logins flushed root's or operator's session")
	}
	if n := s.Len(); n != DefaultMaxPerUser+2 {
		t.Errorf("Len = %d, want %d (guest's newest %d, root, operator)", n, DefaultMaxPerUser+2, DefaultMaxPerUser)
	}
	if authenticates(s, ids[len(ids)-DefaultMaxPerUser-1], "guest") {
		t.Errorf("guest's oldest sessions were kept past MaxPerUser")
	}
	for _, id := range ids[len(ids)-DefaultMaxPerUser:] {
		if !authenticates(s, id, "guest") {
			t.Fatalf("one of guest's newest %d sessions was evicted", DefaultMaxPerUser)
		}
	}
	// Logging out keeps the per-user lists right.
	for _, id := range ids[len(ids)-DefaultMaxPerUser:] {
		r := request()
		r.AddCookie(&http.Cookie{Name: DefaultCookieName, Value: id})
		s.Logout(httptest.NewRecorder(), r)
	}
	if n := len(s.byUser); n != 2 {
		t.Errorf("%d users tracked after guest logged out everywhere, want 2", n)
	}
}

func TestCapIsNeverExceeded(t *testing.T) {
	s := New(Options{MaxSessions: 8})
	var last string
	for i := range 100 {
		last = login(t, s, request(), fmt.Sprint("u", i))
		if n := len(s.byKey); n > 8 {
			t.Fatalf("after %d logins %d sessions are held, cap 8", i+1, n)
		}
	}
	if !authenticates(s, last, "u99") {
		t.Errorf("the newest login was evicted")
	}
}

func TestSweep(t *testing.T) {
	c := newClock()
	s := New(Options{Now: c.Now})
	for i := range 10 {
		login(t, s, request(), fmt.Sprint("u", i))
	}
	c.Add(DefaultIdleTimeout / 2)
	keep := login(t, s, request(), "keep")
	c.Add(DefaultIdleTimeout / 2)
	if n := s.Sweep(); n != 10 {
		t.Errorf("Sweep removed %d, want 10", n)
	}
	if n := s.Len(); n != 1 || !authenticates(s, keep, "keep") {
		t.Errorf("Len = %d after Sweep, want only the live session", n)
	}
}

func TestLazySweep(t *testing.T) {
	c := newClock()
	s := New(Options{Now: c.Now})
	for i := range 10 {
		login(t, s, request(), fmt.Sprint("u", i))
	}
	c.Add(DefaultIdleTimeout)
	for range sweepEvery {
		s.User(request()) // requests without a session count as operations
	}
	s.mu.Lock()
	n := len(s.byKey)
	s.mu.Unlock()
	if n != 0 {
		t.Errorf("%d expired sessions still held after %d operations", n, sweepEvery)
	}
}

func TestCookieValues(t *testing.T) {
	s := New(Options{})
	good := login(t, s, request(), "alice")
	flip := []byte(good)
	flip[0] ^= 1
	tests := []struct {
		name    string
		cookies []string // values of cookies named DefaultCookieName
		raw     string   // a raw Cookie header instead
		want    bool
	}{
		{"no cookie is no session", nil, "", false},
		{"an empty cookie is no session", []string{""}, "", false},
		{"a short cookie is no session", []string{good[:42]}, "", false},
		{"a long cookie is no session", []string{good + "A"}, "", false},
		{"an oversized cookie is no session", []string{strings.Repeat("A", 1<<20)}, "", false},
		{"a cookie outside base64url is no session", []string{strings.Repeat("+", 43)}, "", false},
		{"padded base64 is no session", []string{good[:42] + "="}, "", false},
		{"a well-formed unknown id is no session", []string{strings.Repeat("A", 43)}, "", false},
		{"an id one bit off is no session", []string{string(flip)}, "", false},
		{"a quoted id is accepted as the same id", nil, DefaultCookieName + `="` + good + `"`, true},
		{"an id with a NUL is no session", nil, DefaultCookieName + "=" + good[:42] + "\x00", false},
		{"the id under another cookie name is no session", nil, "other=" + good, false},
		{"the valid id after a garbage one still finds the session", []string{"garbage", good}, "", true},
		{"the valid id after an unknown well-formed one still finds the session", []string{strings.Repeat("A", 43), good}, "", true},
		{"the valid id beyond the first four candidates is ignored", []string{
			strings.Repeat("A", 43), strings.Repeat("B", 43), strings.Repeat("C", 43), strings.Repeat("D", 43), good,
		}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := request(tt.cookies...)
			if tt.raw != "" {
				r.Header.Set("Cookie", tt.raw)
			}
			user, ok := s.User(r)
			if ok != tt.want || (ok && user != "alice") {
				t.Errorf("User = %q, %v; want session %v", user, ok, tt.want)
			}
			if tok := s.CSRFToken(r); (tok != "") != tt.want {
				t.Errorf("CSRFToken = %q, want one only with a session", tok)
			}
		})
	}
}

func TestOptions(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		ok   bool
	}{
		{"the zero Options are valid", Options{}, true},
		{"a __Host- cookie name is valid", Options{CookieName: "__Host-vigil"}, true},
		{"a cookie name with a space is refused", Options{CookieName: "a b"}, false},
		{"a cookie name with = is refused", Options{CookieName: "a=b"}, false},
		{"a cookie name with a semicolon is refused", Options{CookieName: "a;b"}, false},
		{"a negative idle timeout is refused", Options{IdleTimeout: -1}, false},
		{"a negative lifetime is refused", Options{Lifetime: -1}, false},
		{"a negative session cap is refused", Options{MaxSessions: -1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opts.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate = %v, want ok %v", err, tt.ok)
			}
			defer func() {
				if p := recover(); (p == nil) != tt.ok {
					t.Errorf("New panicked with %v, want panic %v", p, !tt.ok)
				}
			}()
			New(tt.opts)
		})
	}
}

func TestCustomCookieName(t *testing.T) {
	s := New(Options{CookieName: "__Host-vigil"})
	w := httptest.NewRecorder()
	r := request()
	r.TLS = &tls.ConnectionState{}
	if err := s.Login(w, r, "alice"); err != nil {
		t.Fatal(err)
	}
	c := w.Result().Cookies()[0]
	if c.Name != "__Host-vigil" {
		t.Fatalf("cookie name = %q", c.Name)
	}
	r = request()
	r.AddCookie(c)
	if u, ok := s.User(r); !ok || u != "alice" {
		t.Errorf("User = %q, %v under the custom name", u, ok)
	}
	if _, ok := s.User(request(c.Value)); ok {
		t.Errorf("the id under the default name authenticated")
	}
}

// TestConcurrency runs logins, lookups, values, CSRF checks and logouts from
// many goroutines at a small cap, so eviction races with use. Run with -race.
func TestConcurrency(t *testing.T) {
	const workers, rounds, max = 32, 200, 16
	s := New(Options{MaxSessions: max})
	var wg sync.WaitGroup
	for g := range workers {
		wg.Go(func() {
			user := fmt.Sprint("u", g)
			for i := range rounds {
				w := httptest.NewRecorder()
				if err := s.Login(w, request(), user); err != nil {
					t.Error(err)
					return
				}
				r := request(w.Result().Cookies()[0].Value)
				if u, ok := s.User(r); ok && u != user {
					t.Errorf("%s's cookie authenticated %s", user, u)
					return
				}
				if err := s.Set(r, "n", fmt.Sprint(i)); err != nil && !errors.Is(err, ErrNoSession) {
					t.Error(err)
				}
				s.Get(r, "n")
				if tok := s.CSRFToken(r); tok != "" {
					r.Header.Set(CSRFHeader, tok)
					s.CheckCSRF(r) // may be false if evicted meanwhile
				}
				s.Delete(r, "n")
				if i%3 == 0 {
					s.Logout(httptest.NewRecorder(), r)
				}
				if i%50 == 0 {
					s.Sweep()
					if n := s.Len(); n > max {
						t.Errorf("Len = %d over the cap %d", n, max)
					}
				}
			}
		})
	}
	wg.Wait()
	if n := s.Len(); n > max {
		t.Errorf("Len = %d over the cap %d", n, max)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.byKey) != s.lru.Len() {
		t.Errorf("map holds %d sessions, LRU list %d", len(s.byKey), s.lru.Len())
	}
}

func FuzzCookie(f *testing.F) {
	s := New(Options{})
	w := httptest.NewRecorder()
	if err := s.Login(w, request(), "alice"); err != nil {
		f.Fatal(err)
	}
	good := w.Result().Cookies()[0].Value
	f.Add(DefaultCookieName + "=" + good)
	f.Add(DefaultCookieName + "=" + strings.Repeat("A", 43))
	f.Add(DefaultCookieName + "=; " + DefaultCookieName + "=\"x\"")
	f.Add("")
	f.Fuzz(func(t *testing.T, header string) {
		r := request()
		r.Header.Set("Cookie", header)
		user, ok := s.User(r)
		if ok && user != "alice" {
			t.Fatalf("User = %q", user)
		}
		if ok && !strings.Contains(header, good) {
			t.Fatalf("header %q without the id authenticated", header)
		}
		r.Header.Set(CSRFHeader, header)
		s.CheckCSRF(r)
	})
}
