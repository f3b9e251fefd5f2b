package auth

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func basicHeader(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// do runs Check for one request and returns the recorder and the outcome.
func do(a *Authenticator, r *http.Request, scheme string, abilities [][]string) (*httptest.ResponseRecorder, string, bool) {
	w := httptest.NewRecorder()
	user, ok := a.Check(w, r, scheme, abilities)
	return w, user, ok
}

func getWith(auth string) *http.Request {
	r := httptest.NewRequest("GET", "/auth/basic/index.html", nil)
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	return r
}

func TestBasic(t *testing.T) {
	a := New(Options{Store: mustParse(t, fixture)})
	const challenge = `Basic realm="example.com", charset="UTF-8"`
	tests := []struct {
		name   string
		auth   string
		user   string // "" = refused
		status int
	}{
		{"GoAhead's joshua/pass1", basicHeader("joshua", "pass1"), "joshua", 200},
		{"a bcrypt user", basicHeader("brenda", "pass1"), "brenda", 200},
		{"a BF1 user made by gopass", basicHeader("bob", "pass1"), "bob", 200},
		{"a password with a colon", basicHeader("joshua", "pass1:"), "", 401},
		{"the scheme in lower case", "basic " + base64.StdEncoding.EncodeToString([]byte("joshua:pass1")), "joshua", 200},
		{"base64 without padding", "Basic " + base64.RawStdEncoding.EncodeToString([]byte("joshua:pass1")), "joshua", 200},
		{"no Authorization header", "", "", 401},
		{"a wrong password", basicHeader("joshua", "pass2"), "", 401},
		{"an unknown user", basicHeader("nobody", "pass1"), "", 401},
		{"the scheme alone", "Basic", "", 401},
		{"the scheme and spaces", "Basic    ", "", 401},
		{"bad base64", "Basic !!!!", "", 401},
		{"no colon", "Basic " + base64.StdEncoding.EncodeToString([]byte("joshua")), "", 401},
		{"an empty user", basicHeader("", "pass1"), "", 401},
		{"a control character in the user", basicHeader("josh\nua", "pass1"), "", 401},
		{"another scheme", "Bearer abc.def", "", 401},
		{"a header over 4 KiB", "Basic " + strings.Repeat("A", MaxAuthorizationLen), "", 401},
		{"binary junk", "Basic \xff\xfe\x00", "", 401},
		{"a lone space", " ", "", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, user, ok := do(a, getWith(tt.auth), "basic", nil)
			if user != tt.user || ok != (tt.status == 200) || w.Code != tt.status {
				t.Fatalf("Check = %q, %v, status %d; want %q, status %d", user, ok, w.Code, tt.user, tt.status)
			}
			if tt.status == 401 {
				if got := w.Header().Values("WWW-Authenticate"); len(got) != 1 || got[0] != challenge {
					t.Errorf("WWW-Authenticate = %q, want %q", got, challenge)
				}
				if body := w.Body.String(); body != "401 invalid credentials\n" {
					t.Errorf("body %q reveals more than invalid credentials", body)
				}
			}
		})
	}
	t.Run("two Authorization headers", func(t *testing.T) {
		r := getWith(basicHeader("joshua", "pass1"))
		r.Header.Add("Authorization", basicHeader("joshua", "pass1"))
		if w, _, ok := do(a, r, "basic", nil); ok || w.Code != 401 {
			t.Errorf("ok %v status %d, want 401", ok, w.Code)
		}
	})
}

func TestUnknownUserAndWrongPasswordLookTheSame(t *testing.T) {
	a := New(Options{Store: mustParse(t, fixture)})
	w1, _, _ := do(a, getWith(basicHeader("joshua", "wrong")), "basic", nil)
	w2, _, _ := do(a, getWith(basicHeader("nobody", "wrong")), "basic", nil)
	if w1.Code != w2.Code || w1.Body.String() != w2.Body.String() || len(w1.Header()) != len(w2.Header()) {
		t.Errorf("responses differ:\n%d %v %q\n%d %v %q", w1.Code, w1.Header(), w1.Body, w2.Code, w2.Header(), w2.Body)
	}
	for k := range w1.Header() {
		if w1.Header().Get(k) != w2.Header().Get(k) {
			t.Errorf("header %s differs: %q vs %q", k, w1.Header().Get(k), w2.Header().Get(k))
		}
	}
}

func TestFailedLoginsAreLogged(t *testing.T) {
	log, buf := newLogger()
	a := New(Options{Store: mustParse(t, fixture), Logger: log})
	r := getWith(basicHeader("ev\u0085il"+strings.Repeat("x", 100), "x"))
	r.RemoteAddr = "198.51.100.7:4242"
	do(a, r, "basic", nil)
	line := buf.String()
	for _, want := range []string{"level=INFO", `msg="auth: login failed"`, "scheme=basic", "user=ev?il" + strings.Repeat("x", 58) + "...", "ip=198.51.100.7"} {
		if !strings.Contains(line, want) {
			t.Errorf("log %q lacks %q", line, want)
		}
	}
	if strings.Contains(line, "\u0085") || strings.Contains(line, "password") {
		t.Errorf("log %q carries raw input or a password", line)
	}
}
