package config

import (
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/vigilhttp/vigil"
	"github.com/vigilhttp/vigil/governor"
	"github.com/vigilhttp/vigil/httpd"
	"github.com/vigilhttp/vigil/route"
)

var update = flag.Bool("update", false, "rewrite ../README.md's settings table and vigil.conf.example from Settings")

// apiOnly are the vigil.Config fields that are no setting of the vigil
// command: an embedder sets them in Go. A new Config field must be either a
// setting (Settings) or listed here.
var apiOnly = []string{"Listeners", "FS", "Handler", "StoreUploads", "TemplateFuncs", "AccessLog", "Info", "Logger"}

func TestSettingsFields(t *testing.T) {
	cfgType, cmdType := reflect.TypeFor[vigil.Config](), reflect.TypeFor[Command]()
	seenKey, seenField := map[string]bool{}, map[string]bool{}
	for _, s := range Settings {
		if seenKey[s.Key] || seenField[s.Field] {
			t.Errorf("%s: key or field %s declared twice", s.Key, s.Field)
		}
		seenKey[s.Key], seenField[s.Field] = true, true
		if s.Kind == nil || s.Doc == "" || s.Bounds == "" {
			t.Errorf("%s: every setting needs a Kind, a Doc and what it Bounds", s.Key)
			continue
		}
		f, inCfg := cfgType.FieldByName(s.Field)
		g, inCmd := cmdType.FieldByName(s.Field)
		switch {
		case inCfg && inCmd:
			t.Errorf("%s: field %s is in both vigil.Config and Command", s.Key, s.Field)
		case inCfg:
			if f.Type != s.Kind.typ {
				t.Errorf("%s: vigil.Config.%s is %v, kind %s is %v", s.Key, s.Field, f.Type, s.Kind.Name, s.Kind.typ)
			}
		case inCmd:
			if g.Type != s.Kind.typ {
				t.Errorf("%s: Command.%s is %v, kind %s is %v", s.Key, s.Field, g.Type, s.Kind.Name, s.Kind.typ)
			}
		default:
			t.Errorf("%s: no field %s in vigil.Config or Command", s.Key, s.Field)
		}
	}
	for _, f := range reflect.VisibleFields(cfgType) {
		if !seenField[f.Name] && !slices.Contains(apiOnly, f.Name) {
			t.Errorf("vigil.Config.%s is neither a setting (config.Settings) nor API-only (apiOnly in this test)", f.Name)
		}
	}
	for _, f := range reflect.VisibleFields(cmdType) {
		if !seenField[f.Name] {
			t.Errorf("Command.%s is no setting", f.Name)
		}
	}
}

// TestSettingsOptions checks that each setting's Options names a field of
// the package option it flows into, of the setting's type.
func TestSettingsOptions(t *testing.T) {
	types := map[string]reflect.Type{
		"governor.Options": reflect.TypeFor[governor.Options](),
		"httpd.Options":    reflect.TypeFor[httpd.Options](),
		"route.Policy":     reflect.TypeFor[route.Policy](),
	}
	for _, s := range Settings {
		for _, o := range s.Options {
			i := strings.LastIndex(o, ".")
			typ, ok := types[o[:max(i, 0)]]
			if !ok {
				t.Errorf("%s: Options %q: unknown type (known: %v)", s.Key, o, slices.Sorted(maps.Keys(types)))
				continue
			}
			f, ok := typ.FieldByName(o[i+1:])
			if !ok {
				t.Errorf("%s: Options %q: no such field", s.Key, o)
			} else if f.Type != s.Kind.typ {
				t.Errorf("%s: Options %q is %v, the setting %v", s.Key, o, f.Type, s.Kind.typ)
			}
		}
	}
}

// TestSettingsRoute checks that a setting's route.txt key is one route.txt
// takes.
func TestSettingsRoute(t *testing.T) {
	for _, s := range Settings {
		if s.Route == "" {
			continue
		}
		v := "1s"
		if s.Kind != Duration {
			v = "1024"
		}
		line := "route uri=/ " + s.Route + "=" + v + "\n"
		if _, err := route.ParseRules("route.txt", strings.NewReader(line), nil); err != nil {
			t.Errorf("%s: route.txt key %s: %v", s.Key, s.Route, err)
		}
	}
}

// TestSettingsDefaults checks that every default, written as the docs show
// it, reads back as the same value on the command line.
func TestSettingsDefaults(t *testing.T) {
	for _, s := range Settings {
		if s.DefaultText != "" || s.Kind.list {
			continue
		}
		var cfg vigil.Config
		var cmd Command
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		Flags(fs, &cfg, &cmd)
		if err := fs.Set(s.Key, format(s.Default())); err != nil {
			t.Errorf("%s: its default %q is no flag value: %v", s.Key, format(s.Default()), err)
			continue
		}
		if got := s.field(&cfg, &cmd).Interface(); !reflect.DeepEqual(got, s.Default()) {
			t.Errorf("%s: default %q reads back as %v, want %v", s.Key, format(s.Default()), got, s.Default())
		}
	}
}

// TestGenerated checks that the README's table and vigil.conf.example say
// what Settings says (-update rewrites them).
func TestGenerated(t *testing.T) {
	const begin, end = "<!-- settings: begin", "<!-- settings: end -->"
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	b := strings.Index(string(readme), begin)
	e := strings.Index(string(readme), end)
	if b < 0 || e < b {
		t.Fatalf("README.md has no %q … %q block", begin, end)
	}
	b += strings.Index(string(readme[b:]), "\n") + 1
	if got, want := string(readme[b:e]), Markdown(); got != want {
		if *update {
			out := string(readme[:b]) + want + string(readme[e:])
			if err := os.WriteFile("../README.md", []byte(out), 0o644); err != nil {
				t.Fatal(err)
			}
		} else {
			t.Errorf("README.md's settings table differs from config.Settings; run go test ./config -update\n%s", firstDiff(got, want))
		}
	}
	example, err := os.ReadFile("vigil.conf.example")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(example), Example(); got != want {
		if *update {
			if err := os.WriteFile("vigil.conf.example", []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
		} else {
			t.Errorf("vigil.conf.example differs from config.Settings; run go test ./config -update\n%s", firstDiff(got, want))
		}
	}
}

// firstDiff shows the first line where got and want differ.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d:\n got  %s\n want %s", i+1, gl, wl)
		}
	}
	return ""
}

// TestSettingsBounds checks that what a setting bounds is a phase of the
// governor (the name the connection table shows) or a feature of this list.
func TestSettingsBounds(t *testing.T) {
	known := []string{"connections", "shutdown", "listeners", "content", "uploads", "admin", "log", "routes", "auth", "tls"}
	for p := governor.Phase(0); p.String() != "unknown" && p < 64; p++ {
		known = append(known, p.String())
	}
	for _, s := range Settings {
		for _, b := range strings.Split(s.Bounds, ", ") {
			if !slices.Contains(known, b) {
				t.Errorf("%s bounds %q: neither a governor phase nor a known feature (%v)", s.Key, b, known)
			}
		}
	}
}
