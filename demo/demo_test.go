package demo

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// pages are the HTML pages of the UI.
var pages = []string{"index.html", "status.html", "network.html", "logs.html"}

func TestFS(t *testing.T) {
	fsys := newFS(100 * LogLineSize)
	want := append(slices.Clone(pages), "style.css", "app.js", "status.json", "favicon.svg",
		"index.html.gz", "style.css.gz", "logs", "logs/system.log")
	if err := fstest.TestFS(fsys, want...); err != nil {
		t.Fatal(err)
	}
}

func TestFSOverlay(t *testing.T) {
	fsys := FS()
	logTime := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	t.Run("the log has LogSize bytes", func(t *testing.T) {
		fi, err := fs.Stat(fsys, "logs/system.log")
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() != LogSize || !fi.ModTime().Equal(logTime) || !fi.Mode().IsRegular() {
			t.Errorf("Stat = %d bytes, %v, %v", fi.Size(), fi.ModTime(), fi.Mode())
		}
	})
	t.Run("the log opens as a Log", func(t *testing.T) {
		f, err := fsys.Open("logs/system.log")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, ok := f.(*Log); !ok {
			t.Fatalf("Open returned %T, want *Log", f)
		}
	})
	t.Run("logs is a listable directory", func(t *testing.T) {
		fi, err := fs.Stat(fsys, "logs")
		if err != nil || !fi.IsDir() {
			t.Fatalf("Stat(logs) = %v, %v", fi, err)
		}
		entries, err := fs.ReadDir(fsys, "logs")
		if err != nil || len(entries) != 1 || entries[0].Name() != "system.log" || entries[0].IsDir() {
			t.Fatalf("ReadDir(logs) = %v, %v", entries, err)
		}
	})
	t.Run("the root lists the pages and logs", func(t *testing.T) {
		entries, err := fs.ReadDir(fsys, ".")
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		for _, want := range append(slices.Clone(pages), "logs") {
			if !slices.Contains(names, want) {
				t.Errorf("root %v lacks %s", names, want)
			}
		}
	})
	t.Run("the embedded UI has no logs directory of its own", func(t *testing.T) {
		if _, err := fs.Stat(embedded, "ui/logs"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("ui/logs exists (%v): it would be shadowed by the generated log", err)
		}
	})
	tests := []struct {
		name string
		path string
		want error
	}{
		{"another file under logs does not exist", "logs/other.log", fs.ErrNotExist},
		{"a file under the log does not exist", "logs/system.log/x", fs.ErrNotExist},
		{"a missing page does not exist", "nope.html", fs.ErrNotExist},
		{"a leading slash is invalid", "/index.html", fs.ErrInvalid},
		{"dot-dot is invalid", "logs/../index.html", fs.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := fsys.Open(tt.path); !errors.Is(err, tt.want) {
				t.Errorf("Open(%q) error = %v, want %v", tt.path, err, tt.want)
			}
			if _, err := fs.Stat(fsys, tt.path); !errors.Is(err, tt.want) {
				t.Errorf("Stat(%q) error = %v, want %v", tt.path, err, tt.want)
			}
		})
	}
	t.Run("every file is an io.ReadSeeker", func(t *testing.T) {
		err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			f, err := fsys.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			if _, ok := f.(io.ReadSeeker); !ok {
				t.Errorf("%s is a %T, not an io.ReadSeeker", p, f)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

func TestGzipSiblings(t *testing.T) {
	for _, name := range []string{"index.html", "style.css"} {
		t.Run(name+".gz decompresses to "+name, func(t *testing.T) {
			plain, err := fs.ReadFile(embedded, "ui/"+name)
			if err != nil {
				t.Fatal(err)
			}
			packed, err := fs.ReadFile(embedded, "ui/"+name+".gz")
			if err != nil {
				t.Fatal(err)
			}
			zr, err := gzip.NewReader(bytes.NewReader(packed))
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(zr)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, plain) {
				t.Fatalf("ui/%s.gz is out of date: run go generate ./demo/", name)
			}
			if len(packed) >= len(plain) {
				t.Errorf("%s.gz (%d bytes) is not smaller than %s (%d bytes)", name, len(packed), name, len(plain))
			}
		})
	}
	t.Run("every .gz has its original", func(t *testing.T) {
		matches, err := fs.Glob(embedded, "ui/*.gz")
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range matches {
			if _, err := fs.Stat(embedded, strings.TrimSuffix(m, ".gz")); err != nil {
				t.Errorf("%s has no original: %v", m, err)
			}
		}
	})
}

func TestEmbeddedSize(t *testing.T) {
	var total int64
	err := fs.WalkDir(embedded, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		total += fi.Size()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if total > 60<<10 {
		t.Errorf("the embedded UI is %d bytes, want at most 60 KiB", total)
	}
}

// voidElements never have an end tag.
var voidElements = []string{"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

func TestPages(t *testing.T) {
	fsys := FS()
	tagRe := regexp.MustCompile(`<(/?)([a-zA-Z][a-zA-Z0-9]*)((?:[^>"']|"[^"]*"|'[^']*')*?)(/?)>`)
	urlRe := regexp.MustCompile(`\b(href|src|action)="([^"]*)"`)
	idRe := regexp.MustCompile(`\bid="([^"]+)"`)
	refRe := regexp.MustCompile(`\b(for|aria-describedby|aria-labelledby)="([^"]+)"`)
	for _, name := range pages {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			t.Fatal(err)
		}
		page := string(b)
		t.Run(name+" is an HTML5 page for phones", func(t *testing.T) {
			for _, want := range []string{"<!doctype html>", `<html lang="en">`, `<meta charset="utf-8">`,
				`<meta name="viewport" content="width=device-width, initial-scale=1">`, "<title>", "<svg"} {
				if !strings.Contains(page, want) {
					t.Errorf("no %s", want)
				}
			}
		})
		t.Run(name+" has balanced tags", func(t *testing.T) {
			var stack []string
			for _, m := range tagRe.FindAllStringSubmatch(page, -1) {
				closing, tag, selfClosing := m[1] == "/", strings.ToLower(m[2]), m[4] == "/"
				switch {
				case slices.Contains(voidElements, tag), selfClosing:
				case !closing:
					stack = append(stack, tag)
				case len(stack) == 0 || stack[len(stack)-1] != tag:
					t.Fatalf("</%s> closes %v", tag, stack)
				default:
					stack = stack[:len(stack)-1]
				}
			}
			if len(stack) != 0 {
				t.Errorf("unclosed %v", stack)
			}
		})
		t.Run(name+" uses no external resource or inline script", func(t *testing.T) {
			for _, m := range urlRe.FindAllStringSubmatch(page, -1) {
				if strings.Contains(m[2], "//") {
					t.Errorf("%s=%q is external", m[1], m[2])
				}
			}
			if regexp.MustCompile(`<script(\s[^>]*)?>[^<]`).MatchString(page) || regexp.MustCompile(`\son[a-z]+=`).MatchString(page) {
				t.Error("inline script or event handler")
			}
		})
		t.Run(name+" links only to files that exist", func(t *testing.T) {
			for _, m := range urlRe.FindAllStringSubmatch(page, -1) {
				target := m[2]
				if m[1] == "action" {
					continue // the form's handler is not part of the UI
				}
				if strings.HasPrefix(target, "#") {
					if !strings.Contains(page, `id="`+target[1:]+`"`) {
						t.Errorf("%s=%q names no element", m[1], m[2])
					}
					continue
				}
				if target == "./" {
					target = "index.html"
				}
				if _, err := fs.Stat(fsys, path.Clean(target)); err != nil {
					t.Errorf("%s=%q: %v", m[1], m[2], err)
				}
			}
		})
		t.Run(name+" links to every other page", func(t *testing.T) {
			for _, other := range pages {
				href := other
				if other == "index.html" {
					href = "./"
				}
				if !strings.Contains(page, `href="`+href+`"`) {
					t.Errorf("no link to %s", other)
				}
			}
		})
		t.Run(name+" has unique ids that references resolve to", func(t *testing.T) {
			ids := map[string]bool{}
			for _, m := range idRe.FindAllStringSubmatch(page, -1) {
				if ids[m[1]] {
					t.Errorf("duplicate id %q", m[1])
				}
				ids[m[1]] = true
			}
			for _, m := range refRe.FindAllStringSubmatch(page, -1) {
				if !ids[m[2]] {
					t.Errorf("%s=%q names no element", m[1], m[2])
				}
			}
		})
	}
	t.Run("the network form posts to /action/network", func(t *testing.T) {
		b, err := fs.ReadFile(fsys, "network.html")
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{`method="post" action="/action/network"`, `name="hostname"`, `value="dhcp"`, `value="static"`, `name="dns1"`} {
			if !bytes.Contains(b, []byte(want)) {
				t.Errorf("network.html has no %s", want)
			}
		}
	})
	t.Run("the logs page links to the generated log", func(t *testing.T) {
		b, err := fs.ReadFile(fsys, "logs.html")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte(`href="logs/system.log"`)) {
			t.Error("logs.html has no link to logs/system.log")
		}
	})
}
