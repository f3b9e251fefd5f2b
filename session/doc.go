// Package session owns login sessions: an in-memory, server-side store that
// maps a random cookie to a user name, a CSRF token and a few small values.
//
// It replaces GoAhead's sessions (http.c), fixing what went wrong there:
//
//   - GoAhead set Domain from the client's Host header; a Store never sets a
//     Domain attribute, so the cookie stays host-only.
//   - GoAhead refused new sessions once 512 existed, so anyone able to open
//     512 sessions locked every administrator out; a Store at its cap evicts
//     the least-recently-used session instead and never refuses a login.
//   - GoAhead kept a session for as long as it was used; a Store also ends a
//     session a fixed Lifetime after login, however busy it is.
//   - GoAhead kept the session id across login; Login always issues a new id
//     and destroys the session the request carried (session fixation).
//   - GoAhead had no CSRF defence but SameSite=Lax; every session here has a
//     token for forms (CSRFToken) and a check for requests (CheckCSRF).
//
// Session ids are 32 bytes from crypto/rand, base64url without padding (43
// characters). The store keeps only the SHA-256 of an id, so neither a
// memory dump nor a timing side channel on the map lookup yields a usable
// id. A cookie value is checked for length and alphabet before it is hashed:
// an oversized or malformed cookie simply means "no session".
//
// Memory is bounded: at most Options.MaxSessions sessions, each holding at
// most MaxValues values of at most MaxValueSize bytes and MaxValuesSize bytes
// in all. Expired sessions are removed lazily — when a request finds one,
// every so many operations, and before a live session is evicted at the cap —
// so the Store runs no goroutine and needs no Close. Sweep removes them on
// demand.
//
// Timers use the monotonic clock that time.Now carries, so setting the wall
// clock (an NTP sync on a device that booted in 1970) neither ends nor
// extends a session.
//
// A new session is visible from the next request on: Login sets the cookie
// on the response, not on the request it was given. Answer a login with a
// redirect (POST, redirect, GET).
//
// Package session imports only the standard library, and no package of this
// module.
package session
