//go:build notmpl

package vigil_test

import (
	"testing"

	"github.com/vigilhttp/vigil/jst"
)

// A build without html/template keeps GoAhead pages: they need no
// template engine and no reflection.
func TestNoTmplKeepsJST(t *testing.T) {
	srv, base, _, _ := jstSite(t, map[string]string{"lan.asp": `ip=<% getCfgGeneral(1, "lanIp"); %> <% n(); %>`},
		"route uri=/ handler=jst\n", map[string]string{"lanIp": "10.0.0.1"})
	srv.JST("n", func(c *jst.Call) error { c.Return("x"); return nil })
	if code, body, _ := sendH(t, "GET", base+"/lan.asp", "", "", ""); code != 200 || body != "ip=10.0.0.1 " {
		t.Fatalf("GET /lan.asp: %d %q, want 200 %q", code, body, "ip=10.0.0.1 ")
	}
}
