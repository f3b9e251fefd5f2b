package static

import (
	"io/fs"
	"math"
	"net/http"
	"path"
	"strconv"
	"strings"
)

// cleanPath checks the request path p (r.URL.Path, already %-decoded) and
// returns the fs.FS name it designates and whether p names a directory
// (ends in "/" or "/."). A non-zero code is the HTTP status to refuse the
// request with:
//
//   - 400 when p does not start with "/", contains a NUL, a backslash, a
//     control byte or a ".." segment, or does not clean to a valid name;
//   - 404 when a segment of the cleaned path starts with "." (dotfiles).
//
// Every ".." segment is refused, not only those that would climb above the
// root: browsers resolve dot segments before they send a request, so only
// hand-made requests carry them, and refusing them keeps the name served
// and the relative URLs in it in agreement.
func cleanPath(p string) (name string, slash bool, code int) {
	if p == "" || p[0] != '/' {
		return "", false, http.StatusBadRequest
	}
	for i := 0; i < len(p); i++ {
		if b := p[i]; b < 0x20 || b == 0x7f || b == '\\' {
			return "", false, http.StatusBadRequest
		}
	}
	for seg := range strings.SplitSeq(p, "/") {
		if seg == ".." {
			return "", false, http.StatusBadRequest
		}
	}
	slash = strings.HasSuffix(p, "/") || strings.HasSuffix(p, "/.")
	name = strings.TrimPrefix(path.Clean(p), "/")
	if name == "" {
		return ".", true, 0
	}
	for seg := range strings.SplitSeq(name, "/") {
		if strings.HasPrefix(seg, ".") {
			return "", false, http.StatusNotFound
		}
	}
	if !fs.ValidPath(name) {
		return "", false, http.StatusBadRequest
	}
	return name, slash, 0
}

// acceptsGzip reports whether the Accept-Encoding field values vals allow a
// gzip-encoded response (RFC 9110, section 12.5.3): "gzip" or "x-gzip" with a
// q-value above zero, or, when neither is listed, "*" with a q-value above
// zero. A malformed q-value counts as zero.
func acceptsGzip(vals []string) bool {
	gzip, star := -1.0, -1.0
	for _, v := range vals {
		for item := range strings.SplitSeq(v, ",") {
			coding, params, _ := strings.Cut(item, ";")
			coding = strings.ToLower(strings.TrimSpace(coding))
			if coding != "gzip" && coding != "x-gzip" && coding != "*" {
				continue
			}
			q := qValue(params)
			switch {
			case coding == "*":
				star = max(star, q)
			default:
				gzip = max(gzip, q)
			}
		}
	}
	if gzip >= 0 {
		return gzip > 0
	}
	return star > 0
}

// qValue returns the weight in the parameters params of one
// Accept-Encoding item ("q=0.5;…"): 1 when absent, 0 when malformed.
func qValue(params string) float64 {
	for param := range strings.SplitSeq(params, ";") {
		k, v, _ := strings.Cut(param, "=")
		if !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || q < 0 || q > 1 || math.IsNaN(q) {
			return 0
		}
		return q
	}
	return 1
}
