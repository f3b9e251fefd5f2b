//go:build nopprof

package status

import "net/http"

// pprofBuilt says the pprof pages are not served (-tags nopprof).
const pprofBuilt = false

// handlePprof mounts nothing: this build has no pprof pages (-tags
// nopprof), so /debug/pprof/ answers the JSON 404 of any unknown path.
func (s *Server) handlePprof(m *http.ServeMux) {}
