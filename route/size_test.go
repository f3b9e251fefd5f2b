package route

import (
	"math"
	"testing"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want int64
	}{
		{"a plain number is bytes", "1048576", 1 << 20},
		{"zero is zero", "0", 0},
		{"B is bytes", "512B", 512},
		{"KiB is 1024 bytes", "16KiB", 16 << 10},
		{"MiB is 1024 KiB", "64MiB", 64 << 20},
		{"GiB is 1024 MiB", "2GiB", 2 << 30},
		{"TiB is 1024 GiB", "1TiB", 1 << 40},
		{"KB is 1000 bytes", "1KB", 1000},
		{"MB is 1000 KB", "1MB", 1000000},
		{"GB is 1000 MB", "3GB", 3000000000},
		{"TB is 1000 GB", "1TB", 1000000000000},
		{"units ignore letter case", "64mib", 64 << 20},
		{"a space may separate number and unit", "16 KiB", 16 << 10},
		{"surrounding space is ignored", " 1MiB ", 1 << 20},
		{"a fraction is allowed when the bytes are whole", "1.5KiB", 1536},
		{"the largest int64 fits", "9223372036854775807", math.MaxInt64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSize(tt.in)
			if err != nil || got != tt.want {
				t.Errorf("ParseSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParseSizeErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"an empty string is not a size", "", `"" is not a size (want bytes, or a number and a unit: KiB, MiB, GiB, KB, MB, GB)`},
		{"a word is not a size", "lots", `"lots" is not a size (want bytes, or a number and a unit: KiB, MiB, GiB, KB, MB, GB)`},
		{"a unit alone is not a size", "MiB", `"MiB" is not a size (want bytes, or a number and a unit: KiB, MiB, GiB, KB, MB, GB)`},
		{"an unknown unit is not a size", "5PiB", `"5PiB" is not a size (want bytes, or a number and a unit: KiB, MiB, GiB, KB, MB, GB)`},
		{"a bare K is not a unit", "5K", `"5K" is not a size (want bytes, or a number and a unit: KiB, MiB, GiB, KB, MB, GB)`},
		{"two dots are not a number", "1.2.3MiB", `"1.2.3MiB" is not a size (want bytes, or a number and a unit: KiB, MiB, GiB, KB, MB, GB)`},
		{"a dot needs digits after it", "1.KiB", `"1.KiB" is not a size (want bytes, or a number and a unit: KiB, MiB, GiB, KB, MB, GB)`},
		{"an exponent is not a size", "1e6", `"1e6" is not a size (want bytes, or a number and a unit: KiB, MiB, GiB, KB, MB, GB)`},
		{"a sign is not a size", "+5", `"+5" is not a size (want bytes, or a number and a unit: KiB, MiB, GiB, KB, MB, GB)`},
		{"a negative size is refused", "-1MiB", `"-1MiB" is negative`},
		{"a fraction of a byte is refused", "1.5B", `"1.5B" is not a whole number of bytes`},
		{"a size beyond int64 is refused", "9223372036854775808", `"9223372036854775808" is too large`},
		{"a size beyond int64 by its unit is refused", "8388608TiB", `"8388608TiB" is too large`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSize(tt.in)
			if err == nil {
				t.Fatalf("ParseSize(%q) = %d, want an error", tt.in, got)
			}
			if err.Error() != tt.want {
				t.Errorf("ParseSize(%q) error\n got  %s\n want %s", tt.in, err, tt.want)
			}
		})
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"0", "64MiB", "1.5KiB", "-1", "1e6", "9223372036854775807", " 16 kb "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err == nil && n < 0 {
			t.Fatalf("ParseSize(%q) = %d", s, n)
		}
	})
}
