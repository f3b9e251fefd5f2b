package jst

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func TestBoundFunctions(t *testing.T) {
	errBroken := errors.New("config store broken")
	var kept *Call
	funcs := map[string]Func{
		"add": func(c *Call) error {
			a, _ := strconv.Atoi(c.Arg(0))
			b, _ := strconv.Atoi(c.Arg(1))
			c.Return(strconv.Itoa(a + b))
			return nil
		},
		"nargs": func(c *Call) error {
			_, err := io.WriteString(c, strconv.Itoa(len(c.Args))+":"+c.Arg(5))
			return err
		},
		"path":   func(c *Call) error { _, err := c.WriteString(c.Request.URL.Path + " " + c.Name); return err },
		"broken": func(c *Call) error { return errBroken },
		"keep":   func(c *Call) error { kept = c; return nil },
		"write":  func(c *Call) error { _, err := c.WriteString("mine:" + strings.Join(c.Args, "+")); return err },
	}
	for _, c := range []struct{ name, src, want string }{
		{"arguments are strings and the result a value", `<% write(add(2, "3") + 1); %>`, "6"},
		{"an expression as an argument", `<% x = 4; write(add(x * 2, add(1, 1))); %>`, "10"},
		{"no arguments, and Arg past the end", `<% nargs(); nargs(1, 2); %>`, "0:2:"},
		{"the request and the name", `<% path(); %>`, "/t.asp path"},
		{"a call without Return is empty", `<% write("[" + path() + "]"); %>`, "/t.asp path[]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := map[string]Func{}
			for k, v := range funcs {
				if k != "write" {
					f[k] = v
				}
			}
			got, err := renderString(t, c.src, Mode{}, Limits{}, f)
			if err != nil || got != c.want {
				t.Fatalf("%s: %q, %v; want %q", c.src, got, err, c.want)
			}
		})
	}
	t.Run("a function's error fails the page with its line and wraps the error", func(t *testing.T) {
		_, err := renderString(t, "\n<% broken(); %>", Mode{}, Limits{}, funcs)
		var e *Error
		if !errors.As(err, &e) || !errors.Is(err, errBroken) || e.Line != 2 || e.Msg != "broken: config store broken" {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("a bound function hides the built-in of its name", func(t *testing.T) {
		got, err := renderString(t, `<% write("a", "b"); %>`, Mode{}, Limits{}, funcs)
		if err != nil || got != "mine:a+b" {
			t.Fatalf("%q, %v", got, err)
		}
	})
	t.Run("a Call fails once its function returned", func(t *testing.T) {
		if _, err := renderString(t, `<% keep(); %>`, Mode{}, Limits{}, funcs); err != nil {
			t.Fatal(err)
		}
		if _, err := kept.WriteString("late"); !errors.Is(err, errCallDone) {
			t.Fatalf("late write: %v", err)
		}
		if err := kept.WriteRaw("late"); !errors.Is(err, errCallDone) {
			t.Fatalf("late raw write: %v", err)
		}
	})
}

func TestDefine(t *testing.T) {
	e, err := New(Options{Root: fstest.MapFS{}})
	if err != nil {
		t.Fatal(err)
	}
	f := func(c *Call) error { return nil }
	e.Define("getCfgGeneral", f)
	e.Define("$x_1", f)
	if e.lookup("getCfgGeneral") == nil || e.lookup("$x_1") == nil {
		t.Fatal("Define did not bind")
	}
	e.Define("getCfgGeneral", nil)
	if e.lookup("getCfgGeneral") != nil {
		t.Fatal("Define(name, nil) did not remove the binding")
	}
	for _, bad := range []string{"", "1x", "a.b", "a-b", "é"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Define(%q) did not panic", bad)
				}
			}()
			e.Define(bad, f)
		}()
	}
}

