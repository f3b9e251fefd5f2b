package auth

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	f.Add(fixture)
	f.Add("role name=a abilities=b,x\nrole name=b abilities=a,y\nuser name=u password=2fd6e47ff9bb70c0465fd2f5c8e5305e roles=a")
	f.Add("user name=u password=BF1:00128:QmZ0Tx2pLk7sWc4R:QNEubXKBVONJXpM3fIbDirHR5VacOBD3 roles=a|b,c,\r\n# c\r\n")
	f.Add("user name=u password=sha256:d37bca3f10b2a10bdecf0b9165b87f01cb8d9408a604f9dda1f0e51da1da43b8\nroute uri=/ x=y")
	f.Add("user name=\"u\" password=x\nrole\nuser\n=\n==\nrole name=r abilities=none,none")
	f.Add("user name=u name=u password=$2b$04$abcdefghijklmnopqrstuuYBrRGzh42Kt0RScCct/7ghURT3A8KrC")
	f.Fuzz(func(t *testing.T, text string) {
		s, err := Parse("f.txt", strings.NewReader(text))
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *ParseError", err)
			}
			if lines := strings.Count(text, "\n") + 1; pe.Line < 1 || pe.Line > lines || pe.File != "f.txt" {
				t.Fatalf("error at line %d of %d lines: %v", pe.Line, lines, err)
			}
			if !strings.HasPrefix(err.Error(), "f.txt:") {
				t.Fatalf("error %q does not start with the file name", err)
			}
			return
		}
		for _, u := range s.Users() {
			abilities := s.Abilities(u)
			if !slices.IsSorted(abilities) {
				t.Fatalf("abilities of %q not sorted: %v", u, abilities)
			}
			if !s.Can(u, [][]string{abilities}) || !s.Can(u, nil) {
				t.Fatalf("%q cannot what it has: %v", u, abilities)
			}
			if h := s.users[u].hash; h.cost() < 1<<20 || (h.kind == kindBF1 && h.rounds < 1000) {
				s.Verify(u, "x", "r") // cheap hashes only
			}
		}
		s.Warnings()
	})
}

func FuzzDigestHeader(f *testing.F) {
	c := newClock()
	secret := []byte("fuzz secret for nonces, 32 bytes")
	st := mustParse(f, fixture)
	a := New(Options{Store: st, Secret: secret, Now: c.Now})
	nonce := a.newNonce(c.Now())
	f.Add(`username="joshua", realm="example.com", nonce="` + nonce + `", uri="/auth/digest/index.html", algorithm=MD5, response="` + strings.Repeat("0", 32) + `", opaque="` + a.opaque + `", qop=auth, nc=00000001, cnonce="0a4f113b"`)
	f.Add(`username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop=auth, response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`)
	f.Add(`a="\"\\", ,, b = c ,d=e`)
	f.Add(`username="a\`)
	f.Add(`x=` + strings.Repeat(`"`, 10))
	f.Add("k=\"\xff\xfe\t\"")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parseDigestParams(s)
		if err == nil {
			if len(p) > maxDigestParams {
				t.Fatalf("%d params", len(p))
			}
			// Re-serialising with every value quoted parses back the same.
			var b strings.Builder
			for k, v := range p {
				if k == "" || k != strings.ToLower(k) || strings.IndexFunc(k, func(r rune) bool { return r > 0x7f || !isTokenChar(byte(r)) }) >= 0 {
					t.Fatalf("bad key %q", k)
				}
				b.WriteString(k + "=" + quote(v) + ", ")
			}
			q, err := parseDigestParams(b.String())
			if err != nil {
				t.Fatalf("re-serialised %q: %v", b.String(), err)
			}
			if len(q) != len(p) {
				t.Fatalf("round trip: %v != %v", q, p)
			}
			for k, v := range p {
				if q[k] != v {
					t.Fatalf("round trip of %s: %q != %q", k, q[k], v)
				}
			}
		}
		// End to end: whatever the header, the answer is 401 (the fuzzer
		// cannot compute a response for a valid nonce), never a panic.
		fresh := New(Options{Store: st, Secret: secret, Now: c.Now, Throttle: ThrottleOptions{FreeFailures: 1 << 30}})
		r := digestGet(uri, "Digest "+s)
		if d := fresh.Authorize(r, "digest", nil); d.Status != 401 {
			t.Fatalf("Authorize = %+v, want 401", d)
		}
		r = digestGet(uri, "Basic "+s)
		if d := fresh.Authorize(r, "basic", nil); d.Status != 401 && d.Status != 200 {
			t.Fatalf("Basic Authorize = %+v", d)
		}
	})
}
