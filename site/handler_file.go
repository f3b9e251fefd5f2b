package site

import (
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vigilhttp/vigil/route"
	"github.com/vigilhttp/vigil/static"
)

// servedGuards appends to chain, the rules of a GET or HEAD on a file route,
// the guarding rules of the files the file handler may answer with instead
// of the cleaned path itself: a directory's index file (and its .gz), the
// .gz sibling of a file, and for a path ending in .gz the file it
// compresses. So "route uri=/ extensions=cfg auth=basic" guards /x.cfg.gz
// and a /dir/ whose index is guarded as well. The final rule stays last.
func servedGuards(st *snapshot, chain []*route.Rule, method, clean string, tls bool) []*route.Rule {
	var room [8]*route.Rule
	var alt []*route.Rule
	switch {
	case strings.HasSuffix(clean, "/"):
		alt = st.rules.AppendServed(room[:0], method, clean, static.DefaultIndex, tls)
		alt = st.rules.AppendServed(alt, method, clean, static.DefaultIndex+".gz", tls)
	case strings.HasSuffix(clean, ".gz"):
		alt = st.rules.AppendServed(room[:0], method, strings.TrimSuffix(clean, ".gz"), "", tls)
	default:
		alt = st.rules.AppendServed(room[:0], method, clean, ".gz", tls)
	}
	final := chain[len(chain)-1]
	for _, g := range alt {
		if g.Guards() && !slices.Contains(chain, g) {
			chain = append(chain[:len(chain)-1], g, final)
		}
	}
	return chain
}

// linksStay reports whether a GET or HEAD of the cleaned path clean on a
// file route, whose checks chain has passed, may be served as far as
// symbolic links go: when no segment of the path (nor the index file or .gz
// sibling the file handler may answer with) is a link, or when every link's
// target lies under the route that matched and gets the same rules there.
// Otherwise the link would serve, under this rule, a file that another
// rule guards (or one outside the document root): it logs why at Debug and
// reports false (the caller answers 404). symlinks=follow on the rule skips
// this.
func (s *Site) linksStay(r *http.Request, st *snapshot, chain []*route.Rule, clean string) bool {
	final := chain[len(chain)-1]
	if final.Dir == "" && s.fileRoot == "" {
		return true // an fs.FS: no links
	}
	real, ok := st.real[final.Dir]
	if !ok {
		return true
	}
	// Walk the path by segments: a link anywhere in it counts.
	rel := strings.Trim(clean, "/")
	cur := real
	link := false
	for seg := range strings.SplitSeq(rel, "/") {
		if seg == "" {
			continue
		}
		cur = filepath.Join(cur, seg)
		fi, err := os.Lstat(cur)
		if err != nil {
			return true // missing: the file handler answers 404
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			link = true
			break
		}
	}
	var served []string // the files the handler may open, when some link is on the way
	if strings.HasSuffix(clean, "/") || rel == "" {
		served = []string{filepath.Join(real, rel, static.DefaultIndex), filepath.Join(real, rel, static.DefaultIndex+".gz")}
	} else {
		served = []string{filepath.Join(real, rel), filepath.Join(real, rel+".gz")}
	}
	if !link {
		for _, f := range served {
			if fi, err := os.Lstat(f); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
				link = true
				break
			}
		}
	}
	if !link {
		return true
	}
	for _, f := range served {
		target, err := filepath.EvalSymlinks(f)
		if errors.Is(err, fs.ErrNotExist) {
			if _, lerr := os.Lstat(f); lerr != nil {
				continue // no such file: nothing to serve
			}
		}
		if err != nil {
			s.log.Debug("vigil: symbolic link refused", "path", clean, "route", final.Source, "err", err)
			return false
		}
		relT, err := filepath.Rel(real, target)
		if err != nil || relT == ".." || strings.HasPrefix(relT, ".."+string(filepath.Separator)) {
			s.log.Debug("vigil: symbolic link refused: its target is outside the document root", "path", clean, "route", final.Source)
			return false
		}
		tpath := "/" + filepath.ToSlash(relT)
		if relT == "." {
			tpath = "/"
		}
		if !s.sameRules(st, chain, r, tpath) {
			s.log.Debug("vigil: symbolic link refused: its target is under other rules (symlinks=follow allows it)",
				"path", clean, "target", tpath, "route", final.Source)
			return false
		}
	}
	return true
}

// sameRules reports whether the URL path target lies under the final rule of
// chain and gets no guard that chain lacks.
func (s *Site) sameRules(st *snapshot, chain []*route.Rule, r *http.Request, target string) bool {
	final := chain[len(chain)-1]
	if !route.Covers(final.Prefix, target) {
		return false
	}
	var room [8]*route.Rule
	tc := st.rules.AppendChain(room[:0], r.Method, target, r.TLS != nil)
	if len(tc) == 0 || tc[len(tc)-1] != final {
		return false
	}
	for _, g := range tc {
		if g.Guards() && !slices.Contains(chain, g) {
			return false
		}
	}
	return true
}
