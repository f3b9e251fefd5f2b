package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vigilhttp/vigil"
	"github.com/vigilhttp/vigil/config"
)

// serveFlagSet binds every serve flag, one per setting of config.Settings,
// to cfg or to the returned command settings.
func serveFlagSet(cfg *vigil.Config, stderr io.Writer) (*flag.FlagSet, *config.Command) {
	o := &config.Command{}
	flags := flag.NewFlagSet("vigil serve", flag.ContinueOnError)
	flags.SetOutput(stderr)
	config.Flags(flags, cfg, o)
	flags.Usage = func() {
		fmt.Fprintf(flags.Output(), "usage: vigil serve [flags]\n\nServes a document root (--root), GoAhead route.txt and auth.txt (--route, --auth),\nor the embedded demo device UI. Every flag is also a vigil.conf key (--config).\n\nFlags:\n")
		printFlags(flags)
	}
	return flags, o
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg vigil.Config
	flags, o := serveFlagSet(&cfg, stderr)
	confPath := flags.String("config", "", "vigil.conf (TOML): every flag as a key; flags given on the command line win")
	check := flags.Bool("check", false, "validate the configuration, route and auth files, then exit")
	if err := parseFlags(flags, args); err != nil {
		return err
	}
	if *confPath != "" {
		if err := applyConfig(*confPath, flags, &cfg, o); err != nil {
			return err
		}
	}
	if flags.NArg() > 0 {
		return usageError{fmt.Sprintf("serve: unexpected argument %q (flags start with --; vigil serve --help lists them)", flags.Arg(0))}
	}
	logger, err := newLogger(stderr, o.LogLevel, o.LogFormat)
	if err != nil {
		return usageError{err.Error()}
	}
	cfg.Logger = logger
	if err := checkServe(&cfg, o, logger); err != nil {
		return err
	}
	// The vigil command has no way to register upload actions: upload
	// routes store what they receive (the route's dir= or --upload-dir).
	cfg.StoreUploads = true
	var access *reopener
	switch o.AccessLogPath {
	case "":
	case "-":
		cfg.AccessLog = stdout
	default:
		if access, err = openReopener(o.AccessLogPath); err != nil {
			return fmt.Errorf("--access-log: %w", err)
		}
		defer access.Close()
		cfg.AccessLog = access
	}
	cfg.Info = buildInfo(cfg)
	srv, err := vigil.New(cfg)
	if err != nil {
		return err
	}
	if *check {
		if err := srv.Check(); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "vigil: configuration OK")
		return nil
	}
	if err := srv.Check(); err != nil {
		for _, e := range unjoin(err) {
			logger.Warn("vigil: route cannot work as configured", "problem", e.Error())
		}
	}
	// Signals are caught before the server listens: a SIGHUP sent as soon
	// as the "listening" line appears must not kill it.
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	defer signal.Stop(usr1)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	if err := srv.Start(); err != nil {
		return err
	}
	wd := startWatchdog(srv, logger)
	defer wd.stop()
	for waiting := true; waiting; {
		select {
		case <-ctx.Done():
			waiting = false
		case <-usr1:
			srv.LogTable()
		case <-hup:
			if access != nil {
				// logrotate's default: the old file was renamed; lines
				// from now on go to a new one at the same path.
				if err := access.Reopen(); err != nil {
					logger.Error("vigil: reopening the access log failed; lines keep going to the old file", "path", o.AccessLogPath, "err", err)
				} else {
					logger.Info("vigil: access log reopened", "path", o.AccessLogPath)
				}
			}
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

// unjoin returns the errors of an errors.Join, or err alone.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// checkServe completes and checks the command line's configuration before
// vigil.New sees it, so that every mistake is reported by its flag name with
// the fix: addresses, the admin endpoint, TLS, negative bounds.
func checkServe(cfg *vigil.Config, o *config.Command, logger *slog.Logger) error {
	for i, a := range cfg.Listen {
		if isPort(a) {
			cfg.Listen[i] = "localhost:" + a
			logger.Info("vigil: a bare port listens on localhost only; write :"+a+" for every interface", "listen", cfg.Listen[i])
			continue
		}
		hp := strings.TrimPrefix(strings.TrimPrefix(a, "https://"), "http://")
		if _, _, err := net.SplitHostPort(hp); err != nil {
			return usageError{fmt.Sprintf("--listen %s: want host:port, :port, a port, or http:// or https:// before them (e.g. --listen localhost:8080)", a)}
		}
	}
	if len(cfg.Listen) == 0 {
		cfg.Listen = []string{vigil.DefaultListen}
	}
	if err := checkTLS(cfg); err != nil {
		return err
	}
	if err := config.CheckNegative(cfg, o); err != nil {
		return usageError{err.Error()}
	}
	switch a := cfg.Admin; {
	case a == "off":
		cfg.Admin = ""
	case a == "":
		cfg.Admin = instanceAdmin(cfg.Listen[0])
	case strings.HasPrefix(a, "unix:"):
	case strings.HasPrefix(a, "/") || strings.HasPrefix(a, "./") || strings.HasSuffix(a, ".sock"):
		cfg.Admin = "unix:" + a
	default:
		host, _, err := net.SplitHostPort(a)
		if err != nil {
			return usageError{fmt.Sprintf("--admin %s: want unix:PATH, a socket path, host:port or off", a)}
		}
		if !isLoopback(host) {
			if !o.AdminRemote {
				return usageError{fmt.Sprintf("--admin %s: not a loopback address; the admin endpoint serves pprof and kills connections without authentication. Use a unix socket or 127.0.0.1:PORT, or add --admin-remote if this network is yours alone", a)}
			}
			logger.Warn("vigil: the admin endpoint listens beyond this machine (--admin-remote): anyone who reaches it can read the connection table, profile the server and kill connections, without authentication", "admin", a)
		}
	}
	return nil
}

// checkTLS refuses TLS settings that would be ignored or cannot work.
func checkTLS(cfg *vigil.Config) error {
	var https string
	for _, a := range cfg.Listen {
		if strings.HasPrefix(a, "https://") {
			https = a
			break
		}
	}
	cert := cfg.TLSCert != "" || cfg.TLSKey != ""
	switch {
	case cfg.TLSCert != "" && cfg.TLSKey == "":
		return usageError{"--tls-cert needs --tls-key (the certificate's private key)"}
	case cfg.TLSKey != "" && cfg.TLSCert == "":
		return usageError{"--tls-key needs --tls-cert (the certificate of that key)"}
	case cert && cfg.TLSSelfSigned != "":
		return usageError{"give --tls-cert/--tls-key or --tls-self-signed, not both"}
	case https != "" && !cert && cfg.TLSSelfSigned == "":
		return usageError{fmt.Sprintf("--listen %s needs a certificate: give --tls-cert FILE --tls-key FILE, or --tls-self-signed DIR for a device certificate", https)}
	case https == "" && cfg.TLSSelfSigned != "":
		return usageError{fmt.Sprintf("--tls-self-signed %s: no https:// listener would use it; add --listen https://localhost:8443 (or another https://host:port)", cfg.TLSSelfSigned)}
	case https == "" && cert:
		return usageError{"--tls-cert/--tls-key: no https:// listener would use them; add --listen https://localhost:8443 (or another https://host:port)"}
	}
	return nil
}

func isPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 0 && n <= 65535 && !strings.HasPrefix(s, "+")
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	return ip != nil && ip.IsLoopback()
}

// buildInfo is the summary the status page shows: every bound as it is in
// effect, defaults spelled out.
func buildInfo(cfg vigil.Config) map[string]string {
	bodyMinRate := fmt.Sprint(cfg.BodyMinRate)
	switch {
	case cfg.BodyMinRate < 0:
		bodyMinRate = "none"
	case cfg.BodyMinRate == 0 && cfg.MinRate > 0:
		bodyMinRate = fmt.Sprint(cfg.MinRate)
	case cfg.BodyMinRate == 0:
		bodyMinRate = fmt.Sprint(vigil.DefaultBodyMinRate)
	}
	listen := cfg.Listen
	if len(listen) == 0 {
		listen = []string{vigil.DefaultListen}
	}
	v := readVersion()
	info := map[string]string{
		"go":               runtime.Version(),
		"version":          v.String(),
		"listen":           strings.Join(listen, " "),
		"header-timeout":   cfg.HeaderTimeout.String(),
		"stall-timeout":    cfg.StallTimeout.String(),
		"idle-timeout":     cfg.IdleTimeout.String(),
		"handler-timeout":  cfg.HandlerTimeout.String(),
		"max-conns":        fmt.Sprint(cfg.MaxConns),
		"max-conns-per-ip": fmt.Sprint(cfg.MaxConnsPerIP),
		"min-rate":         fmt.Sprint(cfg.MinRate),
		"body-min-rate":    bodyMinRate,
		"transfer-timeout": cfg.TransferTimeout.String(),
	}
	if v.Revision != "" {
		info["revision"] = v.Revision
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
		return nil, fmt.Errorf("--log-level %s: want debug, info, warn or error", level)
	}
	ho := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, ho)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, ho)), nil
	}
	return nil, fmt.Errorf("--log-format %s: want text or json", format)
}
