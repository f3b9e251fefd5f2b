package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
)

// report prints one server's block.
func report(w io.Writer, r Result) {
	fmt.Fprintf(w, "== %s: %d slowloris + %d cable-pulled + %d zero-window; idle %gs, attack %gs, after <= %gs\n",
		r.Server, r.Slowloris, r.CablePull, r.ZeroWindow, r.IdleS, r.AttackS, r.AfterMaxS)
	fmt.Fprintln(w, "legitimate client: sequential keep-alive GETs; p50/p99/max in ms over successful requests")
	fmt.Fprintf(w, "  %-7s %8s %8s %8s %8s %8s %6s  %s\n", "phase", "requests", "success", "p50", "p99", "max", "dials", "failures")
	for _, ph := range []string{"idle", "attack", "after"} {
		l := r.Legit[ph]
		fmt.Fprintf(w, "  %-7s %8d %7.2f%% %8.2f %8.2f %8.2f %6d  %s\n",
			ph, l.Requests, l.SuccessPct, l.P50, l.P99, l.Max, l.Dials, counts(l.Errors))
	}
	for _, ph := range []string{"idle", "attack", "after"} {
		l := r.Legit[ph]
		for _, k := range slices.Sorted(maps.Keys(l.Examples)) {
			fmt.Fprintf(w, "    %s, first %s: %s\n", ph, k, clip(l.Examples[k], 160))
		}
		if l.Unasked > 0 {
			fmt.Fprintf(w, "    %s: %d responses unasked on an idle connection, first: %s\n", ph, l.Unasked, clip(l.FirstUnasked, 200))
		}
	}
	fmt.Fprintln(w, "server (rss: process and children; sockets: server side on the port, not LISTEN/TIME-WAIT)")
	fmt.Fprintf(w, "  %-22s %10s %10s %10s\n", "", "rss MiB", "goroutines", "sockets")
	row := func(name string, s Sample) {
		fmt.Fprintf(w, "  %-22s %10s %10s %10s\n", name, num(s.RSSMiB, 1), inum(s.Goroutines), inum(s.Sockets))
	}
	row("before (idle median)", r.Before)
	row("during (attack peak)", r.Peak)
	row(fmt.Sprintf("after (at +%.0fs)", r.AfterS), r.After)
	fmt.Fprintf(w, "  %-22s %10s %10s %10s\n", "back within margin", back(r.BackS, "rss"), back(r.BackS, "goroutines"), back(r.BackS, "sockets"))
	fmt.Fprintf(w, "  margins: %s; socket states at peak: %s; at end: %s\n", r.Margins, counts(r.Peak.States), counts(r.After.States))
	if r.SampleErrors > 0 {
		fmt.Fprintf(w, "  %d failed samples, first: %s\n", r.SampleErrors, clip(r.FirstSampleError, 200))
	}
	fmt.Fprintln(w, "attackers (client side; held: how long the server kept the connections it ended, ms)")
	peer := func(name string, p PeerSummary) {
		fmt.Fprintf(w, "  %-12s dials %5d (failed %d), peak open %4d, held p50 %.0f max %.0f; ended: %s\n",
			name, p.Dials, p.DialFails, p.PeakOpen, p.HeldP50, p.HeldMax, counts(p.Endings))
	}
	peer("slowloris", r.SlowlorisPeers)
	peer("zero-window", r.ZeroWindowPeers)
	peer("cable-pulled", r.CablePullPeers)
	if r.CablePullPeers.LastCutS > 0 {
		fmt.Fprintf(w, "  cable-pulled: all cut at once, %.1fs into the attack\n", r.CablePullPeers.LastCutS)
	}
	fmt.Fprintln(w)
}

