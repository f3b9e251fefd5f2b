package site

import (
	"errors"
	"fmt"
	"html"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/vigilhttp/vigil/route"
	"github.com/vigilhttp/vigil/upload"
)

// resolveDirs makes every relative dir= of rules absolute against home,
// the directory of the route.txt, as GoAhead resolves it against its home
// (the working directory it changes to, where its route.txt lives). A
// handler=cgi rule's dir= names the directory that holds cgi-bin/ (GoAhead:
// DIR/cgi-bin/NAME); GoAhead's own line "route uri=/cgi-bin dir=cgi-bin
// handler=cgi" names the programs' directory itself, so a dir= whose last
// element is cgi-bin stands for its parent.
func resolveDirs(rules *route.Rules, home string) error {
	for i := range rules.Rules {
		r := &rules.Rules[i]
		if r.Dir == "" {
			continue
		}
		if !filepath.IsAbs(r.Dir) {
			abs, err := filepath.Abs(filepath.Join(home, r.Dir))
			if err != nil {
				return fmt.Errorf("%s: dir: %w", r.Source, err)
			}
			r.Dir = abs
		}
		if r.Handler == "cgi" && filepath.Base(r.Dir) == "cgi-bin" {
			r.Dir = filepath.Dir(r.Dir)
		}
	}
	return nil
}

// Check reports every route.txt rule whose handler cannot work as
// configured, one error per rule (errors.Join), each starting with the
// rule's file:line: a CGI rule without its programs directory, an upload
// rule with no action and nowhere to store files, an action rule naming an
// action nobody registered, a redirect without a target, a route needing
// users when there are none, PUT or DELETE with no directory to write. Call
// it after registering actions.
func (s *Site) Check() error {
	st := s.snap.Load()
	var errs []error
	for i := range st.rules.Rules {
		r := &st.rules.Rules[i]
		if why := s.cannotWork(r, s.opts.Root, s.opts.Route == ""); why != "" {
			errs = append(errs, fmt.Errorf("%s: %s", r.Source, why))
		}
	}
	return errors.Join(errs...)
}

// cannotWork says why rule cannot serve any request as configured, or "".
func (s *Site) cannotWork(r *route.Rule, root string, demoUI bool) string {
	if (r.Auth != "" || len(r.Abilities) > 0) && s.auth == nil {
		return "needs users (auth= or abilities=) but no auth.txt is given and route.txt has no user lines"
	}
	switch r.Handler {
	case "cgi":
		dir := r.Dir
		if dir == "" {
			dir = root
		}
		progs := filepath.Join(dir, "cgi-bin")
		if fi, err := os.Stat(progs); err != nil || !fi.IsDir() {
			return fmt.Sprintf("handler=cgi: no programs directory %s (programs are DIR/cgi-bin/NAME; dir= is relative to the route.txt's directory)", progs)
		}
	case "upload":
		name := lastSegment(r.Prefix)
		if s.lookupFor(r, name) != nil {
			return ""
		}
		if !s.storeUploads {
			return fmt.Sprintf("handler=upload: no action %q registered (Server.Action) to hand the files to", name)
		}
		dir := s.uploadStore(r)
		if dir == "" {
			return "handler=upload: nowhere to store the files: give the route dir= or --upload-dir"
		}
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			return fmt.Sprintf("handler=upload: the directory to store files in, %s, does not exist", dir)
		}
	case "action":
		if r.Forms {
			if r.Dispatch || s.lookupForm(r.Action) != nil || demoUI {
				return ""
			}
			return fmt.Sprintf("handler=action: no form %q registered (Server.Form); the vigil command has none", r.Action)
		}
		name := strings.TrimPrefix(strings.TrimPrefix(r.Prefix, "/action"), "/")
		if name == "" || strings.Contains(name, "/") {
			return ""
		}
		switch name {
		case "logout", "csrf":
			return ""
		case "login":
			if s.auth == nil {
				return "handler=action: /action/login needs users: no auth.txt is given and route.txt has no user lines"
			}
			return ""
		}
		if s.lookupAction(name) == nil && !demoUI {
			return fmt.Sprintf("handler=action: no action %q registered (Server.Action); the vigil command has none but login, logout and csrf", name)
		}
	case "redirect":
		if !r.HTTPS && len(r.Redirects) == 0 {
			return "handler=redirect without redirect=URI or redirect=https"
		}
	default:
		for _, m := range r.Methods {
			if (m == http.MethodPut || m == http.MethodDelete) && r.Dir == "" && root == "" {
				return fmt.Sprintf("methods=%s needs dir= or a document root (--root) to write in", m)
			}
		}
	}
	return ""
}

