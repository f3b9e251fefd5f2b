package vigil_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigilhttp/vigil"
)

func TestReload(t *testing.T) {
	t.Run("a bad route file is refused and the old one keeps serving; a good one takes over whole", func(t *testing.T) {
		dir := t.TempDir()
		web := filepath.Join(dir, "web")
		os.MkdirAll(filepath.Join(web, "private"), 0o755)
		os.WriteFile(filepath.Join(web, "private", "x.html"), []byte("secret"), 0o644)
		routes := filepath.Join(dir, "route.txt")
		users := "user name=joshua password=2fd6e47ff9bb70c0465fd2f5c8e5305e roles=admin\n"
		os.WriteFile(routes, []byte(users+"route uri=/\n"), 0o644)
		srv, addr := startLoopback(t, vigil.Config{Root: web, Route: routes})
		c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		status := func() int {
			resp, err := c.Get("http://" + addr + "/private/x.html")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		if got := status(); got != 200 {
			t.Fatalf("before reload: %d, want 200", got)
		}
		os.WriteFile(routes, []byte(users+"route uri=/private/ auth=basic colour=red\nroute uri=/\n"), 0o644)
		if err := srv.Reload(); err == nil || !strings.Contains(err.Error(), "route.txt:2: colour") {
			t.Errorf("Reload of a bad file = %v, want an error at route.txt:2: colour", err)
		}
		if got := status(); got != 200 {
			t.Errorf("after a refused reload: %d, want the old rules' 200", got)
		}
		os.WriteFile(routes, []byte(users+"route uri=/private/ auth=basic\nroute uri=/\n"), 0o644)
		if err := srv.Reload(); err != nil {
			t.Fatal(err)
		}
		if got := status(); got != 401 {
			t.Errorf("after a good reload: %d, want 401", got)
		}
	})
}
