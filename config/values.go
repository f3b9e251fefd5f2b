package config

import (
	"errors"
	"fmt"
	"github.com/vigilhttp/vigil/route"
	"log/slog"
	"math"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The value parsers below check one decoded TOML value and store it. Their
// errors say what is wrong with the value; the caller adds file, line and
// key.

// addrs accepts a non-empty array of "host:port" strings.
func addrs(dst *[]string) func(any) error {
	return func(v any) error {
		list, ok := v.([]any)
		if !ok {
			return fmt.Errorf("want an array of strings, like [\"localhost:8080\"], got %s", describe(v))
		}
		if len(list) == 0 {
			return errors.New("is empty (leave the key out for the default)")
		}
		out := make([]string, 0, len(list))
		for i, e := range list {
			s, ok := e.(string)
			if !ok {
				return fmt.Errorf("element %d: want a string, got %s", i+1, describe(e))
			}
			hp := strings.TrimPrefix(strings.TrimPrefix(s, "https://"), "http://")
			if _, _, err := net.SplitHostPort(hp); err != nil {
				return fmt.Errorf("%q is not host:port, http://host:port or https://host:port", s)
			}
			out = append(out, s)
		}
		*dst = out
		return nil
	}
}

// str accepts a string.
func str(v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("want a string, got %s", describe(v))
	}
	return s, nil
}

// fileName accepts a file name, resolving a relative one against dir.
func fileName(dst *string, dir string) func(any) error {
	return func(v any) error {
		s, err := str(v)
		if err != nil {
			return err
		}
		*dst = resolve(dir, s)
		return nil
	}
}

// resolve joins a relative name to dir; it leaves an empty name empty.
func resolve(dir, name string) string {
	if name == "" || filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(dir, name)
}

// accessLog is a path, or "-" for standard output.
func accessLog(dst *string, dir string) func(any) error {
	return func(v any) error {
		s, err := str(v)
		if err != nil {
			return err
		}
		if s != "-" {
			s = resolve(dir, s)
		}
		*dst = s
		return nil
	}
}

// admin accepts "off", "unix:PATH" (PATH resolved against dir) or
// "host:port".
func admin(dst *string, dir string) func(any) error {
	return func(v any) error {
		s, err := str(v)
		if err != nil {
			return err
		}
		if p, ok := strings.CutPrefix(s, "unix:"); ok {
			if p == "" {
				return errors.New(`"unix:" needs a socket path`)
			}
			s = "unix:" + resolve(dir, p)
		} else if s != "off" && s != "" {
			if _, _, err := net.SplitHostPort(s); err != nil {
				return fmt.Errorf("%q is neither unix:PATH nor host:port nor off", s)
			}
		}
		*dst = s
		return nil
	}
}

// duration accepts a non-negative time.ParseDuration string.
func duration(dst *time.Duration) func(any) error {
	return func(v any) error {
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("want a duration string, like \"30s\", got %s", describe(v))
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("%q is not a duration", s)
		}
		if d < 0 {
			return fmt.Errorf("%q is negative", s)
		}
		*dst = d
		return nil
	}
}

// size accepts a non-negative integer or a ParseSize string.
func size(dst *int64) func(any) error {
	return func(v any) error {
		switch v := v.(type) {
		case int64:
			if v < 0 {
				return fmt.Errorf("%d is negative", v)
			}
			*dst = v
			return nil
		case string:
			n, err := route.ParseSize(v)
			if err != nil {
				return err
			}
			*dst = n
			return nil
		}
		return fmt.Errorf("want a size, like 1048576 or \"1MiB\", got %s", describe(v))
	}
}

// integer accepts an integer (negative too: "no cap").
// rate accepts a size per second like size, or "none" or a negative
// integer for no minimum (stored as -1).
func rate(dst *int64) func(any) error {
	sz := size(dst)
	return func(v any) error {
		switch v := v.(type) {
		case int64:
			if v < 0 {
				*dst = -1
				return nil
			}
		case string:
			if v == "none" {
				*dst = -1
				return nil
			}
		}
		return sz(v)
	}
}

func integer(dst *int) func(any) error {
	return func(v any) error {
		n, ok := v.(int64)
		if !ok {
			return fmt.Errorf("want an integer, got %s", describe(v))
		}
		if n < math.MinInt || n > math.MaxInt {
			return fmt.Errorf("%d is out of range", n)
		}
		*dst = int(n)
		return nil
	}
}

// boolean accepts true or false.
func boolean(dst *bool) func(any) error {
	return func(v any) error {
		b, ok := v.(bool)
		if !ok {
			return fmt.Errorf("want true or false, got %s", describe(v))
		}
		*dst = b
		return nil
	}
}

// logLevel accepts a slog level name.
func logLevel(dst *string) func(any) error {
	return func(v any) error {
		s, err := str(v)
		if err != nil {
			return err
		}
		var lv slog.Level
		if lv.UnmarshalText([]byte(s)) != nil {
			return fmt.Errorf("%q is not a log level (want debug, info, warn or error)", s)
		}
		*dst = s
		return nil
	}
}

// oneOf accepts one of the strings choices.
func oneOf(dst *string, choices ...string) func(any) error {
	return func(v any) error {
		s, err := str(v)
		if err != nil {
			return err
		}
		if !slices.Contains(choices, s) {
			return fmt.Errorf("%q is not one of %s", s, strings.Join(choices, ", "))
		}
		*dst = s
		return nil
	}
}

// nonEmpty accepts a non-empty string.
func nonEmpty(dst *string) func(any) error {
	return func(v any) error {
		s, err := str(v)
		if err != nil {
			return err
		}
		if s == "" {
			return errors.New("is empty")
		}
		*dst = s
		return nil
	}
}

// describe names a decoded TOML value's type, with the value if it is
// short.
func describe(v any) string {
	switch v := v.(type) {
	case string:
		return fmt.Sprintf("string %q", v)
	case int64:
		return fmt.Sprintf("integer %d", v)
	case float64:
		return fmt.Sprintf("float %v", v)
	case bool:
		return fmt.Sprintf("boolean %t", v)
	case time.Time:
		return "date-time " + v.Format(time.RFC3339)
	case []any:
		return "an array"
	case []map[string]any:
		return "an array of tables"
	case map[string]any:
		return "a table"
	}
	return fmt.Sprintf("%T", v)
}

// names accepts an array of non-empty strings without spaces (host names
// or addresses).
func names(dst *[]string) func(any) error {
	return func(v any) error {
		list, ok := v.([]any)
		if !ok {
			return fmt.Errorf("want an array of strings, like [\"router.local\"], got %s", describe(v))
		}
		out := make([]string, 0, len(list))
		for i, e := range list {
			s, ok := e.(string)
			if !ok || s == "" || strings.ContainsAny(s, " \t") {
				return fmt.Errorf("element %d: want a host name or address, got %s", i+1, describe(e))
			}
			out = append(out, s)
		}
		*dst = out
		return nil
	}
}
