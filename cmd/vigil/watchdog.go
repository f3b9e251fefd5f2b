package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"

	"github.com/vigilhttp/vigil"
)

// watchdog tells systemd the server is ready (READY=1) and, when the unit
// has WatchdogSec=, that it is alive (WATCHDOG=1) — but only after a real
// liveness check: a loopback request through the accept loop and the whole
// handler stack got an answer. A wedged server stops pinging and systemd
// restarts it.
type watchdog struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func startWatchdog(srv *vigil.Server, log *slog.Logger) *watchdog {
	ctx, cancel := context.WithCancel(context.Background())
	w := &watchdog{cancel: cancel}
	if ok, err := daemon.SdNotify(false, daemon.SdNotifyReady); err != nil {
		log.Warn("vigil: sd_notify READY", "err", err)
	} else if ok {
		log.Debug("vigil: told systemd we are ready")
	}
	every, err := daemon.SdWatchdogEnabled(false)
	if err != nil || every <= 0 {
		return w
	}
	every /= 2
	w.wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if err := probe(ctx, srv, every); err != nil {
				log.Warn("vigil: liveness check failed; not pinging the systemd watchdog", "err", err)
				continue
			}
			daemon.SdNotify(false, daemon.SdNotifyWatchdog)
		}
	})
	return w
}

func (w *watchdog) stop() {
	w.cancel()
	w.wg.Wait()
}

// probe sends HEAD / to the server's first listener over loopback and
// accepts any HTTP answer as alive, bounded by d.
func probe(ctx context.Context, srv *vigil.Server, d time.Duration) error {
	addrs := srv.Addrs()
	if len(addrs) == 0 {
		return fmt.Errorf("no listener")
	}
	ta, ok := addrs[0].(*net.TCPAddr)
	if !ok {
		return fmt.Errorf("listener %v is not TCP", addrs[0])
	}
	host := ta.IP
	if host.IsUnspecified() {
		host = net.IPv4(127, 0, 0, 1)
		if ta.IP.To4() == nil {
			host = net.IPv6loopback
		}
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	u := "http://" + net.JoinHostPort(host.String(), fmt.Sprint(ta.Port)) + "/"
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, u, nil)
	if err != nil {
		return err
	}
	_, _, err = exchange(ctx, "tcp", req.URL.Host, req, 0)
	return err
}
