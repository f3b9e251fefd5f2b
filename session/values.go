package session

import (
	"fmt"
	"net/http"
)

// Get returns the value stored under key in the request's session and
// reports whether there was one.
func (s *Store) Get(r *http.Request, key string) (string, bool) {
	var v string
	var ok bool
	s.find(r, func(e *entry) { v, ok = e.values[key] })
	return v, ok
}

// Set stores value under key in the request's session. It returns an error
// wrapping ErrNoSession when the request has no live session, and one
// wrapping ErrLimit when the key would exceed MaxKeySize, the value
// MaxValueSize, or the session MaxValues or MaxValuesSize; the session is
// then unchanged. Values end with their session: a new login starts empty.
func (s *Store) Set(r *http.Request, key, value string) error {
	switch {
	case key == "":
		return fmt.Errorf("session: set: empty key")
	case len(key) > MaxKeySize:
		return fmt.Errorf("session: set: key is %d bytes, limit %d: %w", len(key), MaxKeySize, ErrLimit)
	case len(value) > MaxValueSize:
		return fmt.Errorf("session: set %q: value is %d bytes, limit %d: %w", key, len(value), MaxValueSize, ErrLimit)
	}
	var err error
	ok := s.find(r, func(e *entry) {
		old, had := e.values[key]
		size := e.size + len(value)
		if had {
			size -= len(old)
		} else {
			if len(e.values) >= MaxValues {
				err = fmt.Errorf("session: set %q: session holds %d values, limit %d: %w", key, len(e.values), MaxValues, ErrLimit)
				return
			}
			size += len(key)
		}
		if size > MaxValuesSize {
			err = fmt.Errorf("session: set %q: session would hold %d bytes, limit %d: %w", key, size, MaxValuesSize, ErrLimit)
			return
		}
		if e.values == nil {
			e.values = make(map[string]string)
		}
		e.values[key] = value
		e.size = size
	})
	if !ok {
		return fmt.Errorf("session: set %q: %w", key, ErrNoSession)
	}
	return err
}

// Delete removes key from the request's session, if both exist.
func (s *Store) Delete(r *http.Request, key string) {
	s.find(r, func(e *entry) {
		if old, had := e.values[key]; had {
			delete(e.values, key)
			e.size -= len(key) + len(old)
		}
	})
}
