package auth

import (
	"crypto/md5"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// DefaultBcryptCost is the bcrypt cost MakePassword uses.
const DefaultBcryptCost = bcrypt.DefaultCost

// MaxBcryptCost is the highest bcrypt cost a password= may have: each step
// doubles the time a login takes (cost 16 is some seconds on a device).
const MaxBcryptCost = 16

// MaxPasswordLen is the longest password Verify considers, in bytes; a
// longer one never matches.
const MaxPasswordLen = 1024

type hashKind int

const (
	kindMD5    hashKind = iota + 1 // 32 hex: md5(user:realm:password)
	kindSHA256                     // sha256:<64 hex>: sha256(user:realm:password)
	kindBF1                        // GoAhead BF1:rounds:salt:hash
	kindBcrypt                     // $2a$, $2b$, $2y$
)

func (k hashKind) String() string {
	switch k {
	case kindMD5:
		return "md5"
	case kindSHA256:
		return "sha256"
	case kindBF1:
		return "blowfish"
	case kindBcrypt:
		return "bcrypt"
	}
	return "unknown"
}

// hashed is a parsed password= value.
type hashed struct {
	kind   hashKind
	raw    string // as in the file; bcrypt compares against it
	digest []byte // md5 and sha256: the HA1; BF1: the 24 decoded bytes
	rounds int    // BF1 rounds; bcrypt cost
	salt   string // BF1
}

// cost orders hashes by the work a check takes.
func (h *hashed) cost() int {
	switch h.kind {
	case kindBcrypt:
		return 1<<30 + h.rounds
	case kindBF1:
		return 1<<20 + h.rounds
	case kindSHA256:
		return 2
	case kindMD5:
		return 1
	}
	return 0
}

const sha256Prefix = "sha256:"

const bcryptAlphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func parseHash(s string) (hashed, error) {
	switch {
	case len(s) == md5.Size*2 && isHex(s):
		d, _ := hex.DecodeString(s)
		return hashed{kind: kindMD5, raw: s, digest: d}, nil
	case len(s) > len(sha256Prefix) && strings.EqualFold(s[:len(sha256Prefix)], sha256Prefix):
		h := s[len(sha256Prefix):]
		if len(h) != sha256.Size*2 || !isHex(h) {
			return hashed{}, errors.New("sha256: wants 64 hex digits")
		}
		d, _ := hex.DecodeString(h)
		return hashed{kind: kindSHA256, raw: s, digest: d}, nil
	case strings.HasPrefix(s, bf1Prefix):
		return parseBF1(s)
	case strings.HasPrefix(s, "$2a$") || strings.HasPrefix(s, "$2b$") || strings.HasPrefix(s, "$2y$"):
		if len(s) != 60 || strings.Trim(s[7:], bcryptAlphabet) != "" {
			return hashed{}, errors.New("bad bcrypt hash: want 60 characters, salt and hash in bcrypt's base64")
		}
		cost, err := bcrypt.Cost([]byte(s))
		if err != nil {
			return hashed{}, fmt.Errorf("bad bcrypt hash: %w", err)
		}
		if cost > MaxBcryptCost {
			return hashed{}, fmt.Errorf("bcrypt cost %d is above %d: each login would take seconds", cost, MaxBcryptCost)
		}
		return hashed{kind: kindBcrypt, raw: s, rounds: cost}, nil
	}
	return hashed{}, errors.New("not a known hash (want 32 hex digits of MD5 HA1, sha256:, BF1: or bcrypt $2a$/$2b$/$2y$)")
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// ha1 is "user:realm:password", the input of MD5 and SHA-256 HA1 and of
// gopass's BF1.
func ha1(user, realm, password string) string { return user + ":" + realm + ":" + password }

// check reports in constant time (for a given hash) whether password is
// user's password in realm.
func (h *hashed) check(user, password, realm string) bool {
	switch h.kind {
	case kindMD5:
		sum := md5.Sum([]byte(ha1(user, realm, password)))
		return subtle.ConstantTimeCompare(sum[:], h.digest) == 1
	case kindSHA256:
		sum := sha256.Sum256([]byte(ha1(user, realm, password)))
		return subtle.ConstantTimeCompare(sum[:], h.digest) == 1
	case kindBF1:
		return h.checkBF1(user, password, realm)
	case kindBcrypt:
		// bcrypt reads only 72 bytes and GenerateFromPassword refuses
		// longer passwords, so a longer one is not the password (but it
		// spends the time all the same).
		ok := bcrypt.CompareHashAndPassword([]byte(h.raw), []byte(password)) == nil
		return ok && len(password) <= 72
	}
	return false
}

// Verify reports whether password is user's password in realm. An unknown
// user takes as long as the store's most costly hash. A password with a NUL
// byte or longer than MaxPasswordLen never matches.
func (s *Store) Verify(user, password, realm string) bool {
	if s == nil {
		return false
	}
	if len(password) > MaxPasswordLen {
		return false
	}
	// GoAhead's C strings cannot hold NUL, and bcrypt would read past it.
	nul := strings.IndexByte(password, 0) >= 0
	u := s.users[user]
	if u == nil {
		if s.dummy != nil {
			s.dummy.check(user, password, realm)
		}
		return false
	}
	return u.hash.check(user, password, realm) && !nul
}

// MakePassword hashes password for an auth.txt password= value. cipher is
// "bcrypt" (or ""; over the password alone; the default), "md5" (GoAhead's
// HA1, which digest authentication with algorithm=MD5 needs), "sha256"
// (sha256: HA1 for algorithm=SHA-256) or "blowfish" (GoAhead's BF1 as
// gopass makes it, over "user:realm:password", 128 rounds, 16-character
// salt). The realm is part of every hash but bcrypt's.
func MakePassword(cipher, user, realm, password string) (string, error) {
	if err := checkUserName(user); err != nil {
		return "", fmt.Errorf("auth: make password: %w", err)
	}
	switch {
	case password == "":
		return "", errors.New("auth: make password: empty password")
	case len(password) > MaxPasswordLen:
		return "", fmt.Errorf("auth: make password: password longer than %d bytes", MaxPasswordLen)
	case strings.IndexByte(password, 0) >= 0:
		return "", errors.New("auth: make password: password contains a NUL byte")
	case cipher != "" && cipher != "bcrypt" && realm == "":
		return "", errors.New("auth: make password: empty realm")
	}
	switch cipher {
	case "", "bcrypt":
		h, err := bcrypt.GenerateFromPassword([]byte(password), DefaultBcryptCost)
		if err != nil {
			return "", fmt.Errorf("auth: make password: %w", err)
		}
		return string(h), nil
	case "md5":
		sum := md5.Sum([]byte(ha1(user, realm, password)))
		return hex.EncodeToString(sum[:]), nil
	case "sha256":
		sum := sha256.Sum256([]byte(ha1(user, realm, password)))
		return sha256Prefix + hex.EncodeToString(sum[:]), nil
	case "blowfish":
		h, err := makeBF1(ha1(user, realm, password), DefaultBF1Rounds)
		if err != nil {
			return "", fmt.Errorf("auth: make password: %w", err)
		}
		return h, nil
	}
	return "", fmt.Errorf("auth: make password: unknown cipher %q (want bcrypt, md5, sha256 or blowfish)", cipher)
}