func lastSegment(p string) string { return p[strings.LastIndexByte(p, '/')+1:] }

// unserved answers a request that rule cannot serve with code, and logs
// why at Debug: a route that answers 404 in silence is a configuration
// nobody can debug.
func (s *Site) unserved(w http.ResponseWriter, r *http.Request, rule *route.Rule, code int, reason string) {
	source := "-"
	if rule != nil {
		source = rule.Source
	}
	s.log.Debug("vigil: request not served", "rule", source, "method", r.Method, "path", r.URL.Path, "status", code, "reason", reason)
	http.Error(w, fmt.Sprintf("%d %s", code, strings.ToLower(http.StatusText(code))), code)
}

// uploadStore is the directory where an upload rule without an action
// stores files: its dir=, else Options.UploadDir; "" if neither.
func (s *Site) uploadStore(rule *route.Rule) string {
	if rule.Dir != "" {
		return rule.Dir
	}
	return s.uploadDir
}

// storeFiles is the action of an upload rule that has none, with
// Options.StoreUploads: each received file is moved into the rule's
// directory under its client name (sanitised by package upload), replacing
// a file of that name; the move is a rename, or a copy into a temporary file
// there renamed over the target, so a file is never seen half-written.
func (s *Site) storeFiles(dir string, rule *route.Rule) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res := Uploaded(r)
		if res == nil || len(res.Files) == 0 {
			s.unserved(w, r, rule, http.StatusBadRequest, "the upload has no file")
			return
		}
		var b strings.Builder
		for _, f := range res.Files {
			if f.Size == 0 {
				s.unserved(w, r, rule, http.StatusBadRequest, "an uploaded file is empty: "+f.ClientName)
				return
			}
		}
		for _, f := range res.Files {
			name := f.ClientName
			if name == "" || !fs.ValidPath(name) || strings.HasPrefix(name, ".") {
				name = "upload-" + f.SHA256[:16]
			}
			dst := filepath.Join(dir, name)
			if err := upload.MoveTo(f, dst); err != nil {
				s.log.Error("vigil: storing an upload failed", "rule", rule.Source, "file", dst, "err", err)
				http.Error(w, "500 could not store the file", http.StatusInternalServerError)
				return
			}
			s.log.Info("vigil: upload stored", "rule", rule.Source, "file", dst, "bytes", f.Size, "sha256", f.SHA256)
			fmt.Fprintf(&b, "<li><code>%s</code>: %d bytes, SHA-256 <code>%s</code></li>", html.EscapeString(name), f.Size, f.SHA256)
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, "<!doctype html><meta charset=utf-8><meta name=viewport content=\"width=device-width, initial-scale=1\"><title>Stored</title><h1>Stored</h1><ul>%s</ul>\n", b.String())
	})
}

// cgiNotFound wraps the CGI host of rule: a request for a program that is
// not there is logged at Debug with the path vigil looked for.
func cgiNotFound(h http.Handler, rule *route.Rule, dir string, log *slog.Logger) http.Handler {
	progs := filepath.Join(dir, "cgi-bin")
	prefix := strings.TrimSuffix(rule.Prefix, "/") + "/"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, prefix), "/")
		prog := filepath.Join(progs, name)
		if fi, err := os.Stat(prog); name == "" || err != nil || !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0 {
			reason := "no executable program " + prog
			if name == "" {
				reason = "no program name after " + prefix
			}
			log.Debug("vigil: request not served", "rule", rule.Source, "method", r.Method, "path", r.URL.Path, "status", http.StatusNotFound, "reason", reason)
		}
		h.ServeHTTP(w, r)
	})
}
