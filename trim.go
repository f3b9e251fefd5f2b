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
	// trimBurst is the peak of open connections that makes a burst worth
	// handing memory back for once it has passed.
	trimBurst = 256
)

// trimmer hands the memory of a burst of connections back to the operating
// system once the burst has passed. Go's runtime returns freed memory only
// gradually; on a device, after a flood of 1,000 slowloris connections, RSS
// would stay three times its baseline for minutes. When the open
// connections have fallen to a quarter of a peak of at least trimBurst, it
// runs debug.FreeOSMemory once (a garbage collection and a scavenge: a few
// milliseconds for a small heap).
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
		open := t.gov.Stats().Open
		peak = max(peak, open)
		if peak >= trimBurst && open <= peak/4 {
			start := time.Now()
			debug.FreeOSMemory()
			t.trims.Add(1)
			log.Debug("vigil: burst over, memory handed back", "peak_conns", peak, "open_conns", open, "took", time.Since(start))
			peak = open
		}
	}
}

// Close stops the trimmer and waits for it; it is idempotent.
func (t *trimmer) Close() {
	t.once.Do(func() { close(t.stop) })
	<-t.done
}
