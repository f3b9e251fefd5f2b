package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigilhttp/vigil/faultkit"
)

// legit is the legitimate client: sequential GETs of one small file on one
// keep-alive connection (Go's http.Transport, at most one connection),
// reconnecting on error, each request bounded by cfg.timeout. Its results go
// to the current phase's stats.
type legit struct {
	cfg    config
	client *http.Client
	url    string
	dials  atomic.Int64
	phase  atomic.Pointer[legitStats]
}

// newLegit builds the client; its connections come from d, from src.
func newLegit(cfg config, d *faultkit.Dialer, src netip.Addr) *legit {
	l := &legit{cfg: cfg, url: "http://" + d.Addr() + cfg.small}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			l.dials.Add(1)
			return dial(ctx, d, src, cfg.timeout)
		},
		MaxIdleConns:        1,
		MaxIdleConnsPerHost: 1,
		MaxConnsPerHost:     1,
		DisableCompression:  true,
	}
	l.client = &http.Client{Transport: tr, Timeout: cfg.timeout}
	return l
}

// run sends requests, one per cfg.interval (or back to back when slower),
// until ctx ends; at most one per interval of the whole run.
func (l *legit) run(ctx context.Context) {
	defer l.client.CloseIdleConnections()
	deadline, ok := ctx.Deadline()
	if !ok {
		return
	}
	next := time.Now()
	for range int(time.Until(deadline)/l.cfg.interval) + 2 {
		if ctx.Err() != nil {
			return
		}
		st := l.phase.Load()
		start := time.Now()
		err := l.get(ctx)
		d := time.Since(start)
		if ctx.Err() != nil {
			return // cut short by the end of the run, not by the server
		}
		st.record(d, err)
		next = next.Add(l.cfg.interval)
		if wait := time.Until(next); wait > 0 {
			sleep(ctx, wait)
		} else {
			next = time.Now()
		}
	}
}

// errStatus and errLength are the server's wrong answers.
type errStatus int

func (e errStatus) Error() string { return fmt.Sprintf("status %d", int(e)) }

var errLength = errors.New("short body")

// get does one request and checks status and length.
func (l *legit) get(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.url, nil)
	if err != nil {
		return err
	}
	resp, err := l.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, io.LimitReader(resp.Body, l.cfg.smallLen+1))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return errStatus(resp.StatusCode)
	}
	if n != l.cfg.smallLen {
		return errLength
	}
	return nil
}

// legitStats is the legitimate client's record of one phase. Safe for
// concurrent use.
type legitStats struct {
	mu       sync.Mutex
	requests int               // guarded by mu
	lat      []time.Duration   // guarded by mu: latencies of the successful requests
	errs     map[string]int    // guarded by mu: failures by kind
	example  map[string]string // guarded by mu: the first error of each kind
	unasked  int               // guarded by mu: responses the server sent before any request
	unasked1 string            // guarded by mu: the first one, as Go's Transport logged it
}

func newLegitStats() *legitStats {
	return &legitStats{errs: map[string]int{}, example: map[string]string{}}
}

// record adds one request.
func (s *legitStats) record(d time.Duration, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	if err == nil {
		s.lat = append(s.lat, d)
		return
	}
	k := kind(err)
	s.errs[k]++
	if _, ok := s.example[k]; !ok {
		s.example[k] = err.Error()
	}
}

// Write takes a line of Go's standard logger, where http.Transport reports
// a response the server sent on an idle connection before any request (so
// this is where vigil's "503 at capacity" to a fresh connection shows up):
// bench points log's output here.
func (s *legitStats) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unasked++
	if s.unasked1 == "" {
		s.unasked1 = strings.TrimSpace(string(p))
	}
	return len(p), nil
}

// summary returns the phase's figures for the report.
func (s *legitStats) summary() LegitSummary {
	s.mu.Lock()
	defer s.mu.Unlock()
	sum := LegitSummary{Requests: s.requests, OK: len(s.lat), Errors: map[string]int{}, Examples: map[string]string{},
		Unasked: s.unasked, FirstUnasked: s.unasked1}
	for k, v := range s.errs {
		sum.Errors[k] = v
		sum.Examples[k] = s.example[k]
	}
	if s.requests > 0 {
		sum.SuccessPct = 100 * float64(len(s.lat)) / float64(s.requests)
	}
	if len(s.lat) > 0 {
		l := slices.Clone(s.lat)
		slices.Sort(l)
		sum.P50 = ms(percentile(l, 0.50))
		sum.P99 = ms(percentile(l, 0.99))
		sum.Max = ms(l[len(l)-1])
	}
	return sum
}

// percentile returns the nearest-rank p-th percentile of sorted d.
func percentile(d []time.Duration, p float64) time.Duration {
	i := int(float64(len(d))*p+0.999999) - 1
	return d[min(max(i, 0), len(d)-1)]
}

// kind names a failure for counting: the client's own wrong answers, else
// faultkit's kinds (refused, reset, timeout, eof, other).
func kind(err error) string {
	var st errStatus
	switch {
	case errors.As(err, &st):
		return st.Error()
	case errors.Is(err, errLength):
		return "short body"
	}
	return faultkit.Kind(err)
}

// ms converts d to milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
