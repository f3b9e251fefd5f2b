package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/blowfish"
)

// GoAhead's BF1 password format, from the facts of GoAhead 6.1.0 src/crypt.c
// (websMakePassword, websCryptPassword, websCheckPassword, websMakeSalt) and
// src/utils/gopass.c:
//
//	BF1:RRRRR:SALT:HASH
//
// RRRRR is the round count in five decimal digits (gopass: 00128). SALT is
// 16 characters from [A-Za-z0-9]. HASH is computed thus: the Blowfish key
// is the bytes of SALT ":" SECRET, expanded with the standard Blowfish key
// schedule (the key used cyclically, so only its first 72 bytes count); the
// 24 bytes "OrpheanBeholderScryDoubt" are read as six 32-bit words in
// big-endian order (0x4f727068 "Orph", ...), and each of the three 64-bit
// blocks (words 0-1, 2-3, 4-5) is encrypted RRRRR times; the six words are
// then written out in the host's byte order, which is little-endian on
// every GoAhead target that matters (x86, ARM), and encoded in standard
// base64 (32 characters, no padding needed).
//
// SECRET is what differs between GoAhead's two callers: gopass hashes
// "user:realm:password", while the server's websCheckPassword is handed the
// plain password. Verification accepts either, and either byte order, so
// that every BF1 line GoAhead tools or GoAhead-based firmware wrote checks;
// MakePassword writes gopass's form in little-endian order.

const (
	bf1Prefix = "BF1:"
	// DefaultBF1Rounds is the round count gopass and MakePassword use.
	DefaultBF1Rounds = 128
	// maxBF1Rounds is the most rounds the five-digit field holds.
	maxBF1Rounds = 99999
	bf1SaltLen   = 16
	bf1KeyMax    = 72 // bytes of key the Blowfish key schedule reads
)

// bf1Plain is "OrpheanBeholderScryDoubt" as GoAhead's six words.
var bf1Plain = [6]uint32{0x4f727068, 0x65616e42, 0x65686f6c, 0x64657253, 0x63727944, 0x6f756274}

func parseBF1(s string) (hashed, error) {
	f := strings.Split(s, ":")
	if len(f) != 4 {
		return hashed{}, errors.New("BF1: want BF1:ROUNDS:SALT:HASH")
	}
	rounds, err := strconv.Atoi(f[1])
	if err != nil || rounds < 1 || rounds > maxBF1Rounds || f[1][0] == '+' || f[1][0] == '-' {
		return hashed{}, fmt.Errorf("BF1: rounds %q: want 1 to %d", f[1], maxBF1Rounds)
	}
	if f[2] == "" {
		return hashed{}, errors.New("BF1: empty salt")
	}
	sum, err := base64.StdEncoding.DecodeString(f[3])
	if err != nil || len(sum) != 24 {
		return hashed{}, errors.New("BF1: hash is not 32 characters of base64")
	}
	return hashed{kind: kindBF1, raw: s, digest: sum, rounds: rounds, salt: f[2]}, nil
}

// bf1 returns the six words of GoAhead's websCryptPassword(secret, salt,
// rounds).
func bf1(salt, secret string, rounds int) [6]uint32 {
	// NewSaltedCipher with an all-zero salt is exactly the standard key
	// schedule (the salt is XORed into zero blocks), without NewCipher's
	// 56-byte key limit: GoAhead's binit takes keys of any length.
	c, err := blowfish.NewSaltedCipher([]byte(salt+":"+secret), make([]byte, 8))
	if err != nil {
		panic("auth: blowfish: " + err.Error()) // the key is never empty
	}
	w := bf1Plain
	var b [8]byte
	for j := 0; j < len(w); j += 2 {
		binary.BigEndian.PutUint32(b[:4], w[j])
		binary.BigEndian.PutUint32(b[4:], w[j+1])
		for range rounds {
			c.Encrypt(b[:], b[:])
		}
		w[j], w[j+1] = binary.BigEndian.Uint32(b[:4]), binary.BigEndian.Uint32(b[4:])
	}
	return w
}

// bf1Bytes serialises words as GoAhead's host would: little- or big-endian.
func bf1Bytes(w [6]uint32, order binary.AppendByteOrder) []byte {
	out := make([]byte, 0, 24)
	for _, x := range w {
		out = order.AppendUint32(out, x)
	}
	return out
}

// checkBF1 compares in constant time, trying gopass's secret
// ("user:realm:password") and websCheckPassword's (the password), each in
// both byte orders; all four are always computed.
func (h *hashed) checkBF1(user, password, realm string) bool {
	ok := 0
	for _, secret := range []string{ha1(user, realm, password), password} {
		w := bf1(h.salt, secret, h.rounds)
		ok |= subtle.ConstantTimeCompare(bf1Bytes(w, binary.LittleEndian), h.digest)
		ok |= subtle.ConstantTimeCompare(bf1Bytes(w, binary.BigEndian), h.digest)
	}
	return ok == 1
}

// makeBF1 returns a BF1 hash of secret, as gopass writes it.
func makeBF1(secret string, rounds int) (string, error) {
	salt := bf1Salt()
	if n := len(salt) + 1 + len(secret); n > bf1KeyMax {
		return "", fmt.Errorf("blowfish: user:realm:password is %d bytes, but BF1 reads only the first %d: use bcrypt", len(secret), bf1KeyMax-len(salt)-1)
	}
	w := bf1(salt, secret, rounds)
	return fmt.Sprintf("%s%05d:%s:%s", bf1Prefix, rounds, salt, base64.StdEncoding.EncodeToString(bf1Bytes(w, binary.LittleEndian))), nil
}

// bf1Salt returns 16 characters from [A-Za-z0-9], uniformly (GoAhead's
// websMakeSalt takes a byte modulo 62, slightly biased).
func bf1Salt() string {
	const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	out := make([]byte, 0, bf1SaltLen)
	var buf [32]byte
	for len(out) < bf1SaltLen {
		rand.Read(buf[:])
		for _, b := range buf {
			if b < 248 && len(out) < bf1SaltLen { // 248 = 4*62: no modulo bias
				out = append(out, chars[b%62])
			}
		}
	}
	return string(out)
}
