package session

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestValues(t *testing.T) {
	s := New(Options{})
	v := login(t, s, request(), "alice")
	r := request(v)
	if _, ok := s.Get(r, "n"); ok {
		t.Fatal("a new session has a value")
	}
	// GoAhead's action "sessionTest" keeps a number in the session.
	for i := range 3 {
		n, _ := s.Get(r, "n")
		if want := strings.Repeat("1", i); n != want {
			t.Fatalf("Get = %q, want %q", n, want)
		}
		if err := s.Set(r, "n", n+"1"); err != nil {
			t.Fatal(err)
		}
	}
	other := login(t, s, request(), "bob")
	if _, ok := s.Get(request(other), "n"); ok {
		t.Errorf("bob's session sees alice's value")
	}
	s.Delete(r, "n")
	if _, ok := s.Get(r, "n"); ok {
		t.Errorf("the value survived Delete")
	}
	s.Delete(r, "n") // deleting twice is fine
	s.Delete(request(), "n")
}

// errOther stands for an error that wraps neither ErrLimit nor ErrNoSession.
var errOther = errors.New("other")

func TestValueLimits(t *testing.T) {
	full := func(t *testing.T, s *Store, r0 string) {
		t.Helper()
		for i := range MaxValues {
			if err := s.Set(request(r0), fmt.Sprint("k", i), "v"); err != nil {
				t.Fatal(err)
			}
		}
	}
	big := strings.Repeat("x", MaxValueSize)
	tests := []struct {
		name    string
		prepare func(t *testing.T, s *Store, id string)
		key     string
		value   string
		want    error // nil, ErrLimit, ErrNoSession or errOther
	}{
		{"a value of MaxValueSize bytes is stored", nil, "k", big, nil},
		{"a value over MaxValueSize bytes is refused", nil, "k", big + "x", ErrLimit},
		{"a key of MaxKeySize bytes is stored", nil, strings.Repeat("k", MaxKeySize), "v", nil},
		{"a key over MaxKeySize bytes is refused", nil, strings.Repeat("k", MaxKeySize+1), "v", ErrLimit},
		{"the value after MaxValues is refused", full, "one-more", "v", ErrLimit},
		{"replacing a value at MaxValues is allowed", full, "k0", "w", nil},
		{"values over MaxValuesSize in all are refused", func(t *testing.T, s *Store, id string) {
			for i := range MaxValuesSize/MaxValueSize - 1 {
				if err := s.Set(request(id), fmt.Sprint(i), big); err != nil {
					t.Fatal(err)
				}
			}
		}, "last", big, ErrLimit},
		{"replacing a big value with a small one frees room", func(t *testing.T, s *Store, id string) {
			for i := range MaxValuesSize/MaxValueSize - 1 {
				if err := s.Set(request(id), fmt.Sprint(i), big); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Set(request(id), "0", ""); err != nil {
				t.Fatal(err)
			}
		}, "last", big, nil},
		{"deleting a value frees room", func(t *testing.T, s *Store, id string) {
			full(t, s, id)
			s.Delete(request(id), "k0")
		}, "one-more", "v", nil},
		{"an empty key is refused", nil, "", "v", errOther},
		{"Set without a session fails with ErrNoSession", func(t *testing.T, s *Store, id string) {
			s.Logout(httptest.NewRecorder(), request(id))
		}, "k", "v", ErrNoSession},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(Options{})
			id := login(t, s, request(), "alice")
			if tt.prepare != nil {
				tt.prepare(t, s, id)
			}
			err := s.Set(request(id), tt.key, tt.value)
			switch {
			case tt.want == nil && err != nil:
				t.Fatalf("Set: %v", err)
			case tt.want == nil:
				if got, ok := s.Get(request(id), tt.key); !ok || got != tt.value {
					t.Errorf("Get after Set = %d bytes, %v", len(got), ok)
				}
			case err == nil:
				t.Fatalf("Set succeeded, want %v", tt.want)
			case (tt.want == ErrLimit || tt.want == ErrNoSession) && !errors.Is(err, tt.want):
				t.Fatalf("Set: %v, want %v", err, tt.want)
			default:
				if got, ok := s.Get(request(id), tt.key); ok && got == tt.value {
					t.Errorf("a refused Set stored its value")
				}
			}
		})
	}
}