// table prints the results in files (JSON lines) side by side, with the
// ratios of the first server to each of the others.
func table(files []string, w io.Writer) error {
	var rs []Result
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if strings.TrimSpace(sc.Text()) == "" {
				continue
			}
			var r Result
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				f.Close()
				return fmt.Errorf("%s: %w", name, err)
			}
			rs = append(rs, r)
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	if len(rs) == 0 {
		return fmt.Errorf("table: no results")
	}
	type line struct {
		name string
		prec int
		get  func(Result) (float64, bool)
	}
	legit := func(ph string, f func(LegitSummary) float64) func(Result) (float64, bool) {
		return func(r Result) (float64, bool) {
			l, ok := r.Legit[ph]
			return f(l), ok && l.Requests > 0
		}
	}
	sample := func(f func(Result) float64) func(Result) (float64, bool) {
		return func(r Result) (float64, bool) { v := f(r); return v, v >= 0 }
	}
	backs := func(k string) func(Result) (float64, bool) {
		return func(r Result) (float64, bool) { v, ok := r.BackS[k]; return v, ok }
	}
	lines := []line{
		{"legit success idle %", 2, legit("idle", func(l LegitSummary) float64 { return l.SuccessPct })},
		{"legit success attack %", 2, legit("attack", func(l LegitSummary) float64 { return l.SuccessPct })},
		{"legit success after %", 2, legit("after", func(l LegitSummary) float64 { return l.SuccessPct })},
		{"legit p50 idle ms", 2, legit("idle", func(l LegitSummary) float64 { return l.P50 })},
		{"legit p50 attack ms", 2, legit("attack", func(l LegitSummary) float64 { return l.P50 })},
		{"legit p99 idle ms", 2, legit("idle", func(l LegitSummary) float64 { return l.P99 })},
		{"legit p99 attack ms", 2, legit("attack", func(l LegitSummary) float64 { return l.P99 })},
		{"legit p99 attack/idle", 2, func(r Result) (float64, bool) {
			i, a := r.Legit["idle"], r.Legit["attack"]
			return a.P99 / i.P99, i.P99 > 0 && a.OK > 0
		}},
		{"rss before MiB", 1, sample(func(r Result) float64 { return r.Before.RSSMiB })},
		{"rss peak MiB", 1, sample(func(r Result) float64 { return r.Peak.RSSMiB })},
		{"rss after MiB", 1, sample(func(r Result) float64 { return r.After.RSSMiB })},
		{"goroutines before", 0, sample(func(r Result) float64 { return float64(r.Before.Goroutines) })},
		{"goroutines peak", 0, sample(func(r Result) float64 { return float64(r.Peak.Goroutines) })},
		{"goroutines after", 0, sample(func(r Result) float64 { return float64(r.After.Goroutines) })},
		{"sockets before", 0, sample(func(r Result) float64 { return float64(r.Before.Sockets) })},
		{"sockets peak", 0, sample(func(r Result) float64 { return float64(r.Peak.Sockets) })},
		{"sockets after", 0, sample(func(r Result) float64 { return float64(r.After.Sockets) })},
		{"rss back after s", 0, backs("rss")},
		{"goroutines back after s", 0, backs("goroutines")},
		{"sockets back after s", 0, backs("sockets")},
	}
	first := rs[0].Server
	fmt.Fprintf(w, "%-24s", "metric")
	for _, r := range rs {
		fmt.Fprintf(w, " %10s", r.Server)
	}
	for _, r := range rs[1:] {
		fmt.Fprintf(w, " %16s", first+"/"+r.Server)
	}
	fmt.Fprintln(w)
	for _, l := range lines {
		fmt.Fprintf(w, "%-24s", l.name)
		for _, r := range rs {
			v, ok := l.get(r)
			switch {
			case !ok:
				fmt.Fprintf(w, " %10s", "n/a")
			case strings.HasSuffix(l.name, " back after s") && v < 0:
				fmt.Fprintf(w, " %10s", fmt.Sprintf(">%.0f", r.AfterS))
			default:
				fmt.Fprintf(w, " %10.*f", l.prec, v)
			}
		}
		a, aok := l.get(rs[0])
		for _, r := range rs[1:] {
			b, bok := l.get(r)
			if !aok || !bok || a < 0 || b <= 0 {
				fmt.Fprintf(w, " %16s", "n/a")
				continue
			}
			fmt.Fprintf(w, " %16.2f", a/b)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "(p50/p99 over successful requests; back after: seconds from the end of the attack until within margin for good, >N: not within N s; ratio n/a: unknown or zero denominator)")
	return nil
}

// counts formats a count map as "k=v k=v", keys sorted; "-" when empty.
func counts(m map[string]int) string {
	if len(m) == 0 {
		return "-"
	}
	var b strings.Builder
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%d", strings.ReplaceAll(k, " ", "_"), m[k])
	}
	return b.String()
}

// num formats v with prec decimals, "n/a" when negative.
func num(v float64, prec int) string {
	if v < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.*f", prec, v)
}

// inum formats v, "n/a" when negative.
func inum(v int) string {
	if v < 0 {
		return "n/a"
	}
	return fmt.Sprint(v)
}

// back formats a BackS entry.
func back(m map[string]float64, k string) string {
	v, ok := m[k]
	switch {
	case !ok:
		return "n/a"
	case v < 0:
		return "never"
	}
	return fmt.Sprintf("%.0fs", v)
}

// clip shortens s to n bytes.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
