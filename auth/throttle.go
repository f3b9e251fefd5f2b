package auth

import (
	"container/list"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// Throttle defaults.
const (
	DefaultFreeFailures     = 5
	DefaultFailureWindow    = 15 * time.Minute
	DefaultBaseDelay        = time.Second
	DefaultMaxDelay         = 5 * time.Minute
	DefaultThrottleCapacity = 4096
)

// ThrottleOptions tunes the login throttle. Zero fields take the defaults.
type ThrottleOptions struct {
	// FreeFailures is how many failures a user name or client address may
	// have before it is blocked. 0 means DefaultFreeFailures.
	FreeFailures int
	// Window is how long without a failure (seconds to minutes) makes a
	// key's failures forgotten. 0 means DefaultFailureWindow.
	Window time.Duration
	// BaseDelay is the block after the first failure past FreeFailures;
	// each further failure doubles it. 0 means DefaultBaseDelay.
	BaseDelay time.Duration
	// MaxDelay caps the block. 0 means DefaultMaxDelay.
	MaxDelay time.Duration
	// Capacity is how many user names, and separately how many client
	// addresses, are tracked; the least recently failed is forgotten
	// first. 0 means DefaultThrottleCapacity.
	Capacity int
}

func (o ThrottleOptions) withDefaults() ThrottleOptions {
	if o.FreeFailures <= 0 {
		o.FreeFailures = DefaultFreeFailures
	}
	if o.Window <= 0 {
		o.Window = DefaultFailureWindow
	}
	if o.BaseDelay <= 0 {
		o.BaseDelay = DefaultBaseDelay
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = DefaultMaxDelay
	}
	if o.MaxDelay < o.BaseDelay {
		o.MaxDelay = o.BaseDelay
	}
	if o.Capacity <= 0 {
		o.Capacity = DefaultThrottleCapacity
	}
	return o
}

// failures counts the failed logins of one key (a user name or a client
// address), bounded to Capacity keys.
type failures struct {
	opts ThrottleOptions

	mu        sync.Mutex
	keys      map[string]*list.Element // of *failEntry; guarded by mu
	lru       *list.List               // front = most recent failure; guarded by mu
	evictions uint64                   // guarded by mu
}

type failEntry struct {
	key   string
	count int       // failures since the window last lapsed
	last  time.Time // the latest failure
	until time.Time // blocked until
}

func newFailures(o ThrottleOptions) *failures {
	return &failures{opts: o, keys: map[string]*list.Element{}, lru: list.New()}
}

// blocked reports how long key stays blocked, if it is.
func (f *failures) blocked(key string, now time.Time) (time.Duration, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	el := f.keys[key]
	if el == nil {
		return 0, false
	}
	e := el.Value.(*failEntry)
	if d := e.until.Sub(now); d > 0 {
		return d, true
	}
	return 0, false
}

// fail counts a failure of key and, past FreeFailures, blocks it.
func (f *failures) fail(key string, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var e *failEntry
	if el := f.keys[key]; el != nil {
		e = el.Value.(*failEntry)
		f.lru.MoveToFront(el)
		if now.Sub(e.last) >= f.opts.Window && !now.Before(e.until) {
			e.count = 0
		}
	} else {
		for f.lru.Len() >= f.opts.Capacity {
			old := f.lru.Remove(f.lru.Back()).(*failEntry)
			delete(f.keys, old.key)
			f.evictions++
		}
		e = &failEntry{key: key}
		f.keys[key] = f.lru.PushFront(e)
	}
	e.count++
	e.last = now
	if over := e.count - f.opts.FreeFailures; over > 0 {
		d := f.opts.MaxDelay
		if over <= 30 {
			if x := f.opts.BaseDelay << (over - 1); x > 0 && x < d {
				d = x
			}
		}
		e.until = now.Add(d)
	}
}

// reset forgets key's failures.
func (f *failures) reset(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if el := f.keys[key]; el != nil {
		f.lru.Remove(el)
		delete(f.keys, key)
	}
}

// len returns the number of keys tracked and the evictions so far.
func (f *failures) len() (int, uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lru.Len(), f.evictions
}

// clientKey is the throttle key of a request's client: its IP address, or
// for IPv6 its /64 (one host usually holds a whole /64). RemoteAddr is
// trusted as is: a proxy in front must set it from its trusted header.
func clientKey(r *http.Request) string {
	host := clientHost(r)
	a, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.WithZone("").Prefix(64)
		return p.String()
	}
	return a.String()
}

// clientHost is RemoteAddr without the port, bounded for logs and keys.
func clientHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if len(host) > 64 {
		host = host[:64]
	}
	return host
}
