package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/vigilhttp/vigil/faultkit"
)

// wsScenarios are the scenarios on a WebSocket at --ws PATH; they run only
// when --ws is given, over HTTP/1.1 in clear and TLS (http1, https1).
var wsScenarios = []string{"websocket-silent", "websocket-idle-pull"}

// wsFirstPing bounds the wait of websocket-idle-pull for the server's
// first ping (vigil's default interval is 20 s).
const wsFirstPing = 60 * time.Second

// wsScenario runs websocket-silent or websocket-idle-pull on a fresh
// connection to the WebSocket at o.ws.
func wsScenario(ctx context.Context, tg target, o hangcheckOpts, r *row) error {
	c, err := tg.dial(ctx, faultkit.DialOptions{})
	if err != nil {
		return err
	}
	defer c.Close()
	if r.Scenario == "websocket-silent" {
		res, err := faultkit.WebSocketSilent(ctx, c, tg.host, o.ws)
		r.Held, r.Ended = res.Held.Seconds(), res.Ended
		r.Detail = fmt.Sprintf("upgraded %s (%d), answered none of %d pings", o.ws, res.Status, res.Pings)
		switch {
		case res.CloseCode != 0:
			r.Detail += fmt.Sprintf(", close %d at %.1fs", res.CloseCode, res.CloseAt.Seconds())
		case res.Ended != faultkit.EndedOpen && res.Ended != "":
			r.Detail += ", no close frame"
		}
		if res.Ended != "" && res.Ended != faultkit.EndedOpen {
			r.Detail += ", then " + res.Ended
		}
		return err
	}
	return wsIdlePull(ctx, c, tg, o, r)
}

// wsIdlePull upgrades, answers pings until the server's first one has been
// answered (the peer proved alive), then pulls the cable as cablePull does
// and watches the target let go of the socket.
func wsIdlePull(ctx context.Context, c net.Conn, tg target, o hangcheckOpts, r *row) (err error) {
	hctx, cancel := context.WithTimeout(ctx, cutPrepare)
	ws, err := faultkit.WSHandshake(hctx, c, tg.host, o.ws)
	cancel()
	if err != nil {
		return err
	}
	start := time.Now()
	dl := start.Add(wsFirstPing)
	if d, ok := ctx.Deadline(); ok && d.Before(dl) {
		dl = d
	}
	c.SetDeadline(dl)
	msgs := 0
	for i := 0; ; i++ {
		f, err := ws.ReadFrame()
		if err != nil {
			return fmt.Errorf("waiting for the first ping on %s (%d messages came): %w", o.ws, msgs, err)
		}
		if f.Op == faultkit.WSClose {
			return fmt.Errorf("the server closed %s (%d) before its first ping", o.ws, f.CloseCode())
		}
		if f.Op == faultkit.WSPing {
			if err := ws.WriteFrame(faultkit.WSPong, f.Payload); err != nil {
				return fmt.Errorf("pong: %w", err)
			}
			break
		}
		msgs++
		if i > 1<<20 {
			return fmt.Errorf("%d frames and no ping on %s", i, o.ws)
		}
	}
	c.SetDeadline(time.Time{})
	what := fmt.Sprintf("upgraded %s, answered a ping at %.1fs (%d messages before), cut", o.ws, time.Since(start).Seconds(), msgs)
	tcp, _ := faultkit.TCP(c)
	cut, err := faultkit.CutHere(ctx, c)
	if err != nil {
		return err
	}
	defer func() {
		// Runs even after Ctrl-C: Restore ignores cancellation.
		err = errors.Join(err, cut.Restore(ctx))
	}()
	w := watchCut(ctx, cut, isLocal(cut.Remote.Addr()))
	if !w.local && w.ended == faultkit.EndedOpen && w.err == nil && !errors.Is(ctx.Err(), context.Canceled) {
		w.lateCheck(ctx, c, tg.mode, cut)
	}
	tcp.SetLinger(0)
	tcp.Close()
	r.Held, r.Ended = w.held.Seconds(), w.ended
	r.Detail = what + "; " + w.describe()
	return w.err
}

// wsNames checks the WebSocket scenarios among names against --ws: without
// it they are dropped from the default list and refused when asked for by
// name.
func wsNames(names []string, explicit bool, ws string) ([]string, error) {
	if ws != "" {
		if !strings.HasPrefix(ws, "/") {
			return nil, usageError{"hangcheck: --ws: need a path starting with /"}
		}
		return names, nil
	}
	var out []string
	for _, n := range names {
		if isWS(n) {
			if explicit {
				return nil, usageError{fmt.Sprintf("hangcheck: %s needs --ws PATH (a WebSocket endpoint of the target)", n)}
			}
			continue
		}
		out = append(out, n)
	}
	return out, nil
}

// isWS reports whether scenario is one of wsScenarios.
func isWS(scenario string) bool { return slices.Contains(wsScenarios, scenario) }
