package auth

import (
	"net/http"
)

// MaxLoginFormSize bounds the body of a login POST, in bytes.
const MaxLoginFormSize = 16 << 10

// FormLogin handles a login form POST (GoAhead's /action/login): fields
// "username" and "password" of the request body (never of the query, which
// ends up in logs). It reports the outcome for the caller to answer, as
// GoAhead's redirect=200@URI redirect=401@URI does:
//
//   - 200: the password is right and Sessions.Login has renewed the
//     session and recorded user (its cookie is set on w);
//   - 401: no such user, wrong password, or missing fields;
//   - 405: not a POST;
//   - 429: throttled; FormLogin has already answered (Retry-After);
//   - 500: no Sessions, or Sessions.Login failed.
//
// Except for 429 it writes nothing but the session's headers.
func (a *Authenticator) FormLogin(w http.ResponseWriter, r *http.Request) (user string, status int) {
	if r.Method != http.MethodPost {
		return "", http.StatusMethodNotAllowed
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxLoginFormSize)
	// PostFormValue parses url-encoded and multipart bodies; a parse error
	// (too large, malformed) leaves the fields empty.
	user, password := r.PostFormValue("username"), r.PostFormValue("password")
	if user == "" || password == "" {
		return "", http.StatusUnauthorized
	}
	if d, blocked := a.attempt(r, user); blocked {
		d.Write(w)
		return "", d.Status
	}
	st := a.store.Load()
	if !st.Verify(user, password, a.realm) {
		a.failed(r, user, "form")
		return "", http.StatusUnauthorized
	}
	a.succeeded(r, user)
	if a.sessions == nil {
		a.log.Error("auth: form login without a session store")
		return "", http.StatusInternalServerError
	}
	if err := a.sessions.Login(w, r, user); err != nil {
		a.log.Error("auth: form login: session", "user", sanitize(user), "err", err)
		return "", http.StatusInternalServerError
	}
	a.log.Info("auth: login", "user", sanitize(user), "ip", clientHost(r))
	return user, http.StatusOK
}

// LoginHandler serves POST /action/login with FormLogin: on success it
// redirects (302, as GoAhead) to ok, or answers 204 if ok is ""; on a
// wrong password it redirects to fail, or answers 401 if fail is "". The
// targets come from configuration, never from the request.
func (a *Authenticator) LoginHandler(ok, fail string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, status := a.FormLogin(w, r)
		switch {
		case status == http.StatusOK && ok != "":
			http.Redirect(w, r, ok, http.StatusFound)
		case status == http.StatusOK:
			w.WriteHeader(http.StatusNoContent)
		case status == http.StatusUnauthorized && fail != "":
			http.Redirect(w, r, fail, http.StatusFound)
		case status == http.StatusTooManyRequests:
			// answered
		case status == http.StatusMethodNotAllowed:
			w.Header().Set("Allow", http.MethodPost)
			Decision{Status: status}.Write(w)
		default:
			Decision{Status: status}.Write(w)
		}
	})
}

// LogoutHandler serves /action/logout (GET or POST, as GoAhead's route
// allows): it ends the session and redirects (302) to ok, or answers 204 if
// ok is "".
func (a *Authenticator) LogoutHandler(ok string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost && r.Method != http.MethodGet {
			w.Header().Set("Allow", "GET, POST")
			Decision{Status: http.StatusMethodNotAllowed}.Write(w)
			return
		}
		if a.sessions != nil {
			a.sessions.Logout(w, r)
		}
		if ok != "" {
			http.Redirect(w, r, ok, http.StatusFound)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
