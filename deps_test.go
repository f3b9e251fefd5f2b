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
// an import rule that holds only for direct imports is not a rule. "*" is
// every package of the module but those of attackers: faultkit itself, the
// commands that attack (cmd/vigil's hangcheck, bench/), test helpers.
var transitiveBanned = map[string][]string{
	"governor": {"net/http", module + "/"},
	"route":    {module + "/"},
	"jst":      {"text/template", "html/template"},
	"site":     {module},
	"*":        {module + "/faultkit", "net/http/httptest", "testing"},
}

// attackers may depend on faultkit; faultkit/faulttest, a helper for
// tests, on testing too.
var attackers = []string{"faultkit", "faultkit/faulttest", "cmd/vigil", "bench/"}

// goList runs go list with args and returns its output's fields.
func goList(t *testing.T, args ...string) []string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	out, err := exec.Command(gobin, append([]string{"list"}, args...)...).Output()
	if err != nil {
		t.Fatalf("go list %v: %v", args, err)
	}
	return strings.Fields(string(out))
}

// banned reports the deps of pkg that rules forbid.
func banned(pkg string, deps, rules []string) []string {
	var bad []string
	for _, dep := range deps {
		for _, b := range rules {
			if dep != pkg && (dep == b || strings.HasSuffix(b, "/") && strings.HasPrefix(dep, b)) {
				bad = append(bad, dep)
			}
		}
	}
	return bad
}

func TestImportRulesTransitive(t *testing.T) {
	// One line per package: its import path, then everything it depends on.
	lines := goList(t, "-f", "{{.ImportPath}}:{{join .Deps \",\"}}", "./...")
	for _, line := range lines {
		path, list, _ := strings.Cut(line, ":")
		deps := strings.Split(list, ",")
		rel := strings.TrimPrefix(strings.TrimPrefix(path, module), "/")
		if rel == "" {
			rel = "."
		}
		rules := transitiveBanned[rel]
		if !slices.ContainsFunc(attackers, func(a string) bool { return rel == a || strings.HasSuffix(a, "/") && strings.HasPrefix(rel, a) }) {
			rules = append(rules, transitiveBanned["*"]...)
		}
		for _, dep := range banned(path, deps, rules) {
			t.Errorf("package %s depends on %s (transitively): not allowed", rel, dep)
		}
	}
	t.Run("the device build of cmd/vigil carries no attack code and no test code", func(t *testing.T) {
		deps := goList(t, "-tags", "nohangcheck", "-deps", "./cmd/vigil")
		for _, dep := range banned(module+"/cmd/vigil", deps, transitiveBanned["*"]) {
			t.Errorf("cmd/vigil -tags nohangcheck depends on %s", dep)
		}
	})
}
