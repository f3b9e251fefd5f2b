//go:build !nohangcheck

package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"html"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/vigilhttp/vigil/faultkit"
)

// planModes returns the modes to run against a target: http1 for an http
// URL; https1 and, if the target's ALPN picks it, h2 for an https one
// (a note on stderr says when h2 is not offered). A TLS handshake that
// fails for another reason (a certificate that does not verify) is an
// error.
func planModes(ctx context.Context, tg target, want []faultkit.Mode, stderr io.Writer) ([]faultkit.Mode, error) {
	if tg.scheme == "http" {
		if !slices.Contains(want, faultkit.HTTP1) {
			return nil, nil
		}
		return []faultkit.Mode{faultkit.HTTP1}, nil
	}
	var modes []faultkit.Mode
	for _, m := range []faultkit.Mode{faultkit.HTTPS1, faultkit.H2} {
		if !slices.Contains(want, m) {
			continue
		}
		t := tg.Target
		t.Mode = m
		dctx, cancel := context.WithTimeout(ctx, faultkit.ProbeTimeout)
		c, err := t.Dial(dctx, faultkit.DialOptions{})
		cancel()
		switch {
		case errors.Is(err, faultkit.ErrNotOffered) && m == faultkit.H2:
			fmt.Fprintf(stderr, "hangcheck: %s does not offer h2 by ALPN: the h2 rows are skipped\n", tg.Addr)
			continue
		case err != nil && strings.Contains(err.Error(), "certificate") && tg.TLS != nil:
			return nil, fmt.Errorf("hangcheck: %w (a device with a self-signed certificate needs --insecure)", err)
		case err != nil:
			return nil, fmt.Errorf("hangcheck: %w", err)
		}
		c.Close()
		modes = append(modes, m)
	}
	return modes, nil
}

// tlsConfig returns the TLS configuration for an https target: nil (verify
// nothing) with --insecure, else verification against the system's roots
// for the URL's host name.
func tlsConfig(host string, insecure bool) *tls.Config {
	if insecure {
		return nil
	}
	return &tls.Config{ServerName: host}
}

// timeouts are the target's own bounds, as far as known.
type timeouts struct {
	header, stall, idle time.Duration
	source              string // where they come from: "--timeouts" or the admin endpoint
}

// known reports whether any bound is known.
func (t timeouts) known() bool { return t.header > 0 || t.stall > 0 || t.idle > 0 }

// parseTimeouts parses --timeouts: "header=10s,stall=30s,idle=30s", any
// subset.
func parseTimeouts(s string) (timeouts, error) {
	t := timeouts{source: "--timeouts"}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		d, err := time.ParseDuration(v)
		if !ok || err != nil || d <= 0 {
			return t, fmt.Errorf("hangcheck: --timeouts %q: want header=10s,stall=30s,idle=30s (any of them)", s)
		}
		switch k {
		case "header":
			t.header = d
		case "stall":
			t.stall = d
		case "idle":
			t.idle = d
		default:
			return t, fmt.Errorf("hangcheck: --timeouts: unknown bound %q (header, stall, idle)", k)
		}
	}
	return t, nil
}

// infoItem matches one entry of the status page's configuration summary.
// It is compiled where it is used, not at init: a package-level regexp
// would link the regexp package into a device build without hangcheck.
func infoItem() *regexp.Regexp { return regexp.MustCompile(`<dt>([a-z-]+)</dt><dd>([^<]*)</dd>`) }

// adminTimeouts reads a vigil's bounds from its status page.
func adminTimeouts(ctx context.Context, admin string) (timeouts, error) {
	body, err := adminDo(ctx, parseAdmin(admin), "GET", "/status")
	if err != nil {
		return timeouts{}, fmt.Errorf("hangcheck: --admin: %w", err)
	}
	t := timeouts{source: "the status of " + admin}
	for _, m := range infoItem().FindAllSubmatch(body, 64) {
		d, err := time.ParseDuration(html.UnescapeString(string(m[2])))
		if err != nil {
			continue
		}
		switch string(m[1]) {
		case "header-timeout":
			t.header = d
		case "stall-timeout":
			t.stall = d
		case "idle-timeout":
			t.idle = d
		}
	}
	if !t.known() {
		return t, fmt.Errorf("hangcheck: --admin %s: the status page names no timeouts", admin)
	}
	return t, nil
}

// needs returns the target's bound that ends scenario, and its name, or 0
// when no known bound applies (a reset, a flood of requests, the replay set).
func (t timeouts) needs(scenario string) (time.Duration, string) {
	switch scenario {
	case "slowloris", "cable-pull-header", "flood":
		return t.header, "header"
	case "slow-body", "zero-window", "cable-pull-download", "h2-zero-window":
		return t.stall, "stall"
	case "idle-hold", "h2-idle-chatter":
		return t.idle, "idle"
	case "cable-pull-idle":
		return t.idle + t.stall, "idle + stall"
	}
	return 0, ""
}
