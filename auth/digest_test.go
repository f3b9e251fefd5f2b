package auth

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

// digestClient computes RFC 7616 credentials the way a browser does, from
// a challenge; independent of the server's code but for parsing the
// challenge.
type digestClient struct {
	user, password, realm string
	alg                   string // as sent: MD5, SHA-256, MD5-sess
	nonce, opaque         string
	cnonce                string
	nc                    int
}

func (c *digestClient) h(parts ...string) string {
	var x hash.Hash = md5.New()
	if strings.HasPrefix(c.alg, "SHA-256") {
		x = sha256.New()
	}
	x.Write([]byte(strings.Join(parts, ":")))
	return hex.EncodeToString(x.Sum(nil))
}

// header returns the next Authorization value (nc incremented).
func (c *digestClient) header(method, uri string) string {
	c.nc++
	nc := fmt.Sprintf("%08x", c.nc)
	ha1 := c.h(c.user, c.realm, c.password)
	if strings.HasSuffix(c.alg, "-sess") {
		ha1 = c.h(ha1, c.nonce, c.cnonce)
	}
	resp := c.h(ha1, c.nonce, nc, c.cnonce, "auth", c.h(method, uri))
	return fmt.Sprintf(`Digest username="%s", realm="%s", nonce="%s", uri="%s", algorithm=%s, response="%s", opaque="%s", qop=auth, nc=%s, cnonce="%s"`,
		c.user, c.realm, c.nonce, uri, c.alg, resp, c.opaque, nc, c.cnonce)
}

// challenge returns the parameters of the WWW-Authenticate Digest value
// for alg.
func challenge(t *testing.T, w *httptest.ResponseRecorder, alg string) map[string]string {
	t.Helper()
	for _, v := range w.Header().Values("WWW-Authenticate") {
		p, err := parseDigestParams(strings.TrimPrefix(v, "Digest "))
		if err != nil {
			t.Fatalf("challenge %q: %v", v, err)
		}
		if p["algorithm"] == alg {
			return p
		}
	}
	t.Fatalf("no %s challenge in %q", alg, w.Header().Values("WWW-Authenticate"))
	return nil
}

// login gets a challenge and returns a client for it.
func login(t *testing.T, a *Authenticator, user, password, alg string) *digestClient {
	t.Helper()
	challengeAlg := strings.TrimSuffix(alg, "-sess")
	w, _, ok := do(a, digestGet("/auth/digest/index.html", ""), "digest", nil)
	if ok || w.Code != 401 {
		t.Fatalf("no 401 challenge: %d", w.Code)
	}
	p := challenge(t, w, challengeAlg)
	return &digestClient{user: user, password: password, realm: p["realm"], alg: alg, nonce: p["nonce"], opaque: p["opaque"], cnonce: "0a4f113b"}
}

func digestGet(uri, auth string) *http.Request {
	r := httptest.NewRequest("GET", uri, nil)
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	return r
}

func newDigest(t *testing.T, o Options) (*Authenticator, *clock) {
	c := newClock()
	if o.Store == nil {
		o.Store = mustParse(t, fixture)
	}
	o.Now = c.Now
	return New(o), c
}

const uri = "/auth/digest/index.html"

func TestDigestChallenge(t *testing.T) {
	a, _ := newDigest(t, Options{})
	w, _, _ := do(a, digestGet(uri, ""), "digest", nil)
	got := w.Header().Values("WWW-Authenticate")
	if len(got) != 2 || !strings.Contains(got[0], "algorithm=SHA-256") || !strings.Contains(got[1], "algorithm=MD5") {
		t.Fatalf("WWW-Authenticate = %q, want SHA-256 then MD5", got)
	}
	for _, alg := range []string{"SHA-256", "MD5"} {
		p := challenge(t, w, alg)
		if p["realm"] != "example.com" || p["qop"] != "auth" || p["opaque"] == "" || p["stale"] != "" {
			t.Errorf("%s challenge %v", alg, p)
		}
		if _, ok := a.openNonce(p["nonce"]); !ok {
			t.Errorf("%s challenge nonce does not open", alg)
		}
	}
	w2, _, _ := do(a, digestGet(uri, ""), "digest", nil)
	if challenge(t, w, "MD5")["nonce"] == challenge(t, w2, "MD5")["nonce"] {
		t.Error("two challenges share a nonce")
	}
	t.Run("a store without sha256 users offers MD5 only", func(t *testing.T) {
		a := New(Options{Store: mustParse(t, "user name=u password=2fd6e47ff9bb70c0465fd2f5c8e5305e")})
		w, _, _ := do(a, digestGet(uri, ""), "digest", nil)
		if got := w.Header().Values("WWW-Authenticate"); len(got) != 1 || !strings.Contains(got[0], "algorithm=MD5") {
			t.Errorf("WWW-Authenticate = %q", got)
		}
	})
	t.Run("a store with only sha256 users offers SHA-256 only", func(t *testing.T) {
		a := New(Options{Store: mustParse(t, "user name=u password=sha256:d37bca3f10b2a10bdecf0b9165b87f01cb8d9408a604f9dda1f0e51da1da43b8")})
		w, _, _ := do(a, digestGet(uri, ""), "digest", nil)
		if got := w.Header().Values("WWW-Authenticate"); len(got) != 1 || !strings.Contains(got[0], "algorithm=SHA-256") {
			t.Errorf("WWW-Authenticate = %q", got)
		}
	})
	t.Run("a realm with a quote is escaped", func(t *testing.T) {
		a := New(Options{Realm: `my "box"`})
		w, _, _ := do(a, digestGet(uri, ""), "digest", nil)
		p := challenge(t, w, "MD5")
		if p["realm"] != `my "box"` {
			t.Errorf("realm parsed back as %q from %q", p["realm"], w.Header().Values("WWW-Authenticate"))
		}
	})
}