func TestEscaping(t *testing.T) {
	const evil = `<b>&"'`
	funcs := map[string]Func{
		"val":  func(c *Call) error { c.Return(evil); return nil },
		"emit": func(c *Call) error { _, err := c.WriteString("<i>" + evil); return err },
		"opts": func(c *Call) error { return c.WriteRaw(`<option value="1">`) },
	}
	for _, c := range []struct {
		name, src, raw, escaped string
	}{
		{"what a function writes", `<% emit(); %>`, "<i>" + evil, "&lt;i&gt;&lt;b&gt;&amp;&#34;&#39;"},
		{"what a function returns", `<% write(val()); %>`, evil, "&lt;b&gt;&amp;&#34;&#39;"},
		{"the page's own literals stay raw", `<% write("<option selected>"); %>`, "<option selected>", "<option selected>"},
		{"only the function's part of a concatenation", `<% write("<td>" + val() + "</td>"); %>`, "<td>" + evil + "</td>", "<td>&lt;b&gt;&amp;&#34;&#39;</td>"},
		{"through a variable", `<% var v = "[" + val(); write(v + "]", "<br>"); %>`, "[" + evil + "] <br>", "[&lt;b&gt;&amp;&#34;&#39;] <br>"},
		{"a comparison is not a value from Go", `<% write(val() == "x"); %>`, "0", "0"},
		{"writeEscaped escapes everything", `<% writeEscaped("<a>", val()); %>`, "&lt;a&gt; &lt;b&gt;&amp;&#34;&#39;", "&lt;a&gt; &lt;b&gt;&amp;&#34;&#39;"},
		{"escape() returns escaped text, escaped once", `<% write(escape(val())); %>`, "&lt;b&gt;&amp;&#34;&#39;", "&lt;b&gt;&amp;&#34;&#39;"},
		{"WriteRaw stays raw", `<% opts(); %>`, `<option value="1">`, `<option value="1">`},
		{"text outside blocks stays raw", `<p title="<% write(val()); %>">`, `<p title="` + evil + `">`, `<p title="&lt;b&gt;&amp;&#34;&#39;">`},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, m := range []struct {
				mode Mode
				want string
			}{{Mode{}, c.raw}, {Mode{EscapeHTML: true}, c.escaped}} {
				got, err := renderString(t, c.src, m.mode, Limits{}, funcs)
				if err != nil || got != m.want {
					t.Fatalf("%s with %+v: %q, %v; want %q", c.src, m.mode, got, err, m.want)
				}
			}
		})
	}
}

func TestLimits(t *testing.T) {
	big := func(c *Call) error {
		for i := 0; i < 100; i++ {
			c.WriteString(strings.Repeat("x", 100)) // errors ignored on purpose
		}
		return nil
	}
	for _, c := range []struct {
		name string
		src  string
		lim  Limits
		want error
	}{
		{"a for loop that does not end", `<% for (;;) ; %>`, Limits{}, ErrSteps},
		{"a for loop whose condition never starts with 0", `<% for (i = 0; i + 1; i++) write(""); %>`, Limits{}, ErrSteps},
		{"a string that doubles", `<% s = "xx"; for (i = 0; i < 100; i++) s = s + s; %>`, Limits{}, ErrValueTooLarge},
		{"a string that grows by a little, for ever", `<% s = "x"; for (;;) s = s + "xxxxxxxxxxxxxxxx"; %>`, Limits{}, ErrSteps},
		{"writes past MaxOutput", `<% for (i = 0; i < 1000; i++) write("0123456789"); %>`, Limits{MaxOutput: 5000}, ErrOutputTooLarge},
		{"text past MaxOutput", strings.Repeat("t", 101), Limits{MaxOutput: 100}, ErrOutputTooLarge},
		{"a function that ignores its write errors", `<% big(); %>`, Limits{MaxOutput: 5000}, ErrOutputTooLarge},
		{"an escape() past MaxValue", `<% s = "<"; for (i = 0; i < 19; i++) s = s + s; write(escape(s)); %>`, Limits{MaxValue: 1 << 20}, ErrValueTooLarge},
		{"a small step budget", `<% for (i = 0; i < 100; i++) ; %>`, Limits{MaxSteps: 100}, ErrSteps},
	} {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			_, err := renderString(t, c.src, Mode{}, c.lim, map[string]Func{"big": big})
			if !errors.Is(err, c.want) {
				t.Fatalf("%s: error %v, want %v", c.src, err, c.want)
			}
			var e *Error
			if !errors.As(err, &e) || e.File != "t.asp" {
				t.Fatalf("error %v is not a page's *Error", err)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Fatalf("took %v to hit the limit", d)
			}
		})
	}
	t.Run("a loop within the budget runs", func(t *testing.T) {
		got, err := renderString(t, `<% for (i = 0; i < 10; i++) ; write(i); %>`, Mode{}, Limits{MaxSteps: 100}, nil)
		if err != nil || got != "10" {
			t.Fatalf("%q, %v", got, err)
		}
	})
	t.Run("negative limits are refused", func(t *testing.T) {
		if _, err := New(Options{Root: fstest.MapFS{}, Limits: Limits{MaxSteps: -1}}); err == nil {
			t.Fatal("New accepted MaxSteps -1")
		}
		if _, err := New(Options{}); err == nil {
			t.Fatal("New accepted a nil Root")
		}
	})
}

// TestRequestEndsRender shows a render stops when its request's context
// ends, even with a step budget large enough to spin for minutes.
func TestRequestEndsRender(t *testing.T) {
	e, err := New(Options{Root: fstest.MapFS{"t.asp": {Data: []byte(`<% for (;;) ; %>`)}}, Limits: Limits{MaxSteps: 1 << 40}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req := httptest.NewRequest("GET", "/t.asp", nil).WithContext(ctx)
	pg, _, err := e.page("t.asp")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = e.render(&output{buf: new(bytes.Buffer), max: 1 << 20}, req, pg, Mode{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want the context's", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("render ran %v after its request ended", d)
	}
}
