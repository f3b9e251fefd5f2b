package governor

import "time"

// Clock is the governor's time source. Every time the governor stores or
// compares (deadlines, progress, ages, eviction order) is monotonic, read
// from Mono; the wall clock is read only to display times to people. A
// device without a real-time clock boots in 1970 and NTP later steps its
// wall clock by decades: nothing the governor decides changes when it does.
type Clock interface {
	// Mono returns the time elapsed since an origin of the clock's
	// choosing. It must never step and must advance at the rate of real
	// time: socket deadlines are derived from it.
	Mono() time.Duration
	// Wall returns the wall-clock time, for display only. It may step.
	Wall() time.Time
}

// SystemClock is the Clock of the running system: Go's monotonic clock and
// its wall clock. The zero value is ready to use; its origin is the first
// call of the process to Mono.
type SystemClock struct{}

// origin is SystemClock's origin: a time with a monotonic reading.
var origin = time.Now()

// Mono returns the monotonic time since the process's first governor clock
// read.
func (SystemClock) Mono() time.Duration { return time.Since(origin) }

// Wall returns time.Now().
func (SystemClock) Wall() time.Time { return time.Now() }
