// Package auth owns authentication and authorisation: GoAhead's auth.txt
// (users, password hashes, roles and abilities), the Basic, Digest and
// form-login schemes, and a login throttle.
//
// # auth.txt
//
// Parse and Load read GoAhead's file verbatim:
//
//	role name=user abilities=view,person
//	role name=administrator abilities=user,manage
//	user name=joshua password=2fd6e47ff9bb70c0465fd2f5c8e5305e roles=administrator,purchase
//
// As in GoAhead (route.c websLoad) a line is split on spaces and tabs into
// key=value words; values are never quoted (a '"' in a value is an error,
// since the quotes would silently become part of the value). A line whose
// first word starts with '#' is a comment. "route" lines are skipped, since
// GoAhead accepts route.txt and auth.txt lines in one file. Unlike GoAhead,
// which logs and carries on, an unknown key, a duplicate key, a duplicate
// user or role, a missing name= or password=, or a password= that is not a
// known hash is an error naming file:line.
//
// Abilities follow auth.c computeAbilities: a name in a user's roles= or a
// role's abilities= that is itself a role expands into that role's entries,
// recursively; any other name is an ability. Role names are not abilities.
// Expansion stops at a cycle and below depth 20 (both reported by
// Store.Warnings). GoAhead counts that depth per sibling rather than per
// level, so it drops a role's 21st and later abilities; vigil counts levels.
//
// # Password hashes
//
// A user's password= is one of:
//
//   - 32 hex digits: GoAhead's MD5 HA1, md5("user:realm:password"). The only
//     format GoAhead and browsers share for Digest.
//   - "sha256:" and 64 hex digits: sha256("user:realm:password"), vigil's
//     extension for Digest with algorithm=SHA-256.
//   - "BF1:RRRRR:SALT:HASH": GoAhead's Blowfish format (see bf1.go).
//   - "$2a$", "$2b$" or "$2y$" bcrypt over the plain password: vigil's
//     default for new passwords (MakePassword with cipher "bcrypt").
//
// Every comparison is constant-time (CVE-2021-43298 was a timing-leaky
// compare), and an unknown user is checked against the store's most costly
// hash so that it takes as long as a wrong password.
//
// # Schemes
//
// Authenticator.Check (or Authorize, which decides without writing) accepts
// a user from Sessions first, then the route's scheme:
//
//   - "basic": RFC 7617. A malformed header counts as no credentials.
//   - "digest": RFC 7616 with qop=auth. The nonce is
//     base64url(time ‖ random ‖ HMAC-SHA256(key, time ‖ random ‖ realm)):
//     unforgeable without the server's Secret (CVE-2021-41615 was a
//     predictable nonce) and valid for NonceLifetime. The highest nonce count
//     seen per nonce is remembered and a request that does not raise it is
//     refused (CVE-2020-15688 was replay within a nonce's lifetime).
//   - "form": only a session counts; FormLogin (POST /action/login with
//     username and password fields, as GoAhead) makes one.
//
// Digest needs a hash of "user:realm:password", so only users stored as an
// MD5 HA1 (algorithm=MD5) or a sha256: HA1 (algorithm=SHA-256) can use it;
// a bcrypt or BF1 user gets 401 and one Warn log line. The challenge offers
// SHA-256 only when the store holds a sha256: user, and MD5 when it holds an
// MD5 user or no sha256: user. A client that picks SHA-256 for a user stored
// as MD5 fails, so keep one digest format per store.
//
// # Abilities
//
// A route's abilities are [][]string: alternatives, each requiring all of
// its abilities ("OR of ANDs"). nil or empty means any authenticated user; an
// empty alternative is satisfied by any user. Authenticated without them is
// 403 (GoAhead answers 401).
//
// # Throttling
//
// Failed logins are counted per user name and per client address (an IPv6
// address by its /64). After FreeFailures failures the key is blocked for
// BaseDelay, doubling with each further failure up to MaxDelay; a quiet
// Window since the last failure forgets the count, and a successful login
// forgets the user's count (not the address's). A blocked key is answered
// 429 with Retry-After before any password is checked. Both tables are
// bounded (least recently used entries are evicted).
//
// Package auth runs no goroutine: expiry is lazy. It imports the standard
// library and golang.org/x/crypto (blowfish, bcrypt), and no package of this
// module; it declares the Sessions interface it uses.
package auth
