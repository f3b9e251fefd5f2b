package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultRealm is GoAhead's compiled-in realm (ME_GOAHEAD_REALM), so that
// gopass's MD5 and BF1 hashes verify.
const DefaultRealm = "example.com"

// Sessions is what auth needs of a session store.
type Sessions interface {
	// Login renews the session id (fixation defence) and records the user.
	Login(w http.ResponseWriter, r *http.Request, user string) error
	// Logout ends the request's session, if any.
	Logout(w http.ResponseWriter, r *http.Request)
	// User returns the user logged in on the request's session.
	User(r *http.Request) (string, bool)
}

// Options configures an Authenticator. The zero value works: no users, the
// default realm, a random secret.
type Options struct {
	// Store holds the users; nil means none (every login fails). It can be
	// replaced later with SetStore.
	Store *Store
	// Realm names the protection space in challenges and is part of MD5,
	// sha256: and BF1 hashes. "" means DefaultRealm.
	Realm string
	// Sessions, if set, is consulted first by Check and receives the logins
	// of FormLogin. nil means no sessions: form login fails with 500.
	Sessions Sessions
	// Secret keys the digest nonces (HMAC-SHA256); 32 random bytes or more.
	// nil means random per Authenticator, so nonces die with the process.
	// Nonces issued before New are refused as stale either way: the replay
	// memory starts empty.
	Secret []byte
	// NonceLifetime is how long a digest nonce is accepted after it was
	// issued; a later use is answered 401 with stale=true. 0 means
	// DefaultNonceLifetime.
	NonceLifetime time.Duration
	// NonceCapacity is how many used nonces have their count remembered
	// for replay detection. 0 means DefaultNonceCapacity.
	NonceCapacity int
	// Throttle tunes the failed-login throttle.
	Throttle ThrottleOptions
	// Logger receives failed logins (Info), digest users whose hash cannot
	// do digest (Warn, once per user) and configuration errors (Error). nil
	// discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Authenticator checks requests against a Store with Basic, Digest and
// session (form) authentication. It is safe for concurrent use.
type Authenticator struct {
	store         atomic.Pointer[Store]
	realm         string
	quotedRealm   string // realm as an RFC 9110 quoted-string
	opaque        string // the digest opaque, fixed per secret and realm
	nonceKey      []byte
	nonceLifetime time.Duration
	nonces        *nonceCounts
	throttle      *throttle
	sessions      Sessions
	log           *slog.Logger
	now           func() time.Time
	stats         counters

	warnMu sync.Mutex
	warned map[string]bool // user names warned about; guarded by warnMu
}

type counters struct {
	successes, failures, throttled, forbidden, malformed atomic.Uint64
	stale, replays, forged                               atomic.Uint64
}

// New returns an Authenticator for o.
func New(o Options) *Authenticator {
	if o.Realm == "" {
		o.Realm = DefaultRealm
	}
	if o.NonceLifetime <= 0 {
		o.NonceLifetime = DefaultNonceLifetime
	}
	if o.NonceCapacity <= 0 {
		o.NonceCapacity = DefaultNonceCapacity
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	secret := o.Secret
	if len(secret) == 0 {
		secret = make([]byte, 32)
		rand.Read(secret)
	}
	derive := func(label string) []byte {
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(label))
		return m.Sum(nil)
	}
	thr := o.Throttle.withDefaults()
	a := &Authenticator{
		realm:         o.Realm,
		quotedRealm:   quote(o.Realm),
		opaque:        hex.EncodeToString(derive("vigil auth digest opaque\x00" + o.Realm)[:16]),
		nonceKey:      derive("vigil auth digest nonce"),
		nonceLifetime: o.NonceLifetime,
		nonces:        newNonceCounts(o.NonceCapacity, o.Now().UnixNano()),
		throttle:      newThrottle(thr),
		sessions:      o.Sessions,
		log:           o.Logger,
		now:           o.Now,
		warned:        map[string]bool{},
	}
	a.store.Store(o.Store)
	return a
}

// Store returns the current store.
func (a *Authenticator) Store() *Store { return a.store.Load() }

// SetStore atomically replaces the store (a reload); requests in flight
// finish with the old one. nil means no users.
func (a *Authenticator) SetStore(s *Store) {
	a.store.Store(s)
	a.warnMu.Lock()
	clear(a.warned)
	a.warnMu.Unlock()
}

// Realm returns the realm of challenges and hashes.
func (a *Authenticator) Realm() string { return a.realm }

// Decision is the outcome of Authorize.
type Decision struct {
	// User is the authenticated user, or "".
	User string
	// Status is http.StatusOK if the request may go on; else 401 (no or
	// wrong credentials), 403 (authenticated but without the abilities),
	// 429 (throttled) or 500 (unknown scheme).
	Status int
	// RetryAfter is how long a 429 lasts.
	RetryAfter time.Duration
	// Challenges are the WWW-Authenticate values of a 401 (none for form
	// and session-only routes).
	Challenges []string
	// Session is set when the request's session authenticated it (whatever
	// Authorization header it also carries): a state-changing request then
	// needs proof of intent (a CSRF token) that a password does not.
	Session bool
}

// OK reports whether the request may go on.
func (d Decision) OK() bool { return d.Status == http.StatusOK }

// Write answers a refused request: the status, WWW-Authenticate or
// Retry-After, and a body that says no more than "invalid credentials". It
// writes nothing for an allowed one.
func (d Decision) Write(w http.ResponseWriter) {
	if d.OK() {
		return
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	switch d.Status {
	case http.StatusUnauthorized:
		for _, c := range d.Challenges {
			h.Add("WWW-Authenticate", c)
		}
		http.Error(w, "401 invalid credentials", d.Status)
	case http.StatusForbidden:
		http.Error(w, "403 forbidden", d.Status)
	case http.StatusTooManyRequests:
		h.Set("Retry-After", retryAfter(d.RetryAfter))
		http.Error(w, "429 too many failed logins: retry later", d.Status)
	default:
		http.Error(w, strconv.Itoa(d.Status)+" "+http.StatusText(d.Status), d.Status)
	}
}

// retryAfter is d in whole seconds, rounded up, at least 1.
func retryAfter(d time.Duration) string {
	s := int64((d + time.Second - 1) / time.Second)
	return strconv.FormatInt(max(s, 1), 10)
}

// Check authorises r for a route with the given scheme ("basic", "digest",
// "form" or "", session only) and abilities (alternatives, each requiring
// all of its abilities; empty requires none). A session user is accepted
// first; then the scheme's credentials. If the request may not go on, Check
// has answered it (401 with WWW-Authenticate for basic and digest, 403,
// 429) and returns ok false. A form route that redirects to a login page on
// 401 calls Authorize instead.
func (a *Authenticator) Check(w http.ResponseWriter, r *http.Request, scheme string, abilities [][]string) (user string, ok bool) {
	d := a.Authorize(r, scheme, abilities)
	d.Write(w)
	return d.User, d.OK()
}

// Authorize is Check without the answer: it decides and counts, and leaves
// the response to the caller. Scheme "" with no abilities allows anyone.
func (a *Authenticator) Authorize(r *http.Request, scheme string, abilities [][]string) Decision {
	st := a.store.Load()
	if a.sessions != nil {
		if u, ok := a.sessions.User(r); ok && st.HasUser(u) {
			d := a.authorizeUser(r, st, u, abilities)
			d.Session = true
			return d
		}
	}
	switch strings.ToLower(scheme) {
	case "basic":
		return a.basic(r, st, abilities)
	case "digest":
		return a.digest(r, st, abilities)
	case "":
		if len(abilities) == 0 {
			return Decision{Status: http.StatusOK}
		}
		return Decision{Status: http.StatusUnauthorized}
	case "form":
		return Decision{Status: http.StatusUnauthorized}
	}
	a.log.Error("auth: unknown authentication scheme", "scheme", sanitize(scheme))
	return Decision{Status: http.StatusInternalServerError}
}

// authorizeUser checks an authenticated user's abilities.
func (a *Authenticator) authorizeUser(r *http.Request, st *Store, user string, abilities [][]string) Decision {
	if st.Can(user, abilities) {
		return Decision{User: user, Status: http.StatusOK}
	}
	a.stats.forbidden.Add(1)
	a.log.Info("auth: forbidden: missing abilities", "user", sanitize(user), "ip", clientHost(r), "path", sanitize(r.URL.Path))
	return Decision{User: user, Status: http.StatusForbidden}
}

// attempt decides, and counts in the same step, a password check of user
// by r's client: it returns a 429 Decision if the throttle holds it back.
// Every attempt let through must end in failed, succeeded or released.
func (a *Authenticator) attempt(r *http.Request, user string) (Decision, bool) {
	wait, ok := a.throttle.begin(userKey(user), clientKey(r), a.now())
	if ok {
		return Decision{}, false
	}
	a.stats.throttled.Add(1)
	a.log.Debug("auth: throttled", "user", sanitize(user), "ip", clientHost(r))
	return Decision{Status: http.StatusTooManyRequests, RetryAfter: wait}, true
}

// failed counts and logs a failed login (attempt has counted it already).
func (a *Authenticator) failed(r *http.Request, user, scheme string) {
	a.stats.failures.Add(1)
	a.log.Info("auth: login failed", "scheme", scheme, "user", sanitize(user), "ip", clientHost(r))
}

// succeeded counts a successful login and forgets the user's failures.
func (a *Authenticator) succeeded(r *http.Request, user string) {
	a.stats.successes.Add(1)
	a.throttle.end(userKey(user), clientKey(r), true, false)
}

// released takes back an attempt that was neither right nor wrong (a
// digest with the right password but a stale nonce).
func (a *Authenticator) released(r *http.Request, user string) {
	a.throttle.end(userKey(user), clientKey(r), false, true)
}

// warnOnce logs msg at Warn the first time for user (until SetStore).
func (a *Authenticator) warnOnce(user, msg string, args ...any) {
	a.warnMu.Lock()
	seen := a.warned[user]
	if !seen && len(a.warned) < maxWarned {
		a.warned[user] = true
	}
	a.warnMu.Unlock()
	if !seen {
		a.log.Warn(msg, append([]any{"user", sanitize(user)}, args...)...)
	}
}

// maxWarned bounds the users warnOnce remembers.
const maxWarned = 4096

func userKey(user string) string {
	if len(user) > maxNameLen {
		return user[:maxNameLen]
	}
	return user
}

// Stats are the Authenticator's counters since New.
type Stats struct {
	Successes     uint64 // requests and logins authenticated by a password
	Failures      uint64 // wrong passwords and unknown users
	Throttled     uint64 // refused with 429
	Forbidden     uint64 // authenticated without the abilities (403)
	Malformed     uint64 // unparseable Authorization headers
	DigestStale   uint64 // valid digests with an expired nonce
	DigestReplays uint64 // valid digests whose nonce count did not increase
	DigestForged  uint64 // nonces this server did not issue
	// TrackedUsers, TrackedClients and TrackedPairs (user and client) are
	// the keys the throttle holds now; Evictions counts keys it forgot at
	// capacity.
	TrackedUsers, TrackedClients, TrackedPairs int
	Evictions                                  uint64
	// Nonces is how many nonces have their count remembered now.
	Nonces int
}

// Stats returns the counters.
func (a *Authenticator) Stats() Stats {
	tu, eu := a.throttle.len(a.throttle.users)
	tc, ec := a.throttle.len(a.throttle.clients)
	tp, ep := a.throttle.len(a.throttle.pairs)
	return Stats{
		Successes:      a.stats.successes.Load(),
		Failures:       a.stats.failures.Load(),
		Throttled:      a.stats.throttled.Load(),
		Forbidden:      a.stats.forbidden.Load(),
		Malformed:      a.stats.malformed.Load(),
		DigestStale:    a.stats.stale.Load(),
		DigestReplays:  a.stats.replays.Load(),
		DigestForged:   a.stats.forged.Load(),
		TrackedUsers:   tu,
		TrackedClients: tc,
		TrackedPairs:   tp,
		Evictions:      eu + ec + ep,
		Nonces:         a.nonces.len(),
	}
}

// quote returns s as an RFC 9110 quoted-string; control characters, which
// no quoted-string may hold, become '?'.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < ' ' && c != '\t' || c == 0x7f:
			b.WriteByte('?')
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// sanitize makes a client-supplied string safe and short for a log line.
func sanitize(s string) string {
	const maxLog = 64
	cut := len(s) > maxLog
	if cut {
		s = s[:maxLog]
	}
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\uFFFD' {
			return '?'
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
	if cut {
		s += "..."
	}
	return s
}
