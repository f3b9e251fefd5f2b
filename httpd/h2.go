//go:build !nethttpomithttp2

package httpd

import "slices"

// HTTP2 reports whether this build serves HTTP/2 on TLS listeners (by
// ALPN). It is false when built with -tags nethttpomithttp2, which drops
// net/http's bundled HTTP/2 for the smallest devices.
const HTTP2 = true

// alpn returns the ALPN protocols a TLS listener offers: protos with "h2"
// first and "http/1.1" last, added where missing.
func alpn(protos []string) []string {
	if !slices.Contains(protos, "h2") {
		protos = append([]string{"h2"}, protos...)
	}
	if !slices.Contains(protos, "http/1.1") {
		protos = append(protos, "http/1.1")
	}
	return protos
}
