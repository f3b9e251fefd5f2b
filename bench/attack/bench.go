package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/netip"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/vigilhttp/vigil/faultkit"
)

// Result is one server's run, as printed and as one JSON line.
type Result struct {
	Server     string  `json:"server"`
	IdleS      float64 `json:"idle_s"`
	AttackS    float64 `json:"attack_s"`
	AfterMaxS  float64 `json:"after_max_s"`
	Slowloris  int     `json:"slowloris"`
	ZeroWindow int     `json:"zero_window"`
	CablePull  int     `json:"cable_pull"`

	// Legit is the legitimate client per phase: "idle", "attack", "after".
	Legit map[string]LegitSummary `json:"legit"`

	// Before is the median of the idle phase's samples, Peak the largest
	// value of each metric during the attack, After the last sample.
	Before Sample `json:"before"`
	Peak   Sample `json:"peak"`
	After  Sample `json:"after"`
	// AfterS is how long the after phase lasted (it ends early once every
	// metric has settled within its margin).
	AfterS float64 `json:"after_s"`
	// BackS is, per metric ("rss", "goroutines", "sockets"), the seconds
	// from the end of the attack until the metric was within its margin of
	// Before for good; -1 when it was not by the end. No entry: n/a.
	BackS map[string]float64 `json:"back_s"`
	// Margins describes the margins, for the reader.
	Margins string `json:"margins"`

	SlowlorisPeers  PeerSummary `json:"slowloris_peers"`
	ZeroWindowPeers PeerSummary `json:"zero_window_peers"`
	CablePullPeers  PeerSummary `json:"cable_pull_peers"`

	// SampleErrors counts failed readings (a goroutine count that timed
	// out, say); FirstSampleError is the first.
	SampleErrors     int    `json:"sample_errors"`
	FirstSampleError string `json:"first_sample_error,omitempty"`
}

