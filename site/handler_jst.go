package site

import (
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/vigilhttp/vigil/jst"
	"github.com/vigilhttp/vigil/route"
	"github.com/vigilhttp/vigil/static"
)

// jstPages holds what the handler=jst rules render with: the functions
// bound with Site.JST and one jst.Engine per directory pages come from.
// Engines outlive a reload (which Resets them, so every page is parsed
// again), and each has every bound function.
type jstPages struct {
	// content opens the tree of the rules without dir=: the document
	// root, Options.FS or the demo UI; nil when there is none (the server
	// serves a Handler). Called once, for the first such rule.
	content func() (fs.FS, error)
	log     *slog.Logger

	mu      sync.Mutex
	funcs   map[string]jst.Func    // guarded by mu
	engines map[string]*jst.Engine // by dir= ("" = content); guarded by mu
}

func newJSTPages(content func() (fs.FS, error), log *slog.Logger) *jstPages {
	return &jstPages{content: content, log: log, funcs: map[string]jst.Func{}, engines: map[string]*jst.Engine{}}
}

// define binds name to fn in every engine, those made later too.
func (p *jstPages) define(name string, fn jst.Func) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if fn == nil {
		delete(p.funcs, name)
	} else {
		p.funcs[name] = fn
	}
	for _, e := range p.engines {
		e.Define(name, fn)
	}
}

// engine returns the engine of the pages in dir (a rule's dir=, or "" for
// the content), made on first use.
func (p *jstPages) engine(dir string) (*jst.Engine, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e := p.engines[dir]; e != nil {
		return e, nil
	}
	var fsys fs.FS
	var err error
	switch {
	case dir != "":
		if fsys, err = static.Dir(dir); err != nil {
			return nil, fmt.Errorf("dir: %w", err)
		}
	case p.content != nil:
		if fsys, err = p.content(); err != nil {
			return nil, err
		}
	}
	if fsys == nil {
		return nil, fmt.Errorf("handler=jst needs dir= or a document root: this server serves a Handler")
	}
	e, err := jst.New(jst.Options{Root: fsys, Logger: p.log})
	if err != nil {
		return nil, err
	}
	for name, fn := range p.funcs {
		e.Define(name, fn)
	}
	p.engines[dir] = e
	return e, nil
}

// reset drops every parsed page (SIGHUP): the next request of each parses
// its file again.
func (p *jstPages) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range p.engines {
		e.Reset()
	}
}

// serveJST renders the page the cleaned path clean names, under the rule's
// dir= or the content, with the rule's escaping and error mode. The page
// is rendered into a bounded buffer and sent in one Write through the
// governed connection (jst.Engine.Serve); a script error is a 500 and a
// "file:line: message" log line, or GoAhead's inline text with
// errors=inline.
func (s *Site) serveJST(w http.ResponseWriter, r *http.Request, st *snapshot, rule *route.Rule, clean string) {
	e := st.jst[rule.Dir]
	name := strings.TrimPrefix(clean, "/")
	if e == nil || name == "" || strings.HasSuffix(name, "/") {
		s.unserved(w, r, rule, http.StatusNotFound, "handler=jst: no page at this path")
		return
	}
	for seg := range strings.SplitSeq(name, "/") {
		if strings.HasPrefix(seg, ".") {
			s.unserved(w, r, rule, http.StatusNotFound, "handler=jst: a path segment starting with . is never served")
			return
		}
	}
	e.Serve(w, r, name, jst.Mode{EscapeHTML: rule.EscapeHTML, InlineErrors: rule.InlineErrors})
}
