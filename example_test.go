package vigil_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/vigilhttp/vigil"
	"github.com/vigilhttp/vigil/auth"
)

// get fetches url and prints its status and body.
func get(url string) {
	resp, err := http.Get(url)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	fmt.Printf("%d %s", resp.StatusCode, b)
}

// The whole server: New from a Config (zero fields take their defaults),
// Start, Shutdown. Without Root, FS or Handler it serves the embedded demo
// device UI.
func Example() {
	srv, err := vigil.New(vigil.Config{Listen: []string{"127.0.0.1:0"}})
	if err != nil {
		log.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		log.Fatal(err)
	}
	resp, err := http.Get("http://" + srv.Addrs()[0].String() + "/")
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("Content-Type"))

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	fmt.Println("shutdown:", srv.Shutdown(ctx))
	// Output:
	// 200 text/html; charset=utf-8
	// shutdown: <nil>
}

// An action: a Go handler reached at /action/NAME through a route.txt rule
// with handler=action (GoAhead's websDefineAction), beside the files of a
// document root.
func ExampleServer_Action() {
	dir, err := os.MkdirTemp("", "vigil-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "index.html"), []byte("<h1>device</h1>\n"), 0o644)
	routes := filepath.Join(dir, "route.txt")
	os.WriteFile(routes, []byte("route uri=/action handler=action\nroute uri=/\n"), 0o644)

	srv, err := vigil.New(vigil.Config{Listen: []string{"127.0.0.1:0"}, Root: dir, Route: routes})
	if err != nil {
		log.Fatal(err)
	}
	srv.Action("reboot", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "rebooting in", r.FormValue("delay"), "s")
	}))
	if err := srv.Start(); err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	base := "http://" + srv.Addrs()[0].String()
	get(base + "/action/reboot?delay=5")
	get(base + "/index.html")
	// Output:
	// 200 rebooting in 5 s
	// 200 <h1>device</h1>
}

// A GoAhead site: a route.txt whose rules pick a handler and guard paths
// by user abilities (here with its users in the same file; Config.Auth
// names a separate auth.txt). The first matching rule decides.
func ExampleConfig_route() {
	dir, err := os.MkdirTemp("", "vigil-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.MkdirAll(filepath.Join(dir, "admin"), 0o755)
	os.WriteFile(filepath.Join(dir, "index.html"), []byte("<h1>device</h1>\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "admin", "index.html"), []byte("<h1>settings</h1>\n"), 0o644)
	// GoAhead's md5 password: the HA1 of user:realm:password.
	hash, err := auth.MakePassword("md5", "admin", auth.DefaultRealm, "secret")
	if err != nil {
		log.Fatal(err)
	}
	routes := filepath.Join(dir, "route.txt")
	os.WriteFile(routes, []byte(`route uri=/admin/ auth=basic abilities=manage
route uri=/old/ redirect=/ handler=redirect
route uri=/
role name=administrator abilities=manage
user name=admin password=`+hash+` roles=administrator
`), 0o644)

	srv, err := vigil.New(vigil.Config{Listen: []string{"127.0.0.1:0"}, Root: dir, Route: routes})
	if err != nil {
		log.Fatal(err)
	}
	if err := srv.Check(); err != nil { // every rule can work as configured
		log.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	base := "http://" + srv.Addrs()[0].String()
	get(base + "/index.html")
	get(base + "/old/x")
	resp, err := http.Get(base + "/admin/")
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, "without credentials")
	req, _ := http.NewRequest("GET", base+"/admin/", nil)
	req.SetBasicAuth("admin", "secret")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Printf("%d %s", resp.StatusCode, b)
	// Output:
	// 200 <h1>device</h1>
	// 200 <h1>device</h1>
	// 401 without credentials
	// 200 <h1>settings</h1>
}

// A GoAhead 2.x form: a Go handler reached at /goform/NAME (websFormDefine)
// through the dispatching rule, its fields read as websGetVar reads them.
func ExampleServer_Form() {
	dir, err := os.MkdirTemp("", "vigil-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	routes := filepath.Join(dir, "route.txt")
	os.WriteFile(routes, []byte("route uri=/goform methods=POST handler=action limit-body=4KiB\nroute uri=/\n"), 0o644)

	srv, err := vigil.New(vigil.Config{Listen: []string{"127.0.0.1:0"}, Root: dir, Route: routes})
	if err != nil {
		log.Fatal(err)
	}
	srv.Form("setWan", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "wan", vigil.FormVar(r, "mode", "dhcp"), vigil.FormVar(r, "mtu", "1500"))
	}))
	if err := srv.Start(); err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	resp, err := http.PostForm("http://"+srv.Addrs()[0].String()+"/goform/setWan", url.Values{"mode": {"static"}})
	if err != nil {
		log.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Printf("%d %s", resp.StatusCode, b)
	// Output:
	// 200 wan static 1500
}

// A custom handler: any http.Handler (here a ServeMux) served under the
// governor, with the Config's bounds (the handler timeout is its request
// context's deadline).
func ExampleConfig_handler() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/status", func(w http.ResponseWriter, r *http.Request) {
		_, hasDeadline := r.Context().Deadline()
		fmt.Fprintln(w, `{"up":true}`, hasDeadline)
	})
	srv, err := vigil.New(vigil.Config{
		Listen:         []string{"127.0.0.1:0"},
		Handler:        mux,
		HandlerTimeout: 10 * time.Second,
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	get("http://" + srv.Addrs()[0].String() + "/api/status")
	// Output:
	// 200 {"up":true} true
}
