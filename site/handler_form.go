package site

import (
	"errors"
	"net/http"
	"strings"

	"github.com/vigilhttp/vigil/route"
)

// serveForm runs the form a /goform rule binds (see actionName), registered
// with Site.Form, with the request's fields parsed first as GoAhead's
// websGetVar sees them: the query and a urlencoded body, the body bounded
// by the rule's limit-body (httpd's reader stops it there: 413).
func (s *Site) serveForm(w http.ResponseWriter, r *http.Request, st *snapshot, rule *route.Rule, clean string) {
	name := actionName(st, rule, clean)
	if name == "" {
		s.unserved(w, r, rule, http.StatusNotFound, "no form at this path")
		return
	}
	h := s.lookupForm(name)
	if h == nil {
		s.unserved(w, r, rule, http.StatusNotFound, "no form "+name+" registered (Server.Form)")
		return
	}
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			http.Error(w, "413 request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		s.unserved(w, r, rule, http.StatusBadRequest, "form fields: "+err.Error())
		return
	}
	h.ServeHTTP(w, r)
}

// lookupForm returns the form registered as name, or nil.
func (s *Site) lookupForm(name string) http.Handler {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.forms[name]
}

// lookupFor returns the handler rule runs as name: a form on a /goform
// rule (route.Rule.Forms), an action elsewhere.
func (s *Site) lookupFor(rule *route.Rule, name string) http.Handler {
	if rule.Forms {
		return s.lookupForm(name)
	}
	return s.lookupAction(name)
}

// FormVar returns the form field name of r as GoAhead's websGetVar(wp, name,
// def) returns it: def if the field is in neither the query nor a
// urlencoded body, else its values, those of the query first, joined with
// a space (GoAhead's websSetVar appends a repeated field so). A form run by
// a /goform rule has its fields parsed already, within the rule's
// limit-body; elsewhere FormVar parses them (http.Request.ParseForm) and
// an unreadable body counts as no fields.
func FormVar(r *http.Request, name, def string) string {
	if r.Form == nil {
		r.ParseForm()
	}
	q, b := r.URL.Query()[name], r.PostForm[name]
	if len(q) == 0 && len(b) == 0 {
		return def
	}
	if len(b) == 0 {
		return strings.Join(q, " ")
	}
	return strings.Join(append(q[:len(q):len(q)], b...), " ")
}
