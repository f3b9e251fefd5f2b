package jst

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// goTool returns the go command of the toolchain running the test.
func goTool(t *testing.T) string {
	t.Helper()
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := exec.LookPath(p); err == nil {
		return p
	}
	p, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build with")
	}
	return p
}

// TestNoTemplateDeps holds the package's promise: no text/template or
// html/template among its dependencies.
func TestNoTemplateDeps(t *testing.T) {
	out, err := exec.Command(goTool(t), "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		switch dep {
		case "text/template", "html/template":
			t.Errorf("jst depends on %s", dep)
		}
	}
}

// TestNoMethodLookup links the smallest program that renders a page and
// shows reflect's method lookup (Value.Method, MethodByName) is not in it:
// once that is reachable the linker must keep every exported method of
// every type, which is what makes html/template builds big. A program
// with text/template is linked too, to show the check sees the symbols
// when they are there.
func TestNoMethodLookup(t *testing.T) {
	if testing.Short() {
		t.Skip("links two programs")
	}
	gotool := goTool(t)
	dir := t.TempDir()
	syms := func(pkg string) string {
		bin := filepath.Join(dir, filepath.Base(pkg))
		if out, err := exec.Command(gotool, "build", "-o", bin, pkg).CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
		out, err := exec.Command(gotool, "tool", "nm", bin).CombinedOutput()
		if err != nil {
			t.Fatalf("go tool nm: %v\n%s", err, out)
		}
		return string(out)
	}
	lookup := func(nm string) []string {
		var found []string
		for _, l := range strings.Split(nm, "\n") {
			f := strings.Fields(l)
			if len(f) < 3 {
				continue
			}
			if s := f[len(f)-1]; strings.HasSuffix(s, ".MethodByName") || s == "reflect.Value.Method" {
				found = append(found, s)
			}
		}
		return found
	}
	if found := lookup(syms("./testdata/nm/tmpl")); len(found) == 0 {
		t.Fatal("the text/template program has no MethodByName symbol: the check cannot see it")
	}
	if found := lookup(syms("./testdata/nm/jst")); len(found) > 0 {
		t.Fatalf("a program with jst links reflect's method lookup: %v", found)
	}
}