func TestDigest(t *testing.T) {
	tests := []struct {
		name, user, password, alg string
		ok                        bool
	}{
		{"MD5 with GoAhead's joshua/pass1", "joshua", "pass1", "MD5", true},
		{"MD5-sess", "joshua", "pass1", "MD5-sess", true},
		{"SHA-256 with a sha256: user", "sam", "pass1", "SHA-256", true},
		{"SHA-256-sess with a sha256: user", "sam", "pass1", "SHA-256-sess", true},
		{"MD5 with a wrong password", "joshua", "pass2", "MD5", false},
		{"MD5 for an unknown user", "nobody", "pass1", "MD5", false},
		{"SHA-256 for a user stored as MD5", "joshua", "pass1", "SHA-256", false},
		{"MD5 for a user stored as sha256", "sam", "pass1", "MD5", false},
		{"MD5 for a bcrypt user", "brenda", "pass1", "MD5", false},
		{"MD5 for a BF1 user", "bob", "pass1", "MD5", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, _ := newDigest(t, Options{})
			c := login(t, a, tt.user, tt.password, tt.alg)
			w, user, ok := do(a, digestGet(uri, c.header("GET", uri)), "digest", nil)
			if ok != tt.ok || (ok && user != tt.user) {
				t.Fatalf("Check = %q, %v (status %d), want ok %v", user, ok, w.Code, tt.ok)
			}
			if !ok {
				if w.Code != 401 || strings.Contains(strings.Join(w.Header().Values("WWW-Authenticate"), " "), "stale") {
					t.Errorf("status %d, WWW-Authenticate %q: want 401 without stale", w.Code, w.Header().Values("WWW-Authenticate"))
				}
				if got := a.Stats().Failures; got != 1 {
					t.Errorf("Failures = %d, want 1", got)
				}
				return
			}
			// The next request of the same client, nc 2, is fine too.
			if _, _, ok := do(a, digestGet(uri, c.header("GET", uri)), "digest", nil); !ok {
				t.Error("the second request (nc=2) was refused")
			}
		})
	}
}

