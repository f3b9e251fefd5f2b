// Package route owns the route table: which policy and handler a request
// path gets. Matching is by whole path segment on the cleaned path, so a
// route for /admin matches /admin and /admin/x but never /administrator.
//
// Package route imports no package of this module.
package route

import (
	"net/http"
	"path"
	"strings"
	"time"
)

// Policy is the per-route bound on a request. Zero fields take the server's
// defaults; negative ones disable the bound where that is allowed.
type Policy struct {
	// BodyLimit caps the request body, in bytes; zero means the server's
	// default, negative means no cap.
	BodyLimit int64
	// StallTimeout bounds each read of the body and each write of the
	// response; zero means the server's default.
	StallTimeout time.Duration
	// MinRate is the minimum average rate of body and response in bytes per
	// second; zero means the server's default, negative means none.
	MinRate int64
	// TransferTimeout caps the body and the response each; zero means the
	// server's default, negative means none.
	TransferTimeout time.Duration
	// HandlerTimeout bounds the handler's run time, as its request context's
	// deadline; zero means the server's default, negative means none.
	HandlerTimeout time.Duration
}

// Merge returns p with its zero fields taken from def.
func (p Policy) Merge(def Policy) Policy {
	if p.BodyLimit == 0 {
		p.BodyLimit = def.BodyLimit
	}
	if p.StallTimeout == 0 {
		p.StallTimeout = def.StallTimeout
	}
	if p.MinRate == 0 {
		p.MinRate = def.MinRate
	}
	if p.TransferTimeout == 0 {
		p.TransferTimeout = def.TransferTimeout
	}
	if p.HandlerTimeout == 0 {
		p.HandlerTimeout = def.HandlerTimeout
	}
	return p
}

// Policy returns the policy of the rule that handles r, for
// httpd.Policies.
func (rs *Rules) Policy(r *http.Request) (Policy, string, bool) {
	rule, ok := rs.Match(r.Method, r.URL.Path, r.TLS != nil)
	if !ok {
		return Policy{}, "", false
	}
	return rule.Policy, rule.Prefix, true
}

// Clean returns the canonical form of a request path: rooted, with "." and
// ".." segments resolved (never above the root) and duplicate slashes
// removed. A trailing slash is kept.
func Clean(p string) string {
	if p == "" || p[0] != '/' {
		p = "/" + p
	}
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c
}

// Covers reports whether prefix covers the cleaned path p by whole segments.
func Covers(prefix, p string) bool {
	prefix = strings.TrimSuffix(prefix, "/")
	if prefix == "" {
		return true
	}
	return p == prefix || (strings.HasPrefix(p, prefix) && p[len(prefix)] == '/')
}
