//go:build nethttpomithttp2

package httpd

import "slices"

// HTTP2 reports whether this build serves HTTP/2 on TLS listeners (by
// ALPN). It is false: this build has no HTTP/2 (-tags nethttpomithttp2), so
// TLS listeners serve HTTP/1.1 only.
const HTTP2 = false

// alpn returns the ALPN protocols a TLS listener offers: protos without
// "h2" (a client that negotiated it would get HTTP/1.1 answers to its
// HTTP/2 frames) and with "http/1.1" added where missing.
func alpn(protos []string) []string {
	protos = slices.DeleteFunc(slices.Clone(protos), func(p string) bool { return p == "h2" })
	if !slices.Contains(protos, "http/1.1") {
		protos = append(protos, "http/1.1")
	}
	return protos
}
