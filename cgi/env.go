package cgi

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// errNotFound is returned by resolve for every name that does not map to a
// runnable program; callers answer 404 without saying why.
var errNotFound = errors.New("cgi: no such program")

// validName reports whether name is a plain file name: not empty, not made
// of dots only, and free of '/', '\\' and NUL.
func validName(name string) bool {
	if name == "" || strings.Trim(name, ".") == "" {
		return false
	}
	return !strings.ContainsAny(name, "/\\\x00")
}

// resolve maps NAME to the real path of a regular, executable file inside
// root (Dir/cgi-bin), following symlinks and refusing any that leave root.
func resolve(root, name string) (string, error) {
	if !validName(name) {
		return "", errNotFound
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return "", errNotFound
	}
	real, err := filepath.EvalSymlinks(filepath.Join(realRoot, name))
	if err != nil {
		return "", errNotFound
	}
	rel, err := filepath.Rel(realRoot, real)
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return "", errNotFound
	}
	fi, err := os.Stat(real)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return "", errNotFound
	}
	return real, nil
}

// forbiddenPrefixes are the loader variables no child may receive, whatever
// their source (CVE-2017-17562, CVE-2021-42342).
var forbiddenPrefixes = []string{"LD_", "DYLD_", "_RLD", "LDR_"}

// envName reports whether s is a safe variable name: [A-Z0-9_]+.
func envName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// envBuilder collects variables, first definition wins, refusing unsafe ones.
type envBuilder struct {
	log  *slog.Logger
	seen map[string]bool
	list []string
}

func (b *envBuilder) add(name, value string) {
	if b.seen[name] {
		return
	}
	for _, p := range forbiddenPrefixes {
		if strings.HasPrefix(name, p) {
			b.log.Warn("cgi: dropped loader variable", "name", name)
			return
		}
	}
	if strings.IndexByte(value, 0) >= 0 || strings.IndexByte(name, 0) >= 0 || strings.IndexByte(name, '=') >= 0 || name == "" {
		b.log.Warn("cgi: dropped malformed variable", "name", name)
		return
	}
	if strings.HasPrefix(value, "()") {
		// Shellshock-style function definition; no legitimate value looks like this.
		b.log.Warn("cgi: dropped function-like variable", "name", name)
		return
	}
	b.seen[name] = true
	b.list = append(b.list, name+"="+value)
}

// buildEnv makes the child environment from scratch: RFC 3875 variables,
// request headers as HTTP_*, then the fixed Options.Env. Request parameters
// (query or form) never become variables.
func (h *Handler) buildEnv(r *http.Request, scriptName, pathInfo string) []string {
	b := &envBuilder{log: h.log, seen: map[string]bool{}}

	serverName, serverPort := splitHostPort(r.Host)
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		lh, lp := splitHostPort(la.String())
		if serverName == "" {
			serverName = lh
		}
		if serverPort == "" {
			serverPort = lp
		}
	}
	if serverPort == "" {
		serverPort = "80"
		if r.TLS != nil {
			serverPort = "443"
		}
	}
	remoteAddr, remotePort := splitHostPort(r.RemoteAddr)

	b.add("GATEWAY_INTERFACE", "CGI/1.1")
	b.add("SERVER_SOFTWARE", "vigil")
	b.add("SERVER_PROTOCOL", r.Proto)
	b.add("SERVER_NAME", serverName)
	b.add("SERVER_PORT", serverPort)
	b.add("REQUEST_METHOD", r.Method)
	b.add("REQUEST_URI", r.URL.RequestURI())
	b.add("SCRIPT_NAME", scriptName)
	b.add("PATH_INFO", pathInfo)
	if pathInfo != "" {
		// Cleaned as rooted, so "/../x" cannot leave Dir.
		b.add("PATH_TRANSLATED", filepath.Join(h.dir, filepath.FromSlash(path.Clean("/"+pathInfo))))
	}
	b.add("QUERY_STRING", r.URL.RawQuery)
	b.add("REMOTE_ADDR", remoteAddr)
	b.add("REMOTE_PORT", remotePort)
	if r.TLS != nil {
		b.add("HTTPS", "on")
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		b.add("CONTENT_TYPE", ct)
	}
	if r.ContentLength > 0 {
		b.add("CONTENT_LENGTH", strconv.FormatInt(r.ContentLength, 10))
	}
	if r.Host != "" {
		b.add("HTTP_HOST", r.Host)
	}

	keys := make([]string, 0, len(r.Header))
	for k := range r.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ck := http.CanonicalHeaderKey(k)
		switch {
		case ck == "Proxy": // httpoxy
			continue
		case ck == "Authorization" && !h.opts.PassAuthorization:
			continue
		case ck == "Content-Type" || ck == "Content-Length" || ck == "Host":
			continue
		case strings.Contains(k, "_"):
			// "X_Foo" would alias "X-Foo" (the Apache 2.4 rule): drop it.
			continue
		}
		name := "HTTP_" + strings.ToUpper(strings.ReplaceAll(k, "-", "_"))
		if !envName(name) {
			continue
		}
		sep := ", "
		if ck == "Cookie" {
			sep = "; "
		}
		b.add(name, strings.Join(r.Header[k], sep))
	}

	for _, kv := range h.env {
		name, value, ok := strings.Cut(kv, "=")
		if !ok {
			h.log.Warn("cgi: ignored Env entry without '='", "entry", kv)
			continue
		}
		b.add(name, value)
	}
	return b.list
}

// splitHostPort splits "host:port", tolerating a missing port.
func splitHostPort(s string) (host, port string) {
	if h, p, err := net.SplitHostPort(s); err == nil {
		return h, p
	}
	return s, ""
}