func TestDigestRefuses(t *testing.T) {
	tests := []struct {
		name   string
		mangle func(t *testing.T, a *Authenticator, c *clock, dc *digestClient) *http.Request
		stale  bool
		stat   func(Stats) uint64
	}{
		{
			name: "a replayed request (same nc)",
			mangle: func(t *testing.T, a *Authenticator, _ *clock, dc *digestClient) *http.Request {
				h := dc.header("GET", uri)
				if _, _, ok := do(a, digestGet(uri, h), "digest", nil); !ok {
					t.Fatal("the first use failed")
				}
				return digestGet(uri, h)
			},
			stale: true,
			stat:  func(s Stats) uint64 { return s.DigestReplays },
		},
		{
			name: "a lower nc than seen",
			mangle: func(t *testing.T, a *Authenticator, _ *clock, dc *digestClient) *http.Request {
				dc.nc = 5
				if _, _, ok := do(a, digestGet(uri, dc.header("GET", uri)), "digest", nil); !ok {
					t.Fatal("nc=6 failed")
				}
				dc.nc = 2
				return digestGet(uri, dc.header("GET", uri))
			},
			stale: true,
			stat:  func(s Stats) uint64 { return s.DigestReplays },
		},
		{
			name: "a forged nonce (bad HMAC)",
			mangle: func(_ *testing.T, _ *Authenticator, _ *clock, dc *digestClient) *http.Request {
				b := []byte(dc.nonce)
				b[len(b)-3] ^= 'A' ^ 'B' // keep it base64url either way
				if b[len(b)-3] == dc.nonce[len(b)-3] {
					b[len(b)-3] = 'C'
				}
				dc.nonce = string(b)
				return digestGet(uri, dc.header("GET", uri))
			},
			stat: func(s Stats) uint64 { return s.DigestForged },
		},
		{
			name: "a nonce made with another secret",
			mangle: func(_ *testing.T, a *Authenticator, c *clock, dc *digestClient) *http.Request {
				other := New(Options{Secret: []byte("another secret, same realm"), Now: c.Now})
				dc.nonce = other.newNonce(c.Now())
				return digestGet(uri, dc.header("GET", uri))
			},
			stat: func(s Stats) uint64 { return s.DigestForged },
		},
		{
			name: "GoAhead 2.x's predictable nonce",
			mangle: func(_ *testing.T, _ *Authenticator, _ *clock, dc *digestClient) *http.Request {
				dc.nonce = "b25jZXVwb25hdGltZWlucGFyYWRpc2U6ZXhhbXBsZS5jb206NjkyNmQ2MDA6MA"
				return digestGet(uri, dc.header("GET", uri))
			},
			stat: func(s Stats) uint64 { return s.DigestForged },
		},
		{
			name: "an expired nonce with the right password",
			mangle: func(_ *testing.T, _ *Authenticator, c *clock, dc *digestClient) *http.Request {
				c.Advance(DefaultNonceLifetime + time.Second)
				return digestGet(uri, dc.header("GET", uri))
			},
			stale: true,
			stat:  func(s Stats) uint64 { return s.DigestStale },
		},
		{
			name: "an expired nonce with a wrong password",
			mangle: func(_ *testing.T, _ *Authenticator, c *clock, dc *digestClient) *http.Request {
				c.Advance(DefaultNonceLifetime + time.Second)
				dc.password = "pass2"
				return digestGet(uri, dc.header("GET", uri))
			},
			stat: func(s Stats) uint64 { return s.Failures },
		},
		{
			name: "a different realm",
			mangle: func(_ *testing.T, _ *Authenticator, _ *clock, dc *digestClient) *http.Request {
				dc.realm = "other.example"
				return digestGet(uri, dc.header("GET", uri))
			},
			stat: func(s Stats) uint64 { return s.Malformed },
		},
		{
			name: "credentials for another URI",
			mangle: func(_ *testing.T, _ *Authenticator, _ *clock, dc *digestClient) *http.Request {
				return digestGet("/auth/digest/admin/", dc.header("GET", uri))
			},
			stat: func(s Stats) uint64 { return s.Malformed },
		},
		{
			name: "credentials for another method",
			mangle: func(_ *testing.T, _ *Authenticator, _ *clock, dc *digestClient) *http.Request {
				r := digestGet(uri, dc.header("GET", uri))
				r.Method = "POST"
				return r
			},
			stat: func(s Stats) uint64 { return s.Failures },
		},
		{
			name: "a wrong opaque",
			mangle: func(_ *testing.T, _ *Authenticator, _ *clock, dc *digestClient) *http.Request {
				dc.opaque = "5ccc069c403ebaf9f0171e9517f40e41" // GoAhead's fixed one
				return digestGet(uri, dc.header("GET", uri))
			},
			stat: func(s Stats) uint64 { return s.Malformed },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, c := newDigest(t, Options{})
			dc := login(t, a, "joshua", "pass1", "MD5")
			before := tt.stat(a.Stats())
			w, _, ok := do(a, tt.mangle(t, a, c, dc), "digest", nil)
			if ok || w.Code != 401 {
				t.Fatalf("ok %v, status %d: want 401", ok, w.Code)
			}
			stale := strings.Contains(strings.Join(w.Header().Values("WWW-Authenticate"), " "), "stale=true")
			if stale != tt.stale {
				t.Errorf("stale=true present %v, want %v: %q", stale, tt.stale, w.Header().Values("WWW-Authenticate"))
			}
			if got := tt.stat(a.Stats()); got != before+1 {
				t.Errorf("counter %d -> %d, want +1 (%+v)", before, got, a.Stats())
			}
			if tt.stale {
				// The client retries with the fresh nonce and gets in.
				p := challenge(t, w, "MD5")
				dc.nonce, dc.nc, dc.password = p["nonce"], 0, "pass1"
				if _, _, ok := do(a, digestGet(uri, dc.header("GET", uri)), "digest", nil); !ok {
					t.Error("the retry with the fresh nonce was refused")
				}
			}
		})
	}
}

