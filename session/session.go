package session

import (
	"container/list"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// Defaults applied by New to zero fields of Options.
const (
	DefaultCookieName  = "vigil_session"
	DefaultIdleTimeout = 30 * time.Minute
	DefaultLifetime    = 12 * time.Hour
	DefaultMaxSessions = 512
	// DefaultMaxPerUser is the default cap on the sessions of one user.
	DefaultMaxPerUser = 16
)

// Caps on what one session holds.
const (
	// MaxUserSize caps the user name given to Login, in bytes.
	MaxUserSize = 256
	// MaxValues caps the number of values in one session.
	MaxValues = 64
	// MaxKeySize caps the key of one value, in bytes.
	MaxKeySize = 128
	// MaxValueSize caps one value, in bytes.
	MaxValueSize = 4 << 10
	// MaxValuesSize caps the keys and values of one session together, in
	// bytes, so that MaxSessions full sessions stay within a few MiB.
	MaxValuesSize = 16 << 10
)

// Errors returned by Login and Set, wrapped with the details.
var (
	// ErrNoSession means the request carries no live session.
	ErrNoSession = errors.New("session: no session")
	// ErrLimit means a cap on a session's contents would be exceeded.
	ErrLimit = errors.New("session: limit exceeded")
)

const (
	idBytes = 32
	// idLen is the length of an id as it appears in the cookie:
	// base64.RawURLEncoding.EncodedLen(idBytes).
	idLen = 43
	// sweepEvery is the least number of operations between two lazy sweeps.
	// A lazy sweep runs after max(sweepEvery, sessions held) operations, so it
	// costs O(1) per operation however large MaxSessions is.
	sweepEvery = 64
)

// Options configure a Store. The zero value works: each zero field takes its
// Default… value when New runs.
type Options struct {
	// CookieName names the session cookie. Zero means DefaultCookieName. A
	// name starting with "__Host-" is the strongest choice for a server that
	// is only reached over TLS: browsers then refuse a cookie of that name
	// set by a sibling host; they also refuse it without Secure, so such a
	// name makes login impossible over plain HTTP.
	CookieName string
	// IdleTimeout ends a session that no request has used for this long; any
	// method that finds the request's session counts as use. Zero means
	// DefaultIdleTimeout.
	IdleTimeout time.Duration
	// Lifetime ends a session this long after its login, however busy it is.
	// Zero means DefaultLifetime.
	Lifetime time.Duration
	// MaxSessions caps the number of sessions held. A login at the cap first
	// removes expired sessions, then evicts the least-recently-used one: a
	// login is never refused. Zero means DefaultMaxSessions.
	MaxSessions int
	// MaxPerUser caps the sessions of one user: a login past it ends that
	// user's oldest session, so one account (a view-only user logging in
	// in a loop) cannot flush the others' sessions out of MaxSessions.
	// Zero means DefaultMaxPerUser.
	MaxPerUser int
	// Secure reports whether the cookie set for a request gets the Secure
	// attribute. Nil means r.TLS != nil. Behind a TLS-terminating proxy
	// supply a function that trusts the proxy's header.
	Secure func(r *http.Request) bool
	// Now is the clock. Nil means time.Now. Tests set it.
	Now func() time.Time
	// Logger receives logins, logouts and evictions at Debug and Info. It
	// never receives an id or a token. Nil means no logging.
	Logger *slog.Logger
}

// Validate reports the first option that New would reject.
func (o Options) Validate() error {
	if o.CookieName != "" && !validName(o.CookieName) {
		return fmt.Errorf("session: cookie name %q is not an HTTP token", o.CookieName)
	}
	if o.IdleTimeout < 0 {
		return fmt.Errorf("session: idle timeout %v is negative", o.IdleTimeout)
	}
	if o.Lifetime < 0 {
		return fmt.Errorf("session: lifetime %v is negative", o.Lifetime)
	}
	if o.MaxSessions < 0 {
		return fmt.Errorf("session: max sessions %d is negative", o.MaxSessions)
	}
	if o.MaxPerUser < 0 {
		return fmt.Errorf("session: max sessions per user %d is negative", o.MaxPerUser)
	}
	return nil
}

func (o Options) withDefaults() Options {
	if o.CookieName == "" {
		o.CookieName = DefaultCookieName
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.Lifetime == 0 {
		o.Lifetime = DefaultLifetime
	}
	if o.MaxSessions == 0 {
		o.MaxSessions = DefaultMaxSessions
	}
	if o.MaxPerUser == 0 {
		o.MaxPerUser = DefaultMaxPerUser
	}
	if o.Secure == nil {
		o.Secure = func(r *http.Request) bool { return r.TLS != nil }
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Store is an in-memory session store. Its methods are safe for concurrent
// use.
type Store struct {
	opts Options // with defaults applied; read-only after New

	mu      sync.Mutex
	byKey   map[[sha256.Size]byte]*entry // by SHA-256 of the id; guarded by mu
	lru     list.List                    // of *entry, most recently used first; guarded by mu
	byUser  map[string]*list.List        // of *entry per user, oldest login last; guarded by mu
	opsLeft int                          // operations until the next lazy sweep; guarded by mu
}

// entry is one session. All fields but key are guarded by Store.mu.
type entry struct {
	key     [sha256.Size]byte
	user    string
	csrf    string
	created time.Time
	used    time.Time
	values  map[string]string // nil until the first Set
	size    int               // bytes of keys and values
	elem    *list.Element     // in Store.lru
	uelem   *list.Element     // in Store.byUser[user]
}

// New returns an empty Store. It panics if opts.Validate fails: callers that
// build Options from a file call Validate first and report the line.
func New(opts Options) *Store {
	if err := opts.Validate(); err != nil {
		panic(err)
	}
	return &Store{
		opts:    opts.withDefaults(),
		byKey:   make(map[[sha256.Size]byte]*entry),
		byUser:  make(map[string]*list.List),
		opsLeft: sweepEvery,
	}
}

// Login creates a new session for user and sets its cookie on w: HttpOnly,
// SameSite=Lax, Path=/, Secure when Options.Secure says so, and never a
// Domain attribute. The id is always new: every session the request
// carried is destroyed first, with its values, so an id planted before
// login (session fixation) is worthless after it. The cookie has no
// Max-Age: it ends with the browser session, and the server ends it after
// IdleTimeout or Lifetime. Login fails only for an empty or oversized user
// name.
func (s *Store) Login(w http.ResponseWriter, r *http.Request, user string) error {
	if user == "" {
		return errors.New("session: login: empty user name")
	}
	if len(user) > MaxUserSize {
		return fmt.Errorf("session: login: user name is %d bytes, limit %d: %w", len(user), MaxUserSize, ErrLimit)
	}
	old := s.keys(r)
	id := newToken()
	e := &entry{
		key:  sha256.Sum256([]byte(id)),
		user: user,
		csrf: newToken(),
	}
	now := s.opts.Now()
	e.created, e.used = now, now

	var evicted []string
	s.mu.Lock()
	for _, k := range old {
		if o := s.byKey[k]; o != nil {
			s.removeLocked(o)
		}
	}
	if o := s.byKey[e.key]; o != nil { // 2^-256: cheap to be exact anyway
		s.removeLocked(o)
	}
	ul := s.byUser[user]
	for ul != nil && ul.Len() >= s.opts.MaxPerUser {
		o := ul.Back().Value.(*entry)
		s.removeLocked(o) // the user's oldest: not someone else's
		evicted = append(evicted, o.user)
	}
	if len(s.byKey) >= s.opts.MaxSessions {
		s.sweepLocked(now)
	}
	for len(s.byKey) >= s.opts.MaxSessions {
		o := s.lru.Back().Value.(*entry)
		s.removeLocked(o)
		evicted = append(evicted, o.user)
	}
	e.elem = s.lru.PushFront(e)
	s.byKey[e.key] = e
	if ul = s.byUser[user]; ul == nil {
		ul = list.New()
		s.byUser[user] = ul
	}
	e.uelem = ul.PushFront(e)
	s.mu.Unlock()

	s.setCookie(w, r, id, false)
	for _, u := range evicted {
		s.opts.Logger.Info("session: evicted a session at a cap (the user's oldest at max per user, else the least recently used)",
			"user", u, "max_sessions", s.opts.MaxSessions, "max_per_user", s.opts.MaxPerUser)
	}
	s.opts.Logger.Debug("session: login", "user", user, "replaced", len(old) > 0)
	return nil
}

// Logout destroys every session the request carries and expires the cookie
// on w. The old cookie value no longer authenticates, even if the browser
// keeps sending it.
func (s *Store) Logout(w http.ResponseWriter, r *http.Request) {
	keys := s.keys(r)
	var users []string
	s.mu.Lock()
	for _, k := range keys {
		if e := s.byKey[k]; e != nil {
			s.removeLocked(e)
			users = append(users, e.user)
		}
	}
	s.mu.Unlock()
	s.setCookie(w, r, "", true)
	for _, u := range users {
		s.opts.Logger.Debug("session: logout", "user", u)
	}
}

// User returns the user of the request's session and reports whether there
// is one. Like every method that finds the session, it resets the session's
// idle timer.
func (s *Store) User(r *http.Request) (string, bool) {
	var user string
	ok := s.find(r, func(e *entry) { user = e.user })
	return user, ok
}

// Len returns the number of live sessions. It removes expired ones first.
func (s *Store) Len() int {
	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked(now)
	return len(s.byKey)
}

// Sweep removes expired sessions and returns how many it removed. The Store
// also sweeps by itself, lazily; Sweep is for owners that want memory back
// at a time of their choosing.
func (s *Store) Sweep() int {
	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sweepLocked(now)
}

// find calls fn, under s.mu, with the request's live session, marks that
// session used, and reports whether there was one. fn must not block.
func (s *Store) find(r *http.Request, fn func(*entry)) bool {
	keys := s.keys(r)
	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tickLocked(now)
	for _, k := range keys {
		e := s.byKey[k]
		if e == nil {
			continue
		}
		if s.expired(e, now) {
			s.removeLocked(e)
			continue
		}
		e.used = now
		s.lru.MoveToFront(e.elem)
		fn(e)
		return true
	}
	return false
}

// maxCookies bounds how many cookies of our name one request may offer.
const maxCookies = 4

// keys returns the SHA-256 of each well-formed session cookie of the
// request, in header order, at most maxCookies of them. Browsers send
// several cookies of one name when paths or domains differ.
func (s *Store) keys(r *http.Request) [][sha256.Size]byte {
	var keys [][sha256.Size]byte
	for _, c := range r.CookiesNamed(s.opts.CookieName) {
		if !validID(c.Value) {
			continue
		}
		keys = append(keys, sha256.Sum256([]byte(c.Value)))
		if len(keys) == maxCookies {
			break
		}
	}
	return keys
}

func (s *Store) expired(e *entry, now time.Time) bool {
	return now.Sub(e.used) >= s.opts.IdleTimeout || now.Sub(e.created) >= s.opts.Lifetime
}

// tickLocked counts an operation and sweeps when enough have passed.
func (s *Store) tickLocked(now time.Time) {
	s.opsLeft--
	if s.opsLeft <= 0 {
		s.sweepLocked(now)
	}
}

func (s *Store) sweepLocked(now time.Time) int {
	n := 0
	for el := s.lru.Front(); el != nil; {
		next := el.Next()
		if e := el.Value.(*entry); s.expired(e, now) {
			s.removeLocked(e)
			n++
		}
		el = next
	}
	s.opsLeft = max(sweepEvery, len(s.byKey))
	return n
}

func (s *Store) removeLocked(e *entry) {
	delete(s.byKey, e.key)
	s.lru.Remove(e.elem)
	if ul := s.byUser[e.user]; ul != nil {
		ul.Remove(e.uelem)
		if ul.Len() == 0 {
			delete(s.byUser, e.user)
		}
	}
}

func (s *Store) setCookie(w http.ResponseWriter, r *http.Request, value string, expire bool) {
	c := &http.Cookie{
		Name:     s.opts.CookieName,
		Value:    value,
		Path:     "/",
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
		Secure:   s.opts.Secure(r),
	}
	if expire {
		c.MaxAge = -1 // Max-Age=0
		c.Expires = time.Unix(0, 0)
	}
	http.SetCookie(w, c)
}

// newToken returns 32 random bytes, base64url without padding.
func newToken() string {
	var b [idBytes]byte
	rand.Read(b[:]) // never fails: the runtime crashes if the OS has no randomness
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// validID reports whether v can be an id: idLen characters of the base64url
// alphabet.
func validID(v string) bool {
	if len(v) != idLen {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// validName reports whether n is an HTTP token (RFC 7230 tchar), as a
// cookie name must be.
func validName(n string) bool {
	if n == "" {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c < 0x7f && c > ' ' && !isSeparator(c):
		default:
			return false
		}
	}
	return true
}

func isSeparator(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '@', ',', ';', ':', '\\', '"', '/', '[', ']', '?', '=', '{', '}':
		return true
	}
	return false
}
