package auth

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func loginRequest(user, password string) *http.Request {
	form := url.Values{"username": {user}, "password": {password}}
	r := httptest.NewRequest("POST", "/action/login", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

// withCookies returns r carrying the cookies w set.
func withCookies(r *http.Request, w *httptest.ResponseRecorder) *http.Request {
	for _, c := range w.Result().Cookies() {
		r.AddCookie(c)
	}
	return r
}

func TestFormLogin(t *testing.T) {
	tests := []struct {
		name     string
		req      func() *http.Request
		sessions func() Sessions
		user     string
		status   int
	}{
		{"GoAhead's joshua/pass1", func() *http.Request { return loginRequest("joshua", "pass1") }, nil, "joshua", 200},
		{"a bcrypt user", func() *http.Request { return loginRequest("brenda", "pass1") }, nil, "brenda", 200},
		{"a wrong password", func() *http.Request { return loginRequest("joshua", "pass2") }, nil, "", 401},
		{"an unknown user", func() *http.Request { return loginRequest("nobody", "pass1") }, nil, "", 401},
		{"an empty password", func() *http.Request { return loginRequest("joshua", "") }, nil, "", 401},
		{"a GET", func() *http.Request {
			return httptest.NewRequest("GET", "/action/login?username=joshua&password=pass1", nil)
		}, nil, "", 405},
		{"credentials in the query, not the body", func() *http.Request {
			r := httptest.NewRequest("POST", "/action/login?username=joshua&password=pass1", strings.NewReader(""))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}, nil, "", 401},
		{"a body over MaxLoginFormSize", func() *http.Request {
			body := "username=joshua&password=pass1&pad=" + strings.Repeat("x", MaxLoginFormSize)
			r := httptest.NewRequest("POST", "/action/login", strings.NewReader(body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}, nil, "", 401},
		{"a multipart form", func() *http.Request {
			body := "--b\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\njoshua\r\n--b\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\npass1\r\n--b--\r\n"
			r := httptest.NewRequest("POST", "/action/login", strings.NewReader(body))
			r.Header.Set("Content-Type", "multipart/form-data; boundary=b")
			return r
		}, nil, "joshua", 200},
		{"a session store that fails", func() *http.Request { return loginRequest("joshua", "pass1") }, func() Sessions {
			s := newFakeSessions()
			s.err = errors.New("full")
			return s
		}, "", 500},
		{"no session store", func() *http.Request { return loginRequest("joshua", "pass1") }, func() Sessions { return nil }, "", 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sess Sessions = newFakeSessions()
			if tt.sessions != nil {
				sess = tt.sessions()
			}
			a := New(Options{Store: mustParse(t, fixture), Sessions: sess})
			w := httptest.NewRecorder()
			user, status := a.FormLogin(w, tt.req())
			if user != tt.user || status != tt.status {
				t.Fatalf("FormLogin = %q, %d; want %q, %d", user, status, tt.user, tt.status)
			}
			cookies := w.Result().Cookies()
			if (status == 200) != (len(cookies) == 1) {
				t.Errorf("status %d with cookies %v", status, cookies)
			}
			if w.Code != 200 || w.Body.Len() != 0 {
				t.Errorf("FormLogin wrote %d %q; the caller answers", w.Code, w.Body)
			}
		})
	}
}

func TestFormSession(t *testing.T) {
	sess := newFakeSessions()
	a := New(Options{Store: mustParse(t, fixture), Sessions: sess})
	admin := [][]string{{"manage"}}
	page := func() *http.Request { return httptest.NewRequest("GET", "/auth/form/index.html", nil) }

	w, _, ok := do(a, page(), "form", admin)
	if ok || w.Code != 401 || len(w.Header().Values("WWW-Authenticate")) != 0 {
		t.Fatalf("without a session: ok %v, %d, %q; want 401 without challenge", ok, w.Code, w.Header())
	}
	if d := a.Authorize(page(), "form", admin); d.Status != 401 || d.Challenges != nil {
		t.Errorf("Authorize = %+v, want a bare 401 (for the caller's redirect)", d)
	}

	lw := httptest.NewRecorder()
	old := loginRequest("joshua", "pass1")
	old.AddCookie(&http.Cookie{Name: "sid", Value: "planted"})
	sess.users["planted"] = "mallory"
	if user, status := a.FormLogin(lw, old); user != "joshua" || status != 200 {
		t.Fatalf("FormLogin = %q, %d", user, status)
	}
	if _, ok := sess.users["planted"]; ok {
		t.Error("the session id from before the login survived (fixation)")
	}
	if w, user, ok := do(a, withCookies(page(), lw), "form", admin); !ok || user != "joshua" {
		t.Fatalf("with the session: ok %v, user %q, status %d", ok, user, w.Code)
	}
	// The session counts on basic and digest routes too.
	if _, _, ok := do(a, withCookies(page(), lw), "basic", admin); !ok {
		t.Error("the session is not accepted on a basic route")
	}

	// A user removed from the store loses the session's access.
	a.SetStore(mustParse(t, "user name=mary password=5b90553bea8ba3686f4239d62801f0f3"))
	if _, _, ok := do(a, withCookies(page(), lw), "form", nil); ok {
		t.Error("a session of a removed user is accepted")
	}
}

func TestLoginAndLogoutHandlers(t *testing.T) {
	sess := newFakeSessions()
	a := New(Options{Store: mustParse(t, fixture), Sessions: sess})
	login := a.LoginHandler("/auth/form/index.html", "/auth/form/login.html")
	tests := []struct {
		name     string
		req      *http.Request
		status   int
		location string
	}{
		{"a good login redirects to the page", loginRequest("joshua", "pass1"), 302, "/auth/form/index.html"},
		{"a bad login redirects to the login form", loginRequest("joshua", "nope"), 302, "/auth/form/login.html"},
		{"a GET is refused", httptest.NewRequest("GET", "/action/login", nil), 405, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			login.ServeHTTP(w, tt.req)
			if w.Code != tt.status || w.Header().Get("Location") != tt.location {
				t.Errorf("got %d Location %q, want %d %q", w.Code, w.Header().Get("Location"), tt.status, tt.location)
			}
		})
	}
	t.Run("without targets it answers 204 and 401", func(t *testing.T) {
		h := a.LoginHandler("", "")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, loginRequest("joshua", "pass1"))
		if w.Code != 204 {
			t.Errorf("good login: %d", w.Code)
		}
		w = httptest.NewRecorder()
		h.ServeHTTP(w, loginRequest("joshua", "nope"))
		if w.Code != 401 || w.Body.String() != "401 invalid credentials\n" {
			t.Errorf("bad login: %d %q", w.Code, w.Body)
		}
	})
	t.Run("logout ends the session and redirects", func(t *testing.T) {
		lw := httptest.NewRecorder()
		a.FormLogin(lw, loginRequest("joshua", "pass1"))
		page := withCookies(httptest.NewRequest("GET", "/x", nil), lw)
		if _, ok := sess.User(page); !ok {
			t.Fatal("not logged in")
		}
		w := httptest.NewRecorder()
		a.LogoutHandler("/auth/form/login.html").ServeHTTP(w, withCookies(httptest.NewRequest("POST", "/action/logout", nil), lw))
		if w.Code != 302 || w.Header().Get("Location") != "/auth/form/login.html" {
			t.Errorf("logout: %d %q", w.Code, w.Header().Get("Location"))
		}
		if _, ok := sess.User(page); ok {
			t.Error("still logged in")
		}
		w = httptest.NewRecorder()
		a.LogoutHandler("").ServeHTTP(w, httptest.NewRequest("DELETE", "/action/logout", nil))
		if w.Code != 405 {
			t.Errorf("DELETE logout: %d", w.Code)
		}
	})
	if !slices.Contains(sess.logins, "joshua") {
		t.Errorf("logins %v", sess.logins)
	}
}
