package auth

import (
	"container/list"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Digest defaults.
const (
	DefaultNonceLifetime = 5 * time.Minute
	DefaultNonceCapacity = 4096
)

// A nonce is base64url (no padding) of
//
//	issued (8 bytes, Unix nanoseconds, big-endian) ‖ random (16 bytes) ‖
//	HMAC-SHA256(nonceKey, issued ‖ random ‖ realm) (32 bytes)
const (
	nonceRandLen = 16
	nonceBodyLen = 8 + nonceRandLen
	nonceLen     = nonceBodyLen + sha256.Size
)

var nonceEncoding = base64.RawURLEncoding.Strict()

func (a *Authenticator) nonceMAC(body []byte) []byte {
	m := hmac.New(sha256.New, a.nonceKey)
	m.Write(body)
	m.Write([]byte(a.realm))
	return m.Sum(nil)
}

// newNonce returns a fresh nonce issued at now.
func (a *Authenticator) newNonce(now time.Time) string {
	b := make([]byte, nonceBodyLen, nonceLen)
	binary.BigEndian.PutUint64(b, uint64(now.UnixNano()))
	rand.Read(b[8:nonceBodyLen])
	return nonceEncoding.EncodeToString(append(b, a.nonceMAC(b)...))
}

// openNonce returns the issue time (Unix nanoseconds) of a nonce this
// Authenticator issued; ok is false for anything else.
func (a *Authenticator) openNonce(s string) (issued int64, ok bool) {
	if len(s) != nonceEncoding.EncodedLen(nonceLen) {
		return 0, false
	}
	b, err := nonceEncoding.DecodeString(s)
	if err != nil || len(b) != nonceLen {
		return 0, false
	}
	if !hmac.Equal(a.nonceMAC(b[:nonceBodyLen]), b[nonceBodyLen:]) {
		return 0, false
	}
	return int64(binary.BigEndian.Uint64(b)), true
}

// digestChallenges returns the WWW-Authenticate values of a digest 401:
// SHA-256 if the store has sha256: users, MD5 if it has MD5 users or no
// sha256: users; preferred first, one fresh nonce for both.
func (a *Authenticator) digestChallenges(st *Store, now time.Time, stale bool) []string {
	nonce := a.newNonce(now)
	var algs []string
	if st != nil && st.hasSHA256 {
		algs = append(algs, "SHA-256")
	}
	if st == nil || st.hasMD5 || !st.hasSHA256 {
		algs = append(algs, "MD5")
	}
	out := make([]string, 0, len(algs))
	for _, alg := range algs {
		c := `Digest realm=` + a.quotedRealm + `, qop="auth", algorithm=` + alg + `, nonce="` + nonce + `", opaque="` + a.opaque + `"`
		if stale {
			c += ", stale=true"
		}
		out = append(out, c)
	}
	return out
}

// digestAlgorithm maps an algorithm= value to its hash, the kind of stored
// HA1 it needs and whether it is a -sess variant.
func digestAlgorithm(alg string) (h func() hash.Hash, kind hashKind, sess, ok bool) {
	switch strings.ToUpper(alg) {
	case "", "MD5":
		return md5.New, kindMD5, false, true
	case "MD5-SESS":
		return md5.New, kindMD5, true, true
	case "SHA-256":
		return sha256.New, kindSHA256, false, true
	case "SHA-256-SESS":
		return sha256.New, kindSHA256, true, true
	}
	return nil, 0, false, false
}

func hexHash(h func() hash.Hash, parts ...string) string {
	x := h()
	for i, p := range parts {
		if i > 0 {
			x.Write([]byte{':'})
		}
		x.Write([]byte(p))
	}
	return hex.EncodeToString(x.Sum(nil))
}

// digestResponse is the RFC 7616 response for qop=auth.
func digestResponse(h func() hash.Hash, sess bool, ha1, method string, p map[string]string) string {
	if sess {
		ha1 = hexHash(h, ha1, p["nonce"], p["cnonce"])
	}
	ha2 := hexHash(h, method, p["uri"])
	return hexHash(h, ha1, p["nonce"], p["nc"], p["cnonce"], p["qop"], ha2)
}

// digest authenticates a request by its Digest credentials.
func (a *Authenticator) digest(r *http.Request, st *Store, abilities [][]string) Decision {
	now := a.now()
	deny := func(stale bool) Decision {
		return Decision{Status: http.StatusUnauthorized, Challenges: a.digestChallenges(st, now, stale)}
	}
	scheme, rest, ok, malformed := authorization(r)
	if malformed {
		a.stats.malformed.Add(1)
	}
	if !ok || scheme != "digest" {
		return deny(false)
	}
	p, err := parseDigestParams(rest)
	if err == nil {
		err = checkDigestParams(p)
	}
	if err != nil {
		a.stats.malformed.Add(1)
		a.log.Debug("auth: malformed digest credentials", "err", err, "ip", clientHost(r))
		return deny(false)
	}
	h, kind, sess, ok := digestAlgorithm(p["algorithm"])
	if !ok || !strings.EqualFold(p["qop"], "auth") || p["realm"] != a.realm || !uriMatches(p["uri"], r) {
		a.stats.malformed.Add(1)
		return deny(false)
	}
	if op, ok := p["opaque"]; ok && op != a.opaque {
		a.stats.malformed.Add(1)
		return deny(false)
	}
	issued, ok := a.openNonce(p["nonce"])
	if !ok {
		a.stats.forged.Add(1)
		a.log.Info("auth: digest nonce not issued here", "user", sanitize(p["username"]), "ip", clientHost(r))
		return deny(false)
	}
	user := p["username"]
	if d, blocked := a.attempt(r, user); blocked {
		return d
	}
	// The stored HA1; an unknown user, or one whose hash cannot do this
	// digest, is compared against zeros so that all take the same time.
	ha1 := make([]byte, h().Size())
	u := st.user(user)
	usable := u != nil && u.hash.kind == kind
	if usable {
		ha1 = u.hash.digest
	} else if u != nil {
		a.warnOnce(user, "auth: user cannot use digest authentication with this algorithm: store an md5 HA1 for algorithm=MD5 or a sha256: HA1 for SHA-256",
			"stored", u.hash.kind.String(), "algorithm", strings.ToUpper(p["algorithm"]))
	}
	want := digestResponse(h, sess, hex.EncodeToString(ha1), r.Method, p)
	match := subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(p["response"]))) == 1
	if !match || !usable {
		a.failed(r, user, "digest")
		return deny(false)
	}
	if age := now.UnixNano() - issued; age > int64(a.nonceLifetime) || age < -int64(a.nonceLifetime) {
		a.stats.stale.Add(1)
		a.released(r, user)
		return deny(true)
	}
	nc, _ := strconv.ParseUint(p["nc"], 16, 32)
	if !a.nonces.use(p["nonce"], issued, uint32(nc), now.UnixNano(), int64(a.nonceLifetime)) {
		// A replay, or a request that lost a race with a later one of the
		// same client, or a nonce from before a restart: stale=true lets a
		// real client retry with a fresh nonce without asking its user.
		a.stats.replays.Add(1)
		a.released(r, user)
		a.log.Info("auth: digest nonce count not increasing (replay?)", "user", sanitize(user), "ip", clientHost(r))
		return deny(true)
	}
	a.succeeded(r, user)
	return a.authorizeUser(r, st, user, abilities)
}

