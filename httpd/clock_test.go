package httpd

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigilhttp/vigil/governor"
	"github.com/vigilhttp/vigil/route"
)

// steppingClock is the system's monotonic clock with a wall clock that a
// test steps by years.
type steppingClock struct{ offset atomic.Int64 }

func (c *steppingClock) Mono() time.Duration { return governor.SystemClock{}.Mono() }
func (c *steppingClock) Wall() time.Time {
	return time.Now().Round(0).Add(time.Duration(c.offset.Load()))
}

func TestWatchdogAcrossWallSteps(t *testing.T) {
	const decade = 10 * 365 * 24 * time.Hour
	clock := &steppingClock{}
	clock.offset.Store(int64(-5 * decade))
	stuck := make(chan struct{})
	defer close(stuck)
	f := start(t, governor.Options{Clock: clock}, Options{
		Default: route.Policy{HandlerTimeout: 300 * time.Millisecond},
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-stuck }),
	})
	c := f.dial(t)
	go func() {
		for range 8 { // the wall clock jumps by a decade, both ways, while the handler is stuck
			time.Sleep(100 * time.Millisecond)
			clock.offset.Add(int64(decade))
			time.Sleep(100 * time.Millisecond)
			clock.offset.Add(-int64(2 * decade))
		}
	}()
	c.Write([]byte("GET /stuck HTTP/1.1\r\nHost: x\r\n\r\n"))
	// Cut at the handler deadline plus HandlerGrace, on the monotonic clock.
	within(t, "the watchdog's cut", waitEnd(t, c, 4*time.Second), 1200*time.Millisecond, 2*time.Second)
	waitCause(t, f, governor.CauseHandlerTimeout, 1)
	for _, fl := range f.srv.Flights() {
		if d := clock.Wall().Sub(fl.Start); d < -2*decade || d > 2*decade {
			t.Errorf("flight start shown %v, want on the stepped wall clock", fl.Start)
		}
	}
}
