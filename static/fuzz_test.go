package static

import (
	"io/fs"
	"net/http"
	"strings"
	"testing"
)

func FuzzCleanPath(f *testing.F) {
	for _, s := range []string{"/", "/index.html", "/a/../b", "/..", "/.git/x", "//a//b/", "/a/.", "a", "", "/a\x00b", "/a\\b", "/\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		name, _, code := cleanPath(p)
		switch code {
		case 0:
		case http.StatusBadRequest, http.StatusNotFound:
			return
		default:
			t.Fatalf("cleanPath(%q) code = %d", p, code)
		}
		if !fs.ValidPath(name) {
			t.Fatalf("cleanPath(%q) = invalid name %q", p, name)
		}
		if name == "." {
			return
		}
		for _, seg := range strings.Split(name, "/") {
			if strings.HasPrefix(seg, ".") {
				t.Fatalf("cleanPath(%q) = %q, a dot segment", p, name)
			}
		}
		if strings.ContainsAny(name, "\\\x00") {
			t.Fatalf("cleanPath(%q) = %q", p, name)
		}
		for _, seg := range strings.Split(p, "/") {
			if seg == ".." {
				t.Fatalf("cleanPath(%q) accepted a dot-dot segment", p)
			}
		}
	})
}

func FuzzAcceptsGzip(f *testing.F) {
	for _, s := range []string{"gzip", "gzip;q=0", "*;q=0.5", "br, gzip;q=0.1, *;q=0", "gzip;q=NaN", ";;,,=q"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		got := acceptsGzip([]string{v})
		if !strings.Contains(strings.ToLower(v), "gzip") && !strings.Contains(v, "*") && got {
			t.Fatalf("acceptsGzip(%q) = true without gzip or *", v)
		}
	})
}

func TestAcceptsGzipTable(t *testing.T) {
	tests := []struct {
		name string
		vals []string
		want bool
	}{
		{"no field means no gzip", nil, false},
		{"an empty field means no gzip", []string{""}, false},
		{"gzip means gzip", []string{"gzip"}, true},
		{"spaces around the weight are allowed", []string{"gzip ; q = 0.5"}, true},
		{"a weight of 0.001 is still yes", []string{"gzip;q=0.001"}, true},
		{"a NaN weight is no", []string{"gzip;q=NaN"}, false},
		{"the best explicit weight counts", []string{"gzip;q=0", "gzip;q=1"}, true},
		{"star allows gzip", []string{"br, *;q=0.1"}, true},
		{"an explicit gzip refusal beats star", []string{"*", "gzip;q=0"}, false},
		{"other parameters are ignored", []string{"gzip;level=9"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := acceptsGzip(tt.vals); got != tt.want {
				t.Errorf("acceptsGzip(%q) = %v, want %v", tt.vals, got, tt.want)
			}
		})
	}
}
