package vigil

import (
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigilhttp/vigil/governor"
)

const (
	// trimEvery is how often the trimmer counts open connections.
	trimEvery = time.Second
	// trimBurst is how many connections must have gone since the peak
	// for their memory to be worth handing back.
	trimBurst = 192
)

// trimmer hands the memory of a burst of connections back to the operating
// system once the burst has passed. Go's runtime returns freed memory only
// gradually; on a device, after a flood of 1,000 slowloris connections, RSS
// would stay three times its baseline for minutes. When at least trimBurst
// connections have gone since the peak and at most half of it is left, it
// runs debug.FreeOSMemory (a garbage collection and a scavenge: a few
// milliseconds for a small heap; twice, since sync.Pool victims survive one
// collection), and starts counting again from there.
type trimmer struct {
	gov   *governor.Table
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once
	trims atomic.Int64 // hand-backs so far
}

// startTrimmer starts a trimmer for gov; Close stops it.
func startTrimmer(gov *governor.Table, log *slog.Logger) *trimmer {
	t := &trimmer{gov: gov, stop: make(chan struct{}), done: make(chan struct{})}
	go t.run(log)
	return t
}

func (t *trimmer) run(log *slog.Logger) {
	defer close(t.done)
	tick := time.NewTicker(trimEvery)
	defer tick.Stop()
	peak := 0
	for {
		select {
		case <-t.stop:
			return
		case <-tick.C:
		}
		p, open := t.gov.TakePeak()
		peak = max(peak, p)
		if peak-open >= trimBurst && open <= peak/2 {
			start := time.Now()
			debug.FreeOSMemory()
			debug.FreeOSMemory() // again: sync.Pool victims survive one collection
			t.trims.Add(1)
			log.Info("vigil: burst over, memory handed back", "peak_conns", peak, "open_conns", open, "took", time.Since(start))
			peak = open
		}
	}
}

// Close stops the trimmer and waits for it; it is idempotent.
func (t *trimmer) Close() {
	t.once.Do(func() { close(t.stop) })
	<-t.done
}
