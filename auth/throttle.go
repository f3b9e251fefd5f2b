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
	DefaultUserMaxDelay     = 10 * time.Second
	DefaultThrottleCapacity = 4096
)

// ThrottleOptions tunes the login throttle. Zero fields take the defaults.
//
// The policy. Every password check is an attempt, counted before the check
// runs (check and count are one atomic step, so concurrent guesses, say 100
// streams of one HTTP/2 connection, get no more checks than sequential
// ones). Three counts are kept:
//
//   - per user name and client address (an IPv6 client by its /64): the
//     hard limit. After FreeFailures attempts that did not succeed, the
//     pair is refused (429, Retry-After) for BaseDelay, doubling with every
//     further attempt up to MaxDelay. This stops a guesser at one address;
//     it never touches the owner's other addresses.
//   - per client address, across user names (a sprayer): the same, after
//     ClientFreeFailures.
//   - per user name, across addresses (a guesser with many addresses): a
//     gentler delay after UserFreeFailures, doubling from BaseDelay up to
//     UserMaxDelay only, and never applied to an address this user logged in
//     from before (the last Capacity such pairs are remembered). So an
//     attacker cannot lock the owner out: from a known address the owner is
//     never held back, from a new one for at most UserMaxDelay.
//
// A successful login forgets the pair's count (not the user's: an attack
// from elsewhere may be going on).
type ThrottleOptions struct {
	// FreeFailures is how many failed attempts a user name may have from
	// one client address before the pair is blocked. 0 means
	// DefaultFreeFailures.
	FreeFailures int
	// ClientFreeFailures is how many failed attempts a client address may
	// have, across user names, before it is blocked. 0 means 4 ×
	// FreeFailures.
	ClientFreeFailures int
	// UserFreeFailures is how many failed attempts a user name may have,
	// across addresses, before attempts from addresses it never logged in
	// from are delayed. 0 means 4 × FreeFailures.
	UserFreeFailures int
	// Window is how long without a failure (seconds to minutes) makes a
	// key's failures forgotten. 0 means DefaultFailureWindow.
	Window time.Duration
	// BaseDelay is the block after the first failure past FreeFailures;
	// each further failure doubles it. 0 means DefaultBaseDelay.
	BaseDelay time.Duration
	// MaxDelay caps the block of a pair and of a client. 0 means
	// DefaultMaxDelay.
	MaxDelay time.Duration
	// UserMaxDelay caps the delay of a user name across addresses. 0 means
	// DefaultUserMaxDelay.
	UserMaxDelay time.Duration
	// Capacity is how many keys each count tracks, and how many (user,
	// address) logins are remembered; the least recently used is forgotten
	// first. 0 means DefaultThrottleCapacity.
	Capacity int
}

func (o ThrottleOptions) withDefaults() ThrottleOptions {
	if o.FreeFailures <= 0 {
		o.FreeFailures = DefaultFreeFailures
	}
	if o.ClientFreeFailures <= 0 {
		o.ClientFreeFailures = 4 * o.FreeFailures
	}
	if o.UserFreeFailures <= 0 {
		o.UserFreeFailures = 4 * o.FreeFailures
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
	if o.UserMaxDelay <= 0 {
		o.UserMaxDelay = DefaultUserMaxDelay
	}
	if o.UserMaxDelay < o.BaseDelay {
		o.UserMaxDelay = o.BaseDelay
	}
	if o.Capacity <= 0 {
		o.Capacity = DefaultThrottleCapacity
	}
	return o
}

// throttle holds the counts of ThrottleOptions. One mutex guards them all,
// so that deciding and counting an attempt is one step.
type throttle struct {
	opts ThrottleOptions

	mu      sync.Mutex
	pairs   *failures // user + "\x00" + client; guarded by mu
	clients *failures // guarded by mu
	users   *failures // guarded by mu
	known   *failures // pairs that logged in (count unused); guarded by mu
}

func newThrottle(o ThrottleOptions) *throttle {
	return &throttle{
		opts:    o,
		pairs:   newFailures(o.Capacity, o.FreeFailures, o.BaseDelay, o.MaxDelay, o.Window),
		clients: newFailures(o.Capacity, o.ClientFreeFailures, o.BaseDelay, o.MaxDelay, o.Window),
		users:   newFailures(o.Capacity, o.UserFreeFailures, o.BaseDelay, o.UserMaxDelay, o.Window),
		known:   newFailures(o.Capacity, 1<<30, o.BaseDelay, o.BaseDelay, 1<<62),
	}
}

// begin decides whether an attempt of user from client may check a password
// now and, if so, counts it as a failure already (end undoes that on
// success). It returns how long the attempt must wait otherwise.
func (t *throttle) begin(user, client string, now time.Time) (time.Duration, bool) {
	pair := user + "\x00" + client
	t.mu.Lock()
	defer t.mu.Unlock()
	var wait time.Duration
	if d, ok := t.pairs.blocked(pair, now); ok {
		wait = max(wait, d)
	}
	if d, ok := t.clients.blocked(client, now); ok {
		wait = max(wait, d)
	}
	if d, ok := t.users.blocked(user, now); ok && !t.known.has(pair) {
		wait = max(wait, d)
	}
	if wait > 0 {
		return wait, false
	}
	t.pairs.fail(pair, now)
	t.clients.fail(client, now)
	t.users.fail(user, now)
	return 0, true
}

// end settles an attempt begin let through: a success forgets the pair's
// failures, takes the attempt back from the user's and the client's counts
// and remembers the pair as known; release (neither success nor failure, e.g.
// a stale digest nonce) takes the attempt back from every count.
func (t *throttle) end(user, client string, success, release bool) {
	pair := user + "\x00" + client
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case success:
		t.pairs.reset(pair)
		t.users.undo(user) // not reset: a spread attack may be going on
		t.clients.undo(client)
		t.known.fail(pair, time.Time{})
	case release:
		t.pairs.undo(pair)
		t.users.undo(user)
		t.clients.undo(client)
	}
}

