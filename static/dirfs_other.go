//go:build !unix

package static

const openNonblock = 0
