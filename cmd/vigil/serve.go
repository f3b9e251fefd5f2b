package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/vigilhttp/vigil"
)

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// serveFlags binds the serve flags to cfg and returns the flag set and the
// logging choices.
func serveFlags(cfg *vigil.Config, accessPath *string, stderr io.Writer) (*flag.FlagSet, *string, *string) {
	d := vigil.DefaultConfig()
	cfg.Listen = nil
	flags := flag.NewFlagSet("vigil serve", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.Var((*listFlag)(&cfg.Listen), "listen", "address to listen on: host:port, http://host:port or https://host:port ([v6]:port for IPv6); repeatable (default "+vigil.DefaultListen+")")
	flags.StringVar(&cfg.Root, "root", "", "document root directory to serve (default: the embedded demo device UI)")
	flags.DurationVar(&cfg.HeaderTimeout, "header-timeout", d.HeaderTimeout, "total time allowed for a request header, from accept or the first byte after idle")
	flags.DurationVar(&cfg.StallTimeout, "stall-timeout", d.StallTimeout, "longest wait without progress on a body read or any write; also TCP_USER_TIMEOUT")
	flags.Int64Var(&cfg.MinRate, "min-rate", 0, "minimum average rate of a body or response in bytes/s once started (0: none)")
	flags.Int64Var(&cfg.BodyMinRate, "body-min-rate", 0, "minimum average rate of a request body in bytes/s, after the stall timeout's grace (0: --min-rate if set, else 500; -1: none)")
	flags.DurationVar(&cfg.TransferTimeout, "transfer-timeout", 0, "hard cap on one request body or one response (0: none)")
	flags.DurationVar(&cfg.IdleTimeout, "idle-timeout", d.IdleTimeout, "keep-alive wait for the next request")
	flags.DurationVar(&cfg.HandlerTimeout, "handler-timeout", d.HandlerTimeout, "handler run time: the request context's deadline; overstayers are cut and their stack logged")
	flags.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", d.ShutdownTimeout, "drain time on SIGTERM/SIGINT before connections are cut")
	flags.Int64Var(&cfg.BodyLimit, "body-limit", d.BodyLimit, "largest request body in bytes")
	flags.IntVar(&cfg.MaxConns, "max-conns", d.MaxConns, "open connections cap, all listeners (oldest idle evicted at the cap, else 503)")
	flags.IntVar(&cfg.MaxConnsPerIP, "max-conns-per-ip", d.MaxConnsPerIP, "open connections cap per remote IP")
	flags.StringVar(&cfg.Admin, "admin", vigil.DefaultAdmin(), "admin endpoint (status page, /conns, /metrics, pprof): unix:PATH or host:port; \"off\" for none")
	flags.StringVar(&cfg.TLSCert, "tls-cert", "", "certificate (PEM) for https:// listeners")
	flags.StringVar(&cfg.TLSKey, "tls-key", "", "private key (PEM, owner-only permissions) for https:// listeners")
	flags.StringVar(&cfg.TLSSelfSigned, "tls-self-signed", "", "directory for a device certificate made on first start and reused (when --tls-cert is not given)")
	flags.Var((*listFlag)(&cfg.TLSNames), "tls-name", "extra host name or address for the device certificate; repeatable")
	flags.DurationVar(&cfg.HSTS, "hsts", 0, "Strict-Transport-Security max-age on TLS responses (0: none)")
	flags.StringVar(&cfg.Route, "route", "", "GoAhead route.txt: routes, handlers, auth, abilities, per-route limits")
	flags.StringVar(&cfg.Auth, "auth", "", "GoAhead auth.txt: users and roles")
	flags.StringVar(&cfg.Realm, "realm", vigil.DefaultRealm, "authentication realm (GoAhead's default, so its MD5 hashes verify)")
	level := flags.String("log-level", "info", "log level: debug, info, warn, error")
	format := flags.String("log-format", "text", "log format: text or json")
	flags.StringVar(accessPath, "access-log", "", "access log file (Combined Log Format + µs + body bytes); - for standard output")
	return flags, level, format
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg vigil.Config
	var accessPath string
	flags, level, format := serveFlags(&cfg, &accessPath, stderr)
	confPath := flags.String("config", "", "vigil.conf (TOML): every flag as a key; flags given on the command line win")
	check := flags.Bool("check", false, "validate the configuration, route and auth files, then exit")
	if err := flags.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return usageError{err.Error()}
	}
	if *confPath != "" {
		if err := applyConfig(*confPath, flags, &cfg, &accessPath, level, format); err != nil {
			return err
		}
	}
	if flags.NArg() > 0 {
		return usageError{fmt.Sprintf("serve: unexpected argument %q", flags.Arg(0))}
	}
	logger, err := newLogger(stderr, *level, *format)
	if err != nil {
		return usageError{err.Error()}
	}
	cfg.Logger = logger
	if cfg.Admin == "off" {
		cfg.Admin = ""
	}
	switch accessPath {
	case "":
	case "-":
		cfg.AccessLog = stdout
	default:
		f, err := os.OpenFile(accessPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
		if err != nil {
			return fmt.Errorf("--access-log: %w", err)
		}
		defer f.Close()
		cfg.AccessLog = f
	}
	cfg.Info = buildInfo(cfg)
	srv, err := vigil.New(cfg)
	if err != nil {
		return err
	}
	if *check {
		fmt.Fprintln(stdout, "vigil: configuration OK")
		return nil
	}
	if err := srv.Start(); err != nil {
		return err
	}
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	defer signal.Stop(usr1)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	wd := startWatchdog(srv, logger)
	defer wd.stop()
	for waiting := true; waiting; {
		select {
		case <-ctx.Done():
			waiting = false
		case <-usr1:
			srv.LogTable()
		case <-hup:
			if err := srv.Reload(); err != nil {
				logger.Error("vigil: reload refused; the old configuration keeps serving", "err", err)
			}
		}
	}
	logger.Info("vigil: shutting down", "timeout", cfg.ShutdownTimeout)
	start := time.Now()
	if err := srv.Shutdown(context.Background()); err != nil {
		logger.Warn("vigil: shutdown cut connections", "after", time.Since(start).Round(time.Millisecond), "err", err)
	}
	return nil
}

// buildInfo is the summary the status page shows.
func buildInfo(cfg vigil.Config) map[string]string {
	info := map[string]string{
		"go":               runtime.Version(),
		"listen":           strings.Join(cfg.Listen, " "),
		"header-timeout":   cfg.HeaderTimeout.String(),
		"stall-timeout":    cfg.StallTimeout.String(),
		"idle-timeout":     cfg.IdleTimeout.String(),
		"handler-timeout":  cfg.HandlerTimeout.String(),
		"max-conns":        fmt.Sprint(cfg.MaxConns),
		"max-conns-per-ip": fmt.Sprint(cfg.MaxConnsPerIP),
		"min-rate":         fmt.Sprint(cfg.MinRate),
		"body-min-rate":    fmt.Sprint(cfg.BodyMinRate),
		"transfer-timeout": cfg.TransferTimeout.String(),
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		info["version"] = bi.Main.Version
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				info["revision"] = s.Value
			}
		}
	}
	if cfg.Root != "" {
		info["root"] = cfg.Root
	} else {
		info["root"] = "embedded demo UI"
	}
	return info
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	ho := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, ho)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, ho)), nil
	}
	return nil, fmt.Errorf("--log-format: want text or json, not %q", format)
}