// failures counts the failed logins of one kind of key, bounded to capacity
// keys. Its owner's mutex guards it.
type failures struct {
	capacity, free int
	base, maxDelay time.Duration
	window         time.Duration

	keys      map[string]*list.Element // of *failEntry
	lru       *list.List               // front = most recent failure
	evictions uint64
}

type failEntry struct {
	key   string
	count int       // attempts since the window last lapsed, not succeeded
	last  time.Time // the latest attempt
	until time.Time // blocked until
}

func newFailures(capacity, free int, base, maxDelay, window time.Duration) *failures {
	return &failures{capacity: capacity, free: free, base: base, maxDelay: maxDelay, window: window,
		keys: map[string]*list.Element{}, lru: list.New()}
}

// blocked reports how long key stays blocked, if it is.
func (f *failures) blocked(key string, now time.Time) (time.Duration, bool) {
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

// has reports whether key is tracked.
func (f *failures) has(key string) bool {
	if el := f.keys[key]; el != nil {
		f.lru.MoveToFront(el)
		return true
	}
	return false
}

// fail counts an attempt of key and, once free attempts are used up, blocks
// it: the free-th attempt blocks for base, each further one doubles it.
func (f *failures) fail(key string, now time.Time) {
	var e *failEntry
	if el := f.keys[key]; el != nil {
		e = el.Value.(*failEntry)
		f.lru.MoveToFront(el)
		if now.Sub(e.last) >= f.window && !now.Before(e.until) {
			e.count = 0
		}
	} else {
		for f.lru.Len() >= f.capacity {
			old := f.lru.Remove(f.lru.Back()).(*failEntry)
			delete(f.keys, old.key)
			f.evictions++
		}
		e = &failEntry{key: key}
		f.keys[key] = f.lru.PushFront(e)
	}
	e.count++
	e.last = now
	if over := e.count - f.free + 1; over > 0 {
		d := f.maxDelay
		if over <= 30 {
			if x := f.base << (over - 1); x > 0 && x < d {
				d = x
			}
		}
		e.until = now.Add(d)
	}
}

// undo takes one attempt back from key's count; a block it caused lapses.
func (f *failures) undo(key string) {
	el := f.keys[key]
	if el == nil {
		return
	}
	e := el.Value.(*failEntry)
	if e.count--; e.count < f.free {
		e.until = time.Time{}
	}
	if e.count <= 0 {
		f.lru.Remove(el)
		delete(f.keys, key)
	}
}

// reset forgets key's failures.
func (f *failures) reset(key string) {
	if el := f.keys[key]; el != nil {
		f.lru.Remove(el)
		delete(f.keys, key)
	}
}

// len returns the number of keys tracked and the evictions so far.
func (t *throttle) len(f *failures) (int, uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
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
