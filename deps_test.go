package vigil_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/vigilhttp/vigil"

// allowed lists, for each package of the module, the packages of the module
// its non-test files may import (see STYLE.md: arrows point down only). A
// package missing from this table fails the test until it is placed.
var allowed = map[string][]string{
	"governor":           {},
	"route":              {},
	"static":             {},
	"demo":               {},
	"faultkit":           {},
	"faultkit/faulttest": {"faultkit"},
	"httpd":              {"governor", "route"},
	"status":             {"governor"},
	"live":               {"governor"},
	"auth":               {},
	"session":            {},
	"config":             {".", "route"},
	"upload":             {},
	"cgi":                {},
	"tlsconf":            {},
	"tmpl":               {},
	"jst":                {},
	"site":               {"governor", "httpd", "live", "route", "static", "demo", "auth", "session", "upload", "cgi", "tmpl", "jst"},
	".":                  {"site", "governor", "httpd", "live", "route", "static", "demo", "status", "auth", "upload", "tlsconf", "jst"},
	"cmd/vigil":          {".", "config", "faultkit", "auth", "tlsconf"},
}

// stdlibBanned lists imports outside the module that a package must not use.
var stdlibBanned = map[string][]string{
	"governor": {"net/http"},
	"faultkit": {"net/http"},
	"route":    {},
}

// extAllowed lists the non-standard modules a package may import.
var extAllowed = map[string][]string{
	"status":   {},
	"config":   {"github.com/BurntSushi/toml"},
	"cgi":      {"golang.org/x/sys/"},
	"live":     {"github.com/coder/websocket"},
	"governor": {"golang.org/x/sys/"},
	"faultkit": {"golang.org/x/sys/"},
}

func TestImportRules(t *testing.T) {
	fset := token.NewFileSet()
	imports := map[string]map[string]bool{}
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "bench") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		pkg := filepath.ToSlash(filepath.Dir(p))
		if imports[pkg] == nil {
			imports[pkg] = map[string]bool{}
		}
		for _, is := range f.Imports {
			ip, _ := strconv.Unquote(is.Path.Value)
			imports[pkg][ip] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for pkg, imps := range imports {
		for _, banned := range []string{"util", "common", "helpers"} {
			if filepath.Base(pkg) == banned {
				t.Errorf("package %s: no util, common or helpers packages", pkg)
			}
		}
		ours, ok := allowed[pkg]
		if !ok {
			t.Errorf("package %s is not placed in deps_test.go's import rules", pkg)
			continue
		}
		for ip := range imps {
			switch {
			case ip == module || strings.HasPrefix(ip, module+"/"):
				rel := strings.TrimPrefix(strings.TrimPrefix(ip, module), "/")
				if rel == "" {
					rel = "."
				}
				if !slices.Contains(ours, rel) {
					t.Errorf("package %s imports %s: not allowed (may import %v)", pkg, ip, ours)
				}
			case slices.Contains(stdlibBanned[pkg], ip):
				t.Errorf("package %s imports %s: not allowed", pkg, ip)
			case strings.Contains(strings.Split(ip, "/")[0], "."):
				if ext, ok := extAllowed[pkg]; ok && !slices.ContainsFunc(ext, func(pfx string) bool { return strings.HasPrefix(ip, pfx) }) {
					t.Errorf("package %s imports %s: only %v outside the standard library", pkg, ip, ext)
				}
			}
		}
	}
	for _, must := range []string{"governor", "httpd", "cmd/vigil", "faultkit"} {
		if imports[must] == nil {
			t.Errorf("package %s is missing", must)
		}
	}
}

// transitiveBanned lists, for a package and everything it imports
// (`go list -deps`, non-test files), packages that must not be among them:
// an import rule that holds only for direct imports is not a rule.
var transitiveBanned = map[string][]string{
	"governor": {"net/http", module + "/"},
	"route":    {module + "/"},
	"jst":      {"text/template", "html/template"},
	".":        {module + "/faultkit", "net/http/httptest", "testing"},
	"site":     {module, module + "/faultkit", "net/http/httptest", "testing"},
	"httpd":    {module + "/faultkit", "net/http/httptest", "testing"},
	"status":   {module + "/faultkit", "net/http/httptest", "testing"},
}

func TestImportRulesTransitive(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	for pkg, banned := range transitiveBanned {
		out, err := exec.Command(gobin, "list", "-deps", "-f", "{{.ImportPath}}", "./"+pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps ./%s: %v", pkg, err)
		}
		self := module
		if pkg != "." {
			self += "/" + pkg
		}
		for _, dep := range strings.Fields(string(out)) {
			if dep == self {
				continue
			}
			for _, b := range banned {
				if dep == b || strings.HasSuffix(b, "/") && strings.HasPrefix(dep, b) {
					t.Errorf("package %s depends on %s (transitively): not allowed", pkg, dep)
				}
			}
		}
	}
}