// user returns the named user, or nil.
func (s *Store) user(name string) *user {
	if s == nil {
		return nil
	}
	return s.users[name]
}

// checkDigestParams checks that the parameters qop=auth needs are present
// and well formed.
func checkDigestParams(p map[string]string) error {
	for _, k := range []string{"username", "realm", "nonce", "uri", "response", "qop", "nc", "cnonce"} {
		if p[k] == "" {
			return fmt.Errorf("missing %s", k)
		}
	}
	if _, ok := p["username*"]; ok {
		return errors.New("username* is not supported")
	}
	if strings.EqualFold(p["userhash"], "true") {
		return errors.New("userhash is not supported")
	}
	nc := p["nc"]
	if len(nc) != 8 || !isHex(nc) || nc == "00000000" {
		return fmt.Errorf("nc %q: want 8 hex digits, not zero", nc)
	}
	if r := p["response"]; !isHex(r) || (len(r) != md5.Size*2 && len(r) != sha256.Size*2) {
		return errors.New("response is not a hex digest")
	}
	return nil
}

// uriMatches reports whether the digest uri= names the request target.
func uriMatches(uri string, r *http.Request) bool {
	return uri == r.RequestURI || (r.URL != nil && uri == r.URL.RequestURI())
}

// Digest header parsing: RFC 7616 credentials are auth-params,
//
//	auth-param = token BWS "=" BWS ( token / quoted-string )
//
// separated by commas with optional whitespace; empty list elements are
// allowed (RFC 9110 #rule). Parameter names are case-insensitive and appear
// at most once. Values that are neither tokens nor quoted are accepted up
// to the next comma (older clients send uri=/path unquoted).

const maxDigestParams = 32

var (
	errDigestTooLong = errors.New("digest credentials too long")
	errDigestSyntax  = errors.New("digest credentials: syntax error")
)

