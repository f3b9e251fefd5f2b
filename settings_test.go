package vigil_test

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vigilhttp/vigil"
	"github.com/vigilhttp/vigil/config"
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

// TestSettingsReachTheGovernor checks, for every setting whose schema entry
// says it reaches governor.Options, that a Config value set for it is the
// governor's: a setting declared but not passed on fails here.
func TestSettingsReachTheGovernor(t *testing.T) {
	var cfg vigil.Config
	want := map[string]any{}
	for i, s := range config.Settings {
		for _, o := range s.Options {
			name, ok := strings.CutPrefix(o, "governor.Options.")
			if !ok {
				continue
			}
			f := reflect.ValueOf(&cfg).Elem().FieldByName(s.Field)
			switch f.Kind() {
			case reflect.Int64:
				if f.Type() == reflect.TypeFor[time.Duration]() {
					f.SetInt(int64(7*time.Second + time.Duration(i)*time.Millisecond))
				} else {
					f.SetInt(int64(4096 + i))
				}
			case reflect.Int:
				f.SetInt(int64(37 + i))
			default:
				t.Fatalf("%s: no test value for a %v", s.Key, f.Type())
			}
			want[name] = f.Interface()
		}
	}
	cfg.Listen = []string{"127.0.0.1:0"}
	srv, err := vigil.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	got := reflect.ValueOf(srv.Governor().Options())
	for name, v := range want {
		if g := got.FieldByName(name).Interface(); g != v {
			t.Errorf("governor.Options.%s = %v, want %v from vigil.Config", name, g, v)
		}
	}
	if len(want) < 8 {
		t.Errorf("only %d settings reach the governor: %v", len(want), want)
	}
}
