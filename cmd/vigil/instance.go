package main

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vigilhttp/vigil"
)

// runDir is the directory of the default admin sockets: $VIGIL_RUN_DIR,
// else /run/vigil for root, else $XDG_RUNTIME_DIR/vigil (vigil.DefaultAdmin's
// directory).
func runDir() string {
	return filepath.Dir(strings.TrimPrefix(vigil.DefaultAdmin(), "unix:"))
}

// instanceAdmin is the default admin endpoint of a server whose first
// listen address is listen: a unix socket in the run directory named after
// that address, so that two servers on one machine do not meet there
// (admin-localhost-8080.sock, admin-127.0.0.1-8081.sock).
func instanceAdmin(listen string) string {
	hp := strings.TrimPrefix(strings.TrimPrefix(listen, "https://"), "http://")
	name := strings.Map(func(r rune) rune {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9', r == '.', r == '-', r == '_':
			return r
		}
		return '-'
	}, hp)
	return "unix:" + filepath.Join(runDir(), "admin-"+name+".sock")
}

// findAdmin returns the admin endpoint of the one vigil server answering in
// the run directory. With none it says where it looked; with several it
// lists them, for the user to pick one with --admin.
func findAdmin(ctx context.Context) (adminEndpoint, error) {
	dir := runDir()
	paths, _ := filepath.Glob(filepath.Join(dir, "admin*.sock"))
	slices.Sort(paths)
	var live []string
	for _, p := range paths {
		if answers(ctx, p) {
			live = append(live, p)
		}
	}
	switch len(live) {
	case 0:
		return adminEndpoint{}, fmt.Errorf("conns: no vigil server answers in %s (is one running as this user? give its --admin, e.g. --admin unix:%s)",
			dir, filepath.Join(dir, "admin-localhost-8080.sock"))
	case 1:
		return adminEndpoint{"unix", live[0]}, nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "conns: %d vigil servers answer in %s; pick one with --admin:", len(live), dir)
	for _, p := range live {
		fmt.Fprintf(&b, "\n  vigil conns --admin %s", p)
	}
	return adminEndpoint{}, usageError{b.String()}
}

// answers reports whether a server accepts connections on the unix socket
// at path within a second (a stale socket file refuses them).
func answers(ctx context.Context, path string) bool {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
