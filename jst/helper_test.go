package jst

import (
	"bytes"
	"net/http/httptest"
	"testing"
	"testing/fstest"
)

// renderString renders src as the page "t.asp" with the given functions
// bound and returns its output and error.
func renderString(t testing.TB, src string, m Mode, lim Limits, funcs map[string]Func) (string, error) {
	t.Helper()
	e, err := New(Options{Root: fstest.MapFS{"t.asp": {Data: []byte(src)}}, Limits: lim, NoRequestVars: true})
	if err != nil {
		t.Fatal(err)
	}
	for n, f := range funcs {
		e.Define(n, f)
	}
	pg, _, err := e.page("t.asp")
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	out := &output{buf: &buf, max: e.opts.Limits.MaxOutput}
	err = e.render(out, httptest.NewRequest("GET", "/t.asp", nil), pg, m)
	return buf.String(), err
}
