package auth

import (
	"encoding/base64"
	"net/http"
	"strings"
)

// MaxAuthorizationLen is the longest Authorization header looked at, in
// bytes; a longer one counts as malformed.
const MaxAuthorizationLen = 4096

// authorization returns the request's only Authorization header split into
// its scheme (lower case) and the rest. ok is false if there is none;
// malformed is set if there are several or one is too long.
func authorization(r *http.Request) (scheme, rest string, ok, malformed bool) {
	vs := r.Header.Values("Authorization")
	switch {
	case len(vs) == 0:
		return "", "", false, false
	case len(vs) > 1 || len(vs[0]) > MaxAuthorizationLen:
		return "", "", false, true
	}
	v := strings.TrimLeft(vs[0], " \t")
	scheme, rest, _ = strings.Cut(v, " ")
	if scheme == "" {
		return "", "", false, true
	}
	return strings.ToLower(scheme), strings.Trim(rest, " \t"), true, false
}

// parseBasic decodes RFC 7617 credentials (the part after "Basic "). ok is
// false for anything malformed: bad base64, no colon, an empty user, or a
// control character in the user name.
func parseBasic(creds string) (user, password string, ok bool) {
	raw, err := base64.StdEncoding.DecodeString(creds)
	if err != nil {
		// Some clients leave out the padding.
		if raw, err = base64.RawStdEncoding.DecodeString(creds); err != nil {
			return "", "", false
		}
	}
	user, password, ok = strings.Cut(string(raw), ":")
	if !ok || user == "" || strings.ContainsFunc(user, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return "", "", false
	}
	return user, password, true
}

// basicChallenge is the WWW-Authenticate value of a Basic 401.
func (a *Authenticator) basicChallenge() string {
	return `Basic realm=` + a.quotedRealm + `, charset="UTF-8"`
}

// basic authenticates a request by its Basic credentials.
func (a *Authenticator) basic(r *http.Request, st *Store, abilities [][]string) Decision {
	challenge := []string{a.basicChallenge()}
	scheme, rest, ok, malformed := authorization(r)
	var user, password string
	if ok && scheme == "basic" {
		user, password, ok = parseBasic(rest)
		malformed = !ok
	} else {
		ok = false
	}
	if malformed {
		a.stats.malformed.Add(1)
	}
	if !ok {
		return Decision{Status: http.StatusUnauthorized, Challenges: challenge}
	}
	if d, blocked := a.attempt(r, user); blocked {
		return d
	}
	if !st.Verify(user, password, a.realm) {
		a.failed(r, user, "basic")
		return Decision{Status: http.StatusUnauthorized, Challenges: challenge}
	}
	a.succeeded(r, user)
	return a.authorizeUser(r, st, user, abilities)
}
