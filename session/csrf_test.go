package session

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestCSRFToken(t *testing.T) {
	s := New(Options{})
	a := login(t, s, request(), "alice")
	b := login(t, s, request(), "bob")
	ta, tb := s.CSRFToken(request(a)), s.CSRFToken(request(b))
	if !validID(ta) || !validID(tb) {
		t.Fatalf("tokens %q, %q are not 43 base64url characters", ta, tb)
	}
	if ta == tb || ta == a {
		t.Errorf("tokens are not distinct from each other and from the id")
	}
	if again := s.CSRFToken(request(a)); again != ta {
		t.Errorf("the token changed within the session")
	}
	renewed := login(t, s, request(a), "alice")
	if s.CSRFToken(request(renewed)) == ta {
		t.Errorf("a new login kept the old token")
	}
	if tok := s.CSRFToken(request()); tok != "" {
		t.Errorf("a request without a session got token %q", tok)
	}
}

func TestCheckCSRF(t *testing.T) {
	s := New(Options{})
	a := login(t, s, request(), "alice")
	b := login(t, s, request(), "bob")
	ta, tb := s.CSRFToken(request(a)), s.CSRFToken(request(b))
	flipLast := []byte(ta)
	flipLast[len(flipLast)-1] ^= 1
	flipFirst := []byte(ta)
	flipFirst[0] ^= 1

	form := func(v url.Values) func(cookie string) *http.Request {
		return func(cookie string) *http.Request {
			r := httptest.NewRequest("POST", "http://device.example/x", strings.NewReader(v.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return withCookie(r, cookie)
		}
	}
	header := func(tok string) func(cookie string) *http.Request {
		return func(cookie string) *http.Request {
			r := httptest.NewRequest("POST", "http://device.example/x", nil)
			r.Header.Set(CSRFHeader, tok)
			return withCookie(r, cookie)
		}
	}
	tests := []struct {
		name   string
		cookie string
		req    func(cookie string) *http.Request
		want   bool
	}{
		{"the session's token in the form field matches", a, form(url.Values{CSRFField: {ta}, "x": {"1"}}), true},
		{"the session's token in the header matches", a, header(ta), true},
		{"another session's token does not match", a, header(tb), false},
		{"another session's token in the form does not match", b, form(url.Values{CSRFField: {ta}}), false},
		{"a token one bit off at the end does not match", a, header(string(flipLast)), false},
		{"a token one bit off at the start does not match", a, header(string(flipFirst)), false},
		{"a prefix of the token does not match", a, header(ta[:42]), false},
		{"the token with a suffix does not match", a, header(ta + "A"), false},
		{"the session id is not the token", a, header(a), false},
		{"no token does not match", a, form(url.Values{"x": {"1"}}), false},
		{"an empty token does not match", a, form(url.Values{CSRFField: {""}}), false},
		{"a token without a session does not match", "", header(ta), false},
		{"an empty token without a session does not match", "", header(""), false},
		{"a token in the URL query is ignored", a, func(cookie string) *http.Request {
			r := httptest.NewRequest("POST", "http://device.example/x?"+CSRFField+"="+ta, strings.NewReader(""))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return withCookie(r, cookie)
		}, false},
		{"a token in an already parsed multipart form matches", a, func(cookie string) *http.Request {
			r := multipartRequest(t, ta)
			if err := r.ParseMultipartForm(1 << 20); err != nil {
				t.Fatal(err)
			}
			return withCookie(r, cookie)
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.CheckCSRF(tt.req(tt.cookie)); got != tt.want {
				t.Errorf("CheckCSRF = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCheckCSRFLeavesMultipartBody(t *testing.T) {
	s := New(Options{})
	a := login(t, s, request(), "alice")
	r := withCookie(multipartRequest(t, s.CSRFToken(request(a))), a)
	want := r.ContentLength
	if want <= 0 {
		t.Fatalf("test request has ContentLength %d", want)
	}
	if s.CheckCSRF(r) {
		t.Errorf("CheckCSRF matched a token it should not have read")
	}
	body, err := io.ReadAll(r.Body)
	if err != nil || int64(len(body)) != want {
		t.Fatalf("read %d bytes of the multipart body after CheckCSRF (%v), want all %d", len(body), err, want)
	}
}

func TestCheckCSRFAfterLogout(t *testing.T) {
	s := New(Options{})
	a := login(t, s, request(), "alice")
	tok := s.CSRFToken(request(a))
	s.Logout(httptest.NewRecorder(), request(a))
	r := withCookie(httptest.NewRequest("POST", "http://device.example/x", nil), a)
	r.Header.Set(CSRFHeader, tok)
	if s.CheckCSRF(r) {
		t.Errorf("the token of a logged-out session still matches")
	}
}

func withCookie(r *http.Request, v string) *http.Request {
	if v != "" {
		r.AddCookie(&http.Cookie{Name: DefaultCookieName, Value: v})
	}
	return r
}

func multipartRequest(t *testing.T, tok string) *http.Request {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if err := mw.WriteField(CSRFField, tok); err != nil {
		t.Fatal(err)
	}
	fw, err := mw.CreateFormFile("file", "fw.bin")
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(bytes.Repeat([]byte("x"), 4096))
	mw.Close()
	r := httptest.NewRequest("POST", "http://device.example/upload", &buf)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	return r
}
