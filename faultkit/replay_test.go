package faultkit

import "testing"

func TestParseReplay(t *testing.T) {
	c, err := ParseReplay("# name: n\n# source: s\n# expect: 400|close\n# repeat: 3 ab\n\nGET /{repeat}\\x00 HTTP/1.1\\r\\n\n\\r\\n\n")
	if err != nil {
		t.Fatal(err)
	}
	if want := "GET /ababab\x00 HTTP/1.1\r\n\r\n"; string(c.Request()) != want {
		t.Errorf("request = %q, want %q", c.Request(), want)
	}
	for got, want := range map[string]bool{"400": true, "close": true, "404": false, "timeout": false} {
		if c.Accepts(got) != want {
			t.Errorf("Accepts(%s) = %v, want %v", got, !want, want)
		}
	}
	n := ReplayCase{Expect: "not-5xx"}
	for got, want := range map[string]bool{"200": true, "close": true, "500": false, "timeout": false} {
		if n.Accepts(got) != want {
			t.Errorf("not-5xx Accepts(%s) = %v, want %v", got, !want, want)
		}
	}
	for _, bad := range []string{"# name: n\n\nx", "no header", "# name: n\n# expect: 2xx\n\nx", "# name: n\n# expect: 400\n\n\\q"} {
		if _, err := ParseReplay(bad); err == nil {
			t.Errorf("ParseReplay(%q) succeeded, want an error", bad)
		}
	}
}

func TestLoadReplay(t *testing.T) {
	cases, err := LoadReplay()
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 25 {
		t.Errorf("%d replay cases, want at least 25", len(cases))
	}
	seen := map[string]bool{}
	for _, c := range cases {
		if seen[c.Name] {
			t.Errorf("two cases named %q", c.Name)
		}
		seen[c.Name] = true
		if len(c.Request()) == 0 {
			t.Errorf("%s: empty request", c.Name)
		}
	}
}

// FuzzParseReplay checks that no case text panics ParseReplay or yields a
// request over the cap, and that a parsed case's verdicts all parse.
func FuzzParseReplay(f *testing.F) {
	f.Add("# name: n\n# expect: 400|close\n# repeat: 3 ab\n\nGET /{repeat}\\x00 HTTP/1.1\\r\\n\\r\\n\n")
	f.Add("# name: n\n# expect: not-5xx\n\n\\x4")
	f.Fuzz(func(t *testing.T, text string) {
		c, err := ParseReplay(text)
		if err != nil {
			return
		}
		if len(c.Request()) > maxReplayRequest {
			t.Fatalf("request of %d bytes", len(c.Request()))
		}
		if c.Name == "" || c.Expect == "" {
			t.Fatalf("case without name or expect: %+v", c)
		}
	})
}