// LegitSummary is the legitimate client's figures for one phase.
type LegitSummary struct {
	Requests   int     `json:"requests"`
	OK         int     `json:"ok"`
	SuccessPct float64 `json:"success_pct"`
	// P50, P99 and Max are milliseconds, over successful requests.
	P50 float64 `json:"p50_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
	// Dials is how many connections the client opened in the phase.
	Dials    int64             `json:"dials"`
	Errors   map[string]int    `json:"errors,omitempty"`
	Examples map[string]string `json:"examples,omitempty"`
	// Unasked counts responses the server sent on the client's idle
	// connection before any request was written (logged by Go's
	// http.Transport as "Unsolicited response received on idle HTTP
	// channel"); FirstUnasked is the first such log line.
	Unasked      int    `json:"unasked"`
	FirstUnasked string `json:"first_unasked,omitempty"`
}

// PeerSummary is what one attacker group saw.
type PeerSummary struct {
	Dials     int64 `json:"dials"`
	DialFails int64 `json:"dial_fails"`
	// PeakOpen is the most connections of the group up at once (client
	// side, sampled every second).
	PeakOpen int64 `json:"peak_open"`
	// Endings counts how connections ended: "rst", "fin after 408", ...;
	// "open" ones were still up when the attack ended (or, for cable-pulled
	// peers, "cut").
	Endings map[string]int `json:"endings"`
	// HeldP50 and HeldMax are milliseconds the server held the connections
	// it ended itself.
	HeldP50 float64 `json:"held_p50_ms"`
	HeldMax float64 `json:"held_max_ms"`
	// LastCutS is, for the cable-pulled peers, seconds from the start of
	// the attack to the cut (all of them at once) in place.
	LastCutS float64 `json:"last_cut_s,omitempty"`
}

// bench runs the three phases against one server and reports.
func bench(ctx context.Context, cfg config, stdout io.Writer) (err error) {
	if err := faultkit.Available(); err != nil {
		return err
	}
	if err := raiseNofile(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.idle+cfg.attack+cfg.after+2*time.Minute)
	defer cancel()

	link, err := faultkit.NewLink(ctx)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, link.Close()) }()
	p, err := addAddresses(ctx, link, cfg)
	if err != nil {
		return err
	}
	addr := netip.AddrPortFrom(link.ServerIP, uint16(cfg.port)).String()
	d := faultkit.NewDialer(link.Client, addr, faultkit.DefaultDialSlots)

	srv, err := startServer(link, cfg, addr, cfg.logPath)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, srv.stop()) }()
	if err := waitReady(ctx, srv, d, p.legit); err != nil {
		return fmt.Errorf("%s: %w", cfg.name, err)
	}
	r := &runner{cfg: cfg, srv: srv, smp: newSampler(srv.pid(), link, cfg.port, cfg.pprof)}
	res := Result{
		Server: cfg.name, IdleS: cfg.idle.Seconds(), AttackS: cfg.attack.Seconds(), AfterMaxS: cfg.after.Seconds(),
		Slowloris: cfg.slowloris, ZeroWindow: cfg.zeroWindow, CablePull: cfg.cablePull,
		Legit: map[string]LegitSummary{}, BackS: map[string]float64{},
		Margins: fmt.Sprintf("rss +%.0f%% or +%.0f MiB, goroutines +%d, sockets +%d", cfg.marginRSS*100, cfg.marginRSSMiB, cfg.marginGor, cfg.marginSock),
	}

	// The legitimate client runs through all three phases.
	lg := newLegit(cfg, d, p.legit)
	phases := []*legitStats{newLegitStats(), newLegitStats(), newLegitStats()}
	dials := make([]int64, 4)
	lg.phase.Store(phases[0])
	log.SetFlags(0)
	log.SetOutput(logTo{lg})
	defer log.SetOutput(os.Stderr)
	legitCtx, stopLegit := context.WithTimeout(ctx, cfg.idle+cfg.attack+cfg.after+time.Minute)
	var lwg sync.WaitGroup
	lwg.Go(func() { lg.run(legitCtx) })
	defer func() {
		stopLegit()
		lwg.Wait()
	}()

	// Idle.
	var idle []Sample
	if err := r.poll(ctx, cfg.idle, func(_ time.Duration, s Sample) bool {
		idle = append(idle, s)
		return false
	}); err != nil {
		return err
	}
	res.Before = median(idle)

	// Attack.
	dials[1] = lg.dials.Load()
	lg.phase.Store(phases[1])
	at := &attackers{cfg: cfg, d: d, link: link, plan: p, slow: faultkit.NewPeers(), zero: faultkit.NewPeers(), cable: faultkit.NewPeers(),
		start: time.Now()}
	defer at.close()
	attackCtx, stopAttack := context.WithTimeout(ctx, cfg.attack)
	defer stopAttack()
	awg := at.run(attackCtx, ctx)
	var peakSlow, peakZero, peakCable int64
	res.Peak = Sample{RSSMiB: -1, Goroutines: -1, Sockets: -1}
	if err := r.poll(ctx, cfg.attack, func(_ time.Duration, s Sample) bool {
		res.Peak = peak(res.Peak, s)
		peakSlow = max(peakSlow, at.slow.Open.Load())
		peakZero = max(peakZero, at.zero.Open.Load())
		peakCable = max(peakCable, at.cable.Open.Load())
		return false
	}); err != nil {
		stopAttack()
		waitGroup(awg, 30*time.Second)
		return err
	}
	stopAttack()
	if !waitGroup(awg, 30*time.Second) {
		return errors.New("attackers did not stop within 30s of the attack's end")
	}
	res.SlowlorisPeers, res.ZeroWindowPeers, res.CablePullPeers = summary(at.slow), summary(at.zero), summary(at.cable)
	res.SlowlorisPeers.PeakOpen, res.ZeroWindowPeers.PeakOpen, res.CablePullPeers.PeakOpen = peakSlow, peakZero, peakCable
	res.CablePullPeers.LastCutS = time.Duration(at.lastCut.Load()).Seconds()

	// After: slowloris and zero-window peers are closed; the cut ones stay.
	dials[2] = lg.dials.Load()
	lg.phase.Store(phases[2])
	within := map[string]func(Sample) bool{
		"rss": func(s Sample) bool {
			return s.RSSMiB >= 0 && s.RSSMiB <= max(res.Before.RSSMiB*(1+cfg.marginRSS), res.Before.RSSMiB+cfg.marginRSSMiB)
		},
		"sockets": func(s Sample) bool { return s.Sockets >= 0 && s.Sockets <= res.Before.Sockets+cfg.marginSock },
	}
	if res.Before.Goroutines >= 0 {
		within["goroutines"] = func(s Sample) bool {
			return s.Goroutines >= 0 && s.Goroutines <= res.Before.Goroutines+cfg.marginGor
		}
	}
	since := map[string]time.Duration{}
	var elapsed time.Duration
	if err := r.poll(ctx, cfg.after, func(t time.Duration, s Sample) bool {
		res.After, elapsed = s, t
		settled := true
		for k, in := range within {
			if !in(s) {
				delete(since, k)
				settled = false
				continue
			}
			if _, ok := since[k]; !ok {
				since[k] = t
			}
			if t-since[k] < cfg.settle {
				settled = false
			}
		}
		return settled
	}); err != nil {
		return err
	}
	res.AfterS = elapsed.Seconds()
	for k := range within {
		res.BackS[k] = -1
		if t, ok := since[k]; ok {
			res.BackS[k] = t.Seconds()
		}
	}
	dials[3] = lg.dials.Load()
	stopLegit()
	lwg.Wait()
	for i, name := range []string{"idle", "attack", "after"} {
		s := phases[i].summary()
		s.Dials = dials[i+1] - dials[i]
		res.Legit[name] = s
	}
	res.SampleErrors, res.FirstSampleError = r.errs, r.firstErr

	report(stdout, res)
	if cfg.jsonOut != "" {
		b, err := json.Marshal(res)
		if err != nil {
			return err
		}
		f, err := os.OpenFile(cfg.jsonOut, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return err
		}
		_, err = f.Write(append(b, '\n'))
		return errors.Join(err, f.Close())
	}
	return nil
}

// logTo passes the standard logger's lines to the legitimate client's
// current phase.
type logTo struct{ lg *legit }

func (l logTo) Write(p []byte) (int, error) { return l.lg.phase.Load().Write(p) }

// runner polls the server under test.
type runner struct {
	cfg      config
	srv      *server
	smp      *sampler
	errs     int    // failed samples
	firstErr string // the first one's error
}

// poll samples the server once a second for d and passes each sample to
// fn, stopping early when fn returns true. It fails when the server exits.
func (r *runner) poll(ctx context.Context, d time.Duration, fn func(time.Duration, Sample) bool) error {
	start := time.Now()
	for i := 1; i <= int(d/time.Second); i++ {
		if !sleep(ctx, time.Until(start.Add(time.Duration(i)*time.Second))) {
			return ctx.Err()
		}
		if done, err := r.srv.exited(); done {
			return fmt.Errorf("%s exited during the run: %v", r.cfg.name, err)
		}
		s, err := r.smp.sample(ctx)
		if err != nil {
			if r.errs == 0 {
				r.firstErr = err.Error()
			}
			r.errs++
		}
		if fn(time.Since(start), s) {
			return nil
		}
	}
	return nil
}

// median returns the per-metric median of samples, ignoring unknown (-1)
// values; the socket states are the last sample's.
func median(samples []Sample) Sample {
	out := Sample{RSSMiB: -1, Goroutines: -1, Sockets: -1}
	var rss []float64
	var gor, sock []int
	for _, s := range samples {
		if s.RSSMiB >= 0 {
			rss = append(rss, s.RSSMiB)
		}
		if s.Goroutines >= 0 {
			gor = append(gor, s.Goroutines)
		}
		if s.Sockets >= 0 {
			sock = append(sock, s.Sockets)
		}
		out.States = s.States
	}
	if len(rss) > 0 {
		slices.Sort(rss)
		out.RSSMiB = rss[(len(rss)-1)/2]
	}
	if len(gor) > 0 {
		slices.Sort(gor)
		out.Goroutines = gor[(len(gor)-1)/2]
	}
	if len(sock) > 0 {
		slices.Sort(sock)
		out.Sockets = sock[(len(sock)-1)/2]
	}
	return out
}

// peak returns the per-metric maximum of a and s; the socket states are
// those of the sample with the most sockets.
func peak(a, s Sample) Sample {
	if s.Sockets > a.Sockets {
		a.States = s.States
	}
	a.RSSMiB = max(a.RSSMiB, s.RSSMiB)
	a.Goroutines = max(a.Goroutines, s.Goroutines)
	a.Sockets = max(a.Sockets, s.Sockets)
	return a
}

// waitGroup waits for wg at most d and reports whether it finished.
func waitGroup(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// raiseNofile raises the soft limit on open files to the hard limit, for
// this process and the server it starts: 1,300 attackers need as many
// descriptors on each side.
func raiseNofile() error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return err
		}
	}
	if lim.Cur < 4096 {
		return fmt.Errorf("open files limit %d is too low (need 4096; ulimit -Hn)", lim.Cur)
	}
	return nil
}
