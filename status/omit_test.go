package status

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestBuildTags(t *testing.T) {
	t.Run("a part left out by a build tag answers a JSON 404 and the page does not link it", func(t *testing.T) {
		s := New(Options{})
		resp := do(t, s, "GET", "/status")
		b, _ := io.ReadAll(resp.Body)
		page := string(b)
		for _, part := range []struct {
			built        bool
			target, link string
		}{
			{metricsBuilt, "/metrics", `href="metrics"`},
			{pprofBuilt, "/debug/pprof/", `href="debug/pprof/"`},
		} {
			if got := strings.Contains(page, part.link); got != part.built {
				t.Errorf("page links %s: %v, want %v", part.target, got, part.built)
			}
			if part.built {
				continue
			}
			wantError(t, do(t, s, "GET", part.target), http.StatusNotFound, "")
		}
	})
}
