//go:build !nocgi

package vigil_test

// cgiBuilt says handler=cgi is available (not -tags nocgi).
const cgiBuilt = true