// parseDigestParams parses the auth-params after "Digest ". Keys are
// lower-cased; quoted values are unescaped.
func parseDigestParams(s string) (map[string]string, error) {
	if len(s) > MaxAuthorizationLen {
		return nil, errDigestTooLong
	}
	p := make(map[string]string, 10)
	i := 0
	skipOWS := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
	}
	for {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == ',') {
			i++
		}
		if i == len(s) {
			return p, nil
		}
		start := i
		for i < len(s) && isTokenChar(s[i]) {
			i++
		}
		if i == start {
			return nil, fmt.Errorf("%w: want a parameter name at byte %d", errDigestSyntax, start)
		}
		key := strings.ToLower(s[start:i])
		skipOWS()
		if i == len(s) || s[i] != '=' {
			return nil, fmt.Errorf("%w: want '=' after %q", errDigestSyntax, key)
		}
		i++
		skipOWS()
		var val string
		if i < len(s) && s[i] == '"' {
			var b strings.Builder
			i++
			closed := false
			for i < len(s) && !closed {
				c := s[i]
				switch {
				case c == '"':
					closed = true
				case c == '\\':
					i++
					if i == len(s) || !isQuotedChar(s[i]) {
						return nil, fmt.Errorf("%w: bad escape in %q", errDigestSyntax, key)
					}
					b.WriteByte(s[i])
				case !isQuotedChar(c):
					return nil, fmt.Errorf("%w: control character in %q", errDigestSyntax, key)
				default:
					b.WriteByte(c)
				}
				i++
			}
			if !closed {
				return nil, fmt.Errorf("%w: unterminated quoted string in %q", errDigestSyntax, key)
			}
			val = b.String()
		} else {
			start := i
			for i < len(s) && s[i] > ' ' && s[i] < 0x7f && s[i] != ',' && s[i] != '"' {
				i++
			}
			if i == start {
				return nil, fmt.Errorf("%w: empty value of %q", errDigestSyntax, key)
			}
			val = s[start:i]
		}
		if _, dup := p[key]; dup {
			return nil, fmt.Errorf("%w: %q given twice", errDigestSyntax, key)
		}
		if len(p) == maxDigestParams {
			return nil, fmt.Errorf("%w: more than %d parameters", errDigestSyntax, maxDigestParams)
		}
		p[key] = val
		skipOWS()
		if i < len(s) && s[i] != ',' {
			return nil, fmt.Errorf("%w: want ',' after %q", errDigestSyntax, key)
		}
	}
}

// isTokenChar reports whether c is an RFC 9110 tchar.
func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// isQuotedChar reports whether c may stand in a quoted-string, escaped or
// not: HTAB, SP, VCHAR, obs-text.
func isQuotedChar(c byte) bool {
	return c == '\t' || (c >= ' ' && c != 0x7f)
}

// nonceCounts remembers, per used nonce, the highest nonce count accepted,
// for at most max nonces (least recently used forgotten first). A nonce it
// does not hold is accepted only if it cannot have been forgotten: issued
// after New, and after every forgotten unexpired nonce.
type nonceCounts struct {
	max     int
	created int64 // Unix ns of New: nonces issued earlier are refused

	mu    sync.Mutex
	byKey map[string]*list.Element // of *ncEntry; guarded by mu
	lru   *list.List               // front = most recently used; guarded by mu
	floor int64                    // nonces issued at or before it and not held are refused; guarded by mu
}

type ncEntry struct {
	nonce  string
	issued int64
	nc     uint32
}

func newNonceCounts(max int, created int64) *nonceCounts {
	return &nonceCounts{max: max, created: created, floor: -1 << 63, byKey: map[string]*list.Element{}, lru: list.New()}
}

// use records count nc for nonce, reporting false (a replay, or a nonce
// that may have been forgotten) if it is not above every count seen.
func (c *nonceCounts) use(nonce string, issued int64, nc uint32, now, lifetime int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el := c.byKey[nonce]; el != nil {
		e := el.Value.(*ncEntry)
		if nc <= e.nc {
			return false
		}
		e.nc = nc
		c.lru.MoveToFront(el)
		return true
	}
	if issued < c.created || issued <= c.floor {
		return false
	}
	expired := func(e *ncEntry) bool { return now-e.issued > lifetime }
	for c.lru.Len() > 0 && expired(c.lru.Back().Value.(*ncEntry)) {
		c.removeLocked(c.lru.Back())
	}
	for c.lru.Len() >= c.max {
		e := c.removeLocked(c.lru.Back())
		if !expired(e) && e.issued > c.floor {
			c.floor = e.issued
		}
	}
	c.byKey[nonce] = c.lru.PushFront(&ncEntry{nonce: nonce, issued: issued, nc: nc})
	return true
}

func (c *nonceCounts) removeLocked(el *list.Element) *ncEntry {
	e := c.lru.Remove(el).(*ncEntry)
	delete(c.byKey, e.nonce)
	return e
}

func (c *nonceCounts) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}
