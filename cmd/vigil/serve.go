package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/vigilhttp/vigil"
)

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// serveFlags binds the serve flags to cfg and returns the flag set and the
// logging choices.
func serveFlags(cfg *vigil.Config, stderr io.Writer) (*flag.FlagSet, *string, *string) {
	d := vigil.DefaultConfig()
	cfg.Listen = nil
	flags := flag.NewFlagSet("vigil serve", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.Var((*listFlag)(&cfg.Listen), "listen", "address to listen on, host:port or [v6]:port; repeatable (default "+vigil.DefaultListen+")")
	flags.StringVar(&cfg.Root, "root", "", "document root directory to serve (default: the embedded demo device UI)")
	flags.DurationVar(&cfg.HeaderTimeout, "header-timeout", d.HeaderTimeout, "total time allowed for a request header, from accept or the first byte after idle")
	flags.DurationVar(&cfg.StallTimeout, "stall-timeout", d.StallTimeout, "longest wait without progress on a body read or any write; also TCP_USER_TIMEOUT")
	flags.Int64Var(&cfg.MinRate, "min-rate", 0, "minimum average rate of a body or response in bytes/s once started (0: none)")
	flags.DurationVar(&cfg.TransferTimeout, "transfer-timeout", 0, "hard cap on one request body or one response (0: none)")
	flags.DurationVar(&cfg.IdleTimeout, "idle-timeout", d.IdleTimeout, "keep-alive wait for the next request")
	flags.DurationVar(&cfg.HandlerTimeout, "handler-timeout", d.HandlerTimeout, "handler run time: the request context's deadline; overstayers are cut and their stack logged")
	flags.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", d.ShutdownTimeout, "drain time on SIGTERM/SIGINT before connections are cut")
	flags.Int64Var(&cfg.BodyLimit, "body-limit", d.BodyLimit, "largest request body in bytes")
	flags.IntVar(&cfg.MaxConns, "max-conns", d.MaxConns, "open connections cap, all listeners (oldest idle evicted at the cap, else 503)")
	flags.IntVar(&cfg.MaxConnsPerIP, "max-conns-per-ip", d.MaxConnsPerIP, "open connections cap per remote IP")
	level := flags.String("log-level", "info", "log level: debug, info, warn, error")
	format := flags.String("log-format", "text", "log format: text or json")
	return flags, level, format
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg vigil.Config
	flags, level, format := serveFlags(&cfg, stderr)
	if err := flags.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return usageError{err.Error()}
	}
	if flags.NArg() > 0 {
		return usageError{fmt.Sprintf("serve: unexpected argument %q", flags.Arg(0))}
	}
	logger, err := newLogger(stderr, *level, *format)
	if err != nil {
		return usageError{err.Error()}
	}
	cfg.Logger = logger
	srv, err := vigil.New(cfg)
	if err != nil {
		return err
	}
	if err := srv.Start(); err != nil {
		return err
	}
	<-ctx.Done()
	logger.Info("vigil: shutting down", "timeout", cfg.ShutdownTimeout)
	start := time.Now()
	if err := srv.Shutdown(context.Background()); err != nil {
		logger.Warn("vigil: shutdown cut connections", "after", time.Since(start).Round(time.Millisecond), "err", err)
	}
	return nil
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
