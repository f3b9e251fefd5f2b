package main

import (
	"flag"

	"github.com/vigilhttp/vigil"
	"github.com/vigilhttp/vigil/config"
)

// applyConfig fills cfg from the config file at path, except where a flag
// was given on the command line: flags win.
func applyConfig(path string, flags *flag.FlagSet, cfg *vigil.Config, o *serveOpts) error {
	f, err := config.Load(path)
	if err != nil {
		return err
	}
	given := map[string]bool{}
	flags.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
	use := func(key string) bool { return f.IsSet(key) && !given[key] }
	if use("listen") {
		cfg.Listen = f.Listen
	}
	if use("root") {
		cfg.Root = f.Root
	}
	if use("header-timeout") {
		cfg.HeaderTimeout = f.HeaderTimeout
	}
	if use("stall-timeout") {
		cfg.StallTimeout = f.StallTimeout
	}
	if use("min-rate") {
		cfg.MinRate = f.MinRate
	}
	if use("body-min-rate") {
		cfg.BodyMinRate = f.BodyMinRate
	}
	if use("transfer-timeout") {
		cfg.TransferTimeout = f.TransferTimeout
	}
	if use("idle-timeout") {
		cfg.IdleTimeout = f.IdleTimeout
	}
	if use("handler-timeout") {
		cfg.HandlerTimeout = f.HandlerTimeout
	}
	if use("shutdown-timeout") {
		cfg.ShutdownTimeout = f.ShutdownTimeout
	}
	if use("body-limit") {
		cfg.BodyLimit = f.BodyLimit
	}
	if use("max-conns") {
		cfg.MaxConns = f.MaxConns
	}
	if use("max-conns-per-ip") {
		cfg.MaxConnsPerIP = f.MaxConnsPerIP
	}
	if use("admin") {
		cfg.Admin = f.Admin
	}
	if use("access-log") {
		o.accessPath = f.AccessLog
	}
	if use("log-level") {
		o.level = f.LogLevel
	}
	if use("log-format") {
		o.format = f.LogFormat
	}
	if use("route") {
		cfg.Route = f.Route
	}
	if use("auth") {
		cfg.Auth = f.Auth
	}
	if use("realm") {
		cfg.Realm = f.Realm
	}
	if use("tls-cert") {
		cfg.TLSCert = f.TLSCert
	}
	if use("tls-key") {
		cfg.TLSKey = f.TLSKey
	}
	if use("tls-name") {
		cfg.TLSNames = f.TLSNames
	}
	if use("hsts") {
		cfg.HSTS = f.HSTS
	}
	if use("admin-remote") {
		o.adminRemote = f.AdminRemote
	}
	if use("upload-dir") {
		cfg.UploadDir = f.UploadDir
	}
	if use("tls-self-signed") {
		cfg.TLSSelfSigned = f.TLSSelfSigned
	}
	return nil
}
