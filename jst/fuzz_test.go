package jst

import (
	"bytes"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// FuzzPage parses and renders any page with small limits: no panic, a
// render that ends within a bounded time, output within MaxOutput, and
// every error an *Error naming the page.
func FuzzPage(f *testing.F) {
	for _, c := range langCases {
		f.Add(c.src)
	}
	for _, c := range errCases {
		f.Add(c.src)
	}
	for _, s := range []string{
		"", "<%", "%>", "<% %>", "<%%>", "<% <% %> %>", "<% write(\"", "<% write('\\",
		"<% " + strings.Repeat("(", 5000), "<% " + strings.Repeat("!", 5000) + "1 %>",
		"<% " + strings.Repeat("{", 5000), "<% " + strings.Repeat("a = ", 5000) + "1 %>",
		"<% write(" + strings.Repeat("1 + ", 5000) + "1); %>",
		"<% write(" + strings.Repeat("1 && ", 5000) + "1); %>",
		"<% write(\"" + strings.Repeat("x", 100000) + "\"); %>",
		"<% for (;;) s = s + s; %>", "<% s = 1; for (;;) s = s + s; %>",
		"<% for (i = 0; i < 99999999; i++) { for (j = 0; j < 99999999; j++) write(i, j); } %>",
		"<% f(g(h(1))); %>", "<% echo(ret(\"<\" + 1)); %>", "<% /* ", "<% // %>",
		"<% language=javascript %>", "<%language", "<% x\\\n\\\r\n= 1 %>",
		"<% write(\"\\u12\\x4\\777\\8\"); %>",
	} {
		f.Add(s)
	}
	lim := Limits{MaxOutput: 64 << 10, MaxValue: 16 << 10, MaxSteps: 20000, MaxDepth: 50}
	f.Fuzz(func(t *testing.T, src string) {
		e, err := New(Options{Root: fstest.MapFS{"f.asp": {Data: []byte(src)}}, Limits: lim})
		if err != nil {
			t.Fatal(err)
		}
		e.Define("echo", func(c *Call) error { _, err := c.WriteString(strings.Join(c.Args, ",")); return err })
		e.Define("ret", func(c *Call) error { c.Return(c.Arg(0)); return nil })
		start := time.Now()
		pg, _, err := e.page("f.asp")
		for _, m := range []Mode{{}, {EscapeHTML: true}} {
			if err != nil {
				break
			}
			var buf bytes.Buffer
			out := &output{buf: &buf, max: lim.MaxOutput}
			rerr := e.render(out, httptest.NewRequest("GET", "/f.asp?q=%3C", nil), pg, m)
			if buf.Len() > lim.MaxOutput {
				t.Fatalf("output of %d bytes past MaxOutput", buf.Len())
			}
			if rerr != nil && !strings.HasPrefix(rerr.Error(), "f.asp:") {
				t.Fatalf("error %q does not name the page", rerr)
			}
		}
		if err != nil && !strings.HasPrefix(err.Error(), "f.asp:") {
			t.Fatalf("parse error %q does not name the page", err)
		}
		if d := time.Since(start); d > 2*time.Second+time.Duration(len(src))*time.Microsecond {
			t.Fatalf("parse and render took %v", d)
		}
	})
}
