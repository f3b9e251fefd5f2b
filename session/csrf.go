package session

import (
	"crypto/subtle"
	"net/http"
)

// Where CheckCSRF looks for the token a request submits.
const (
	// CSRFField is the form field for the token, in a
	// application/x-www-form-urlencoded body or an already parsed
	// multipart form.
	CSRFField = "csrf_token"
	// CSRFHeader is the request header for the token, for scripts.
	CSRFHeader = "X-CSRF-Token"
)

// CSRFToken returns the CSRF token of the request's session, to embed in a
// form as the hidden field CSRFField or to hand to scripts for the header
// CSRFHeader; "" when the request has no live session. The token is 32
// random bytes, base64url, made at login and fixed for the session's life.
func (s *Store) CSRFToken(r *http.Request) string {
	var t string
	s.find(r, func(e *entry) { t = e.csrf })
	return t
}

// CheckCSRF reports whether the request submits its own session's CSRF
// token, in the header CSRFHeader or else in the body field CSRFField; it
// compares in constant time. Without a live session it reports false. Call
// it before acting on any request that changes state.
//
// CheckCSRF reads an application/x-www-form-urlencoded body with
// r.ParseForm, within ParseForm's limit and any limit the server set on the
// body. It never reads a multipart body, so an upload can still stream it:
// it uses r.MultipartForm only if the handler parsed it already. A token in
// the URL query is ignored, since URLs leak into logs and Referer headers.
func (s *Store) CheckCSRF(r *http.Request) bool {
	got := submitted(r) // reads the body: before, never under, the lock
	if got == "" {
		return false
	}
	want := s.CSRFToken(r)
	if want == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// submitted returns the CSRF token the request submits, or "".
func submitted(r *http.Request) string {
	if v := r.Header.Get(CSRFHeader); v != "" {
		return v
	}
	if r.PostForm == nil {
		// ParseForm leaves a multipart body alone; an error leaves the
		// form empty, and an empty token never matches.
		_ = r.ParseForm()
	}
	if v := r.PostForm.Get(CSRFField); v != "" {
		return v
	}
	if r.MultipartForm != nil {
		if vs := r.MultipartForm.Value[CSRFField]; len(vs) > 0 {
			return vs[0]
		}
	}
	return ""
}
