// Command jst is the smallest program that renders a JST page; the jst
// package's tests link it and look at its symbols.
package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"testing/fstest"

	"github.com/vigilhttp/vigil/jst"
)

func main() {
	e, err := jst.New(jst.Options{Root: fstest.MapFS{"p.asp": {Data: []byte(`<% hello("x"); %>`)}}})
	if err != nil {
		panic(err)
	}
	e.Define("hello", func(c *jst.Call) error { _, err := c.WriteString(c.Arg(0)); return err })
	w := httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/p.asp", nil))
	os.Stdout.Write(w.Body.Bytes())
}
