package route

import (
	"testing"
)

func TestCovers(t *testing.T) {
	prefixes := []string{"/admin/upload/", "/admin", "/"} // longest first
	tests := []struct {
		name, path, want string
	}{
		{"the root covers everything", "/index.html", "/"},
		{"a prefix matches itself", "/admin", "/admin"},
		{"a prefix matches paths below it", "/admin/users", "/admin"},
		{"a prefix never matches a longer segment", "/administrator", "/"},
		{"the longest prefix wins", "/admin/upload/fw.bin", "/admin/upload/"},
		{"duplicate slashes are cleaned before matching", "//admin//users", "/admin"},
		{"dot segments are cleaned before matching", "/./x/../admin/users", "/admin"},
		{"dot-dot never climbs above the root", "/../../admin", "/admin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Clean(tt.path)
			got := ""
			for _, pre := range prefixes {
				if Covers(pre, p) {
					got = pre
					break
				}
			}
			if got != tt.want {
				t.Errorf("%q is covered by %q, want %q", tt.path, got, tt.want)
			}
		})
	}
}

func TestMerge(t *testing.T) {
	def := Policy{BodyLimit: 1, StallTimeout: 2, MinRate: 3, TransferTimeout: 4, HandlerTimeout: 5}
	got := Policy{BodyLimit: 10, MinRate: -1}.Merge(def)
	want := Policy{BodyLimit: 10, StallTimeout: 2, MinRate: -1, TransferTimeout: 4, HandlerTimeout: 5}
	if got != want {
		t.Errorf("Merge = %+v, want %+v", got, want)
	}
}
