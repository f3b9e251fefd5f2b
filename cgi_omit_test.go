//go:build nocgi

package vigil_test

// cgiBuilt says handler=cgi is available: not with -tags nocgi.
const cgiBuilt = false
