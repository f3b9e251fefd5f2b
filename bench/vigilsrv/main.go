// Command vigilsrv is `vigil serve` plus one tiny action, for bench/compare.sh:
// a vigil.Server with the same defaults as `vigil serve`, serving --root,
// with a route file that sends /action/ to handler=action and everything
// else to the files, and an action "tiny" answering "ok\n" as text/plain.
// `vigil serve` alone cannot register an action: actions are Go handlers
// given to Server.Action.
//
// It uses the vigil package's public API only. SIGINT or SIGTERM shuts it
// down (bounded by the shutdown timeout).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/vigilhttp/vigil"
)

// routes is the route.txt: actions under /action/, files everywhere else.
const routes = "route uri=/action handler=action\nroute uri=/\n"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "vigilsrv:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg := vigil.DefaultConfig()
	listen := flag.String("listen", vigil.DefaultListen, "address to listen on")
	flag.StringVar(&cfg.Root, "root", ".", "document root directory to serve")
	flag.DurationVar(&cfg.IdleTimeout, "idle-timeout", cfg.IdleTimeout, "keep-alive wait for the next request")
	flag.IntVar(&cfg.MaxConns, "max-conns", cfg.MaxConns, "open connections cap, all listeners")
	flag.IntVar(&cfg.MaxConnsPerIP, "max-conns-per-ip", cfg.MaxConnsPerIP, "open connections cap per remote IP")
	flag.StringVar(&cfg.Admin, "admin", vigil.DefaultAdmin(), `admin endpoint: unix:PATH or host:port; "off" for none`)
	level := flag.String("log-level", "info", "log level: debug, info, warn, error")
	flag.Parse()
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*level)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lv}))
	cfg.Listen = []string{*listen}
	if cfg.Admin == "off" {
		cfg.Admin = ""
	}

	// The route file is read by New (and again only on Reload, which this
	// command never calls), so it lives just long enough for New.
	dir, err := os.MkdirTemp("", "vigilsrv-")
	if err != nil {
		return err
	}
	cfg.Route = filepath.Join(dir, "route.txt")
	err = os.WriteFile(cfg.Route, []byte(routes), 0o644)
	var srv *vigil.Server
	if err == nil {
		srv, err = vigil.New(cfg)
	}
	os.RemoveAll(dir)
	if err != nil {
		return err
	}
	err = srv.Action("tiny", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	}))
	if err != nil {
		return err
	}
	if err := srv.Start(); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	if err := srv.Shutdown(context.Background()); err != nil {
		cfg.Logger.Warn("vigilsrv: shutdown cut connections", "err", err)
	}
	return nil
}
