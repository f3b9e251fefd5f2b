package vigil_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/vigilhttp/vigil"
)

// TestMaxHandlersPerIP checks that Config.MaxHandlersPerIP reaches the
// handler caps: with one handler allowed per client, a second request while
// the first runs is refused at once with 503 and Retry-After.
func TestMaxHandlersPerIP(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	srv, err := vigil.New(vigil.Config{
		Listen:           []string{"127.0.0.1:0"},
		Admin:            "",
		MaxHandlersPerIP: 1,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			started <- struct{}{}
			<-release
		}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	url := "http://" + srv.Addrs()[0].String() + "/"
	first := make(chan error, 1)
	go func() {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
		}
		first <- err
	}()
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("the first handler did not start")
	}
	resp, err := http.Get(url)
	close(release)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("second request: %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if err := <-first; err != nil {
		t.Errorf("first request: %v", err)
	}
}