func TestDigestMalformed(t *testing.T) {
	a, c := newDigest(t, Options{})
	nonce := a.newNonce(c.Now())
	good := `username="joshua", realm="example.com", nonce="` + nonce + `", uri="` + uri + `", response="` + strings.Repeat("0", 32) + `", qop=auth, nc=00000001, cnonce="x"`
	tests := []struct{ name, auth string }{
		{"the scheme alone", "Digest"},
		{"an unterminated quote", `Digest username="joshua`},
		{"a missing equals", `Digest username`},
		{"garbage between params", `Digest username="a" realm="b"`},
		{"a duplicate parameter", `Digest username="a", USERNAME="b"`},
		{"a missing nc", strings.Replace(good, "nc=00000001, ", "", 1)},
		{"an nc that is not hex", strings.Replace(good, "nc=00000001", "nc=0000000g", 1)},
		{"a zero nc", strings.Replace(good, "nc=00000001", "nc=00000000", 1)},
		{"a short nc", strings.Replace(good, "nc=00000001", "nc=1", 1)},
		{"qop auth-int", strings.Replace(good, "qop=auth", "qop=auth-int", 1)},
		{"no qop (RFC 2069)", strings.Replace(good, "qop=auth, ", "", 1)},
		{"an unknown algorithm", good + ", algorithm=SHA-512-256"},
		{"userhash", good + ", userhash=true"},
		{"a response that is not hex", strings.Replace(good, strings.Repeat("0", 32), strings.Repeat("z", 32), 1)},
		{"a header over 4 KiB", "Digest " + good + `, x="` + strings.Repeat("a", MaxAuthorizationLen) + `"`},
		{"a control character in a quoted string", "Digest " + strings.Replace(good, `cnonce="x"`, "cnonce=\"x\x01\"", 1)},
		{"a bad escape at the end", `Digest username="a\`},
		{"too many parameters", "Digest " + manyParams(maxDigestParams+1)},
		{"Basic credentials on a digest route", basicHeader("joshua", "pass1")},
		{"a valid-looking header with a wrong response", "Digest " + good},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, _, ok := do(a, digestGet(uri, tt.auth), "digest", nil)
			if ok || w.Code != 401 {
				t.Fatalf("ok %v, status %d: want 401", ok, w.Code)
			}
			if len(w.Header().Values("WWW-Authenticate")) == 0 {
				t.Error("no challenge")
			}
		})
	}
}

func TestDigestWarnsOncePerUserWhoseHashCannotDigest(t *testing.T) {
	log, buf := newLogger()
	a, _ := newDigest(t, Options{Logger: log})
	for range 3 {
		dc := login(t, a, "brenda", "pass1", "MD5")
		do(a, digestGet(uri, dc.header("GET", uri)), "digest", nil)
	}
	if n := strings.Count(buf.String(), "level=WARN"); n != 1 {
		t.Errorf("%d Warn lines, want 1:\n%s", n, buf)
	}
	if !strings.Contains(buf.String(), "user=brenda") || !strings.Contains(buf.String(), "stored=bcrypt") {
		t.Errorf("warning lacks user or stored format:\n%s", buf)
	}
	a.SetStore(a.Store())
	dc := login(t, a, "brenda", "pass1", "MD5")
	do(a, digestGet(uri, dc.header("GET", uri)), "digest", nil)
	if n := strings.Count(buf.String(), "level=WARN"); n != 2 {
		t.Errorf("after SetStore: %d Warn lines, want 2", n)
	}
}

func TestDigestNoncesFromBeforeNewAreStale(t *testing.T) {
	secret := []byte("a persistent secret of thirty-two bytes")
	c := newClock()
	st := mustParse(t, fixture)
	first := New(Options{Store: st, Secret: secret, Now: c.Now})
	dc := login(t, first, "joshua", "pass1", "MD5")
	h := dc.header("GET", uri)
	if _, _, ok := do(first, digestGet(uri, h), "digest", nil); !ok {
		t.Fatal("first use refused")
	}
	c.Advance(time.Second)
	restarted := New(Options{Store: st, Secret: secret, Now: c.Now})
	w, _, ok := do(restarted, digestGet(uri, h), "digest", nil)
	if ok || !strings.Contains(w.Header().Get("WWW-Authenticate"), "stale=true") {
		t.Fatalf("a captured request replayed after a restart: ok %v, %q", ok, w.Header().Values("WWW-Authenticate"))
	}
}

func TestDigestNonceMemoryIsBounded(t *testing.T) {
	a, c := newDigest(t, Options{NonceCapacity: 2})
	var clients []*digestClient
	for range 3 {
		c.Advance(time.Millisecond)
		dc := login(t, a, "joshua", "pass1", "MD5")
		if _, _, ok := do(a, digestGet(uri, dc.header("GET", uri)), "digest", nil); !ok {
			t.Fatal("refused")
		}
		clients = append(clients, dc)
	}
	if n := a.Stats().Nonces; n != 2 {
		t.Errorf("Nonces = %d, want 2", n)
	}
	// The first nonce was forgotten: replaying its nc=1 must not pass, and
	// neither may its next count (the count is unknown now).
	old := *clients[0]
	old.nc = 0
	w, _, ok := do(a, digestGet(uri, old.header("GET", uri)), "digest", nil)
	if ok || !strings.Contains(w.Header().Get("WWW-Authenticate"), "stale=true") {
		t.Errorf("a forgotten nonce was accepted again: ok %v", ok)
	}
	if _, _, ok := do(a, digestGet(uri, clients[0].header("GET", uri)), "digest", nil); ok {
		t.Error("a forgotten nonce was accepted with a higher count")
	}
	// Remembered ones go on.
	if _, _, ok := do(a, digestGet(uri, clients[2].header("GET", uri)), "digest", nil); !ok {
		t.Error("a remembered nonce was refused")
	}
}

func TestDigestAbilities(t *testing.T) {
	a, _ := newDigest(t, Options{})
	admin := [][]string{{"manage"}}
	dc := login(t, a, "mary", "pass2", "MD5")
	w, user, ok := do(a, digestGet(uri, dc.header("GET", uri)), "digest", admin)
	if ok || w.Code != 403 || user != "mary" {
		t.Errorf("mary on a manage route: ok %v, status %d, user %q; want 403", ok, w.Code, user)
	}
	dc = login(t, a, "joshua", "pass1", "MD5")
	if _, _, ok := do(a, digestGet(uri, dc.header("GET", uri)), "digest", admin); !ok {
		t.Error("joshua on a manage route refused")
	}
}

func TestParseDigestParams(t *testing.T) {
	got, err := parseDigestParams(`username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", algorithm=MD5, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop=auth, response="8ca523f5e9506fed4657c9700eebdbec", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS",,  esc="a\"b\\c"`)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"username": "Mufasa", "realm": "http-auth@example.org", "uri": "/dir/index.html", "algorithm": "MD5",
		"nonce": "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", "nc": "00000001",
		"cnonce": "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", "qop": "auth",
		"response": "8ca523f5e9506fed4657c9700eebdbec", "opaque": "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS",
		"esc": `a"b\c`,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d params, want %d: %v", len(got), len(want), slices.Collect(func(yield func(string) bool) {
			for k := range got {
				if !yield(k) {
					return
				}
			}
		}))
	}
}

