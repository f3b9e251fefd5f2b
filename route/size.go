package route

import (
	"fmt"
	"math/big"
	"strings"
)

// unitSize returns the bytes in one unit (lower case): binary (kib = 1024)
// or decimal (kb = 1000); "" and "b" are bytes.
func unitSize(unit string) (int64, bool) {
	switch unit {
	case "", "b":
		return 1, true
	case "kib":
		return 1 << 10, true
	case "mib":
		return 1 << 20, true
	case "gib":
		return 1 << 30, true
	case "tib":
		return 1 << 40, true
	case "kb":
		return 1e3, true
	case "mb":
		return 1e6, true
	case "gb":
		return 1e9, true
	case "tb":
		return 1e12, true
	}
	return 0, false
}

// ParseSize parses a size in bytes: a decimal number with an optional unit,
// B, KiB, MiB, GiB, TiB (powers of 1024) or KB, MB, GB, TB (powers of 1000),
// in any letter case and optionally after a space: "1048576", "64MiB",
// "16 KiB", "1MB", "1.5GiB". The result must be a whole number of bytes,
// not negative, and fit in an int64. The error quotes s.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "-") {
		return 0, fmt.Errorf("%q is negative", s)
	}
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i < 0 {
		i = len(t)
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	mult, ok := unitSize(unit)
	if !ok || !isDecimal(num) {
		return 0, fmt.Errorf("%q is not a size (want bytes, or a number and a unit: KiB, MiB, GiB, KB, MB, GB)", s)
	}
	r, _ := new(big.Rat).SetString(num) // isDecimal: cannot fail
	r.Mul(r, new(big.Rat).SetInt64(mult))
	if !r.IsInt() {
		return 0, fmt.Errorf("%q is not a whole number of bytes", s)
	}
	if n := r.Num(); n.IsInt64() {
		return n.Int64(), nil
	}
	return 0, fmt.Errorf("%q is too large", s)
}

// isDecimal reports whether s is digits with at most one '.' between
// digits: "12", "1.5".
func isDecimal(s string) bool {
	whole, frac, dot := strings.Cut(s, ".")
	digits := func(s string) bool {
		return s != "" && strings.Trim(s, "0123456789") == ""
	}
	return digits(whole) && (!dot || digits(frac))
}