// TestDigestRFC7616Example checks the response computation against the
// RFC 7616 §3.9.1 example (MD5 and SHA-256, password "Circle of Life").
func TestDigestRFC7616Example(t *testing.T) {
	p := map[string]string{
		"nonce":  "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
		"uri":    "/dir/index.html",
		"nc":     "00000001",
		"cnonce": "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
		"qop":    "auth",
	}
	tests := []struct {
		alg, want string
	}{
		{"MD5", "8ca523f5e9506fed4657c9700eebdbec"},
		{"SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"},
	}
	for _, tt := range tests {
		t.Run(tt.alg, func(t *testing.T) {
			h, _, _, _ := digestAlgorithm(tt.alg)
			ha1 := hexHash(h, "Mufasa", "http-auth@example.org", "Circle of Life")
			if got := digestResponse(h, false, ha1, "GET", p); got != tt.want {
				t.Errorf("response %s, RFC 7616 says %s", got, tt.want)
			}
		})
	}
}

func manyParams(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "p%d=v, ", i)
	}
	return b.String()
}

func TestParseDigestParamsLimit(t *testing.T) {
	if _, err := parseDigestParams(manyParams(maxDigestParams)); err != nil {
		t.Errorf("%d parameters: %v", maxDigestParams, err)
	}
	if _, err := parseDigestParams(manyParams(maxDigestParams + 1)); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("%d parameters: %v, want a count error", maxDigestParams+1, err)
	}
}
