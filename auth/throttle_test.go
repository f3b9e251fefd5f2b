package auth

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/crypto/bcrypt"
)

func basicFrom(ip, user, password string) *http.Request {
	r := getWith(basicHeader(user, password))
	r.RemoteAddr = ip + ":40000"
	return r
}

// attempt runs one Basic request and returns its status and Retry-After.
func attempt(a *Authenticator, ip, user, password string) (int, string) {
	w, _, _ := do(a, basicFrom(ip, user, password), "basic", nil)
	return w.Code, w.Header().Get("Retry-After")
}

func TestThrottleSequence(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// time.Now is the bubble's fake clock: Sleep advances it at once.
		a := New(Options{Store: mustParse(t, fixture)})
		const ip = "203.0.113.9"
		step := func(password string, status int, retry string) {
			t.Helper()
			gotStatus, gotRetry := attempt(a, ip, "joshua", password)
			if gotStatus != status || gotRetry != retry {
				t.Fatalf("got %d Retry-After %q, want %d %q", gotStatus, gotRetry, status, retry)
			}
		}
		for range DefaultFreeFailures {
			step("wrong", 401, "") // free attempts; the fifth blocks for 1 s
		}
		step("pass1", 429, "1")
		step("wrong", 429, "1") // blocked attempts are not checked, not counted
		time.Sleep(time.Second)
		step("wrong", 401, "") // the sixth: 2 s
		step("pass1", 429, "2")
		time.Sleep(1500 * time.Millisecond)
		step("pass1", 429, "1") // 0.5 s left, rounded up
		time.Sleep(500 * time.Millisecond)
		step("pass1", 200, "") // recovered; the pair's count is reset
		step("wrong", 401, "")

		// The block was joshua's from this address: mary from it, and
		// joshua from another address, were never held back.
		if st, _ := attempt(a, ip, "mary", "pass2"); st != 200 {
			t.Errorf("another user from the address: %d, want 200", st)
		}
		if st, _ := attempt(a, "203.0.113.10", "joshua", "pass1"); st != 200 {
			t.Errorf("joshua from another address: %d, want 200", st)
		}
		s := a.Stats()
		if s.Failures != 7 || s.Throttled != 4 || s.Successes != 3 {
			t.Errorf("Stats = %+v", s)
		}
	})
}

// The check and the count are one step: concurrent wrong guesses get no
// more password checks than sequential ones (bcrypt, slow on purpose, made
// the window wide).
func TestThrottleConcurrentGuessesGetFreeFailuresChecks(t *testing.T) {
	// The cheapest bcrypt: a millisecond per check is window enough.
	h, err := bcrypt.GenerateFromPassword([]byte("right"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	st := mustParse(t, "user name=admin password="+string(h)+" roles=\n")
	a := New(Options{Store: st})
	const n = 100
	codes := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			c, _ := attempt(a, "198.51.100.7", "admin", "wrong")
			codes <- c
		})
	}
	wg.Wait()
	close(codes)
	got := map[int]int{}
	for c := range codes {
		got[c]++
	}
	if got[401] != DefaultFreeFailures || got[429] != n-DefaultFreeFailures {
		t.Errorf("statuses %v, want %d × 401 then 429", got, DefaultFreeFailures)
	}
	if s := a.Stats(); s.Failures != DefaultFreeFailures {
		t.Errorf("%d password checks, want %d", s.Failures, DefaultFreeFailures)
	}
}

// An attacker elsewhere cannot lock the owner out: the hard limit is per
// (user, address); the per-user delay is gentle and spares addresses the
// user logged in from.
func TestThrottleAttackerCannotLockOwnerOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := New(Options{Store: mustParse(t, fixture)})
		if st, _ := attempt(a, "192.0.2.80", "joshua", "pass1"); st != 200 {
			t.Fatalf("the owner's first login: %d", st)
		}
		for range 3 * DefaultFreeFailures {
			attempt(a, "203.0.113.66", "joshua", "wrong")
		}
		if st, _ := attempt(a, "203.0.113.66", "joshua", "pass1"); st != 429 {
			t.Errorf("the guessing address: %d, want 429", st)
		}
		if st, _ := attempt(a, "198.51.100.3", "joshua", "pass1"); st != 200 {
			t.Errorf("the owner from a new address after one address's guesses: %d, want 200", st)
		}
		// Guesses from many addresses (4 each, under the pair's limit):
		// the user's count passes UserFreeFailures.
		for i := range 12 {
			for range 4 {
				attempt(a, "203.0.114."+strconv.Itoa(i), "joshua", "wrong")
			}
		}
		if st, _ := attempt(a, "192.0.2.80", "joshua", "pass1"); st != 200 {
			t.Errorf("the owner from an address it logged in from: %d, want 200", st)
		}
		st, ra := attempt(a, "198.51.100.99", "joshua", "pass1")
		n, _ := strconv.Atoi(ra)
		if st != 429 || n < 1 || n > int(DefaultUserMaxDelay/time.Second) {
			t.Fatalf("a new address during a spread attack: %d Retry-After %q, want 429 for at most %v", st, ra, DefaultUserMaxDelay)
		}
		time.Sleep(time.Duration(n) * time.Second)
		if st, _ := attempt(a, "198.51.100.99", "joshua", "pass1"); st != 200 {
			t.Errorf("the owner after the gentle delay: %d, want 200", st)
		}
	})
}

func TestThrottleByAddressAcrossUsers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := New(Options{Store: mustParse(t, fixture)})
		for i := range 4 * DefaultFreeFailures {
			if st, _ := attempt(a, "192.0.2.50", "guess"+strconv.Itoa(i), "x"); st != 401 {
				t.Fatalf("attempt %d: %d", i, st)
			}
		}
		if st, ra := attempt(a, "192.0.2.50", "joshua", "pass1"); st != 429 || ra != "1" {
			t.Errorf("a right password from the spraying address: %d %q, want 429", st, ra)
		}
		if st, _ := attempt(a, "192.0.2.51", "joshua", "pass1"); st != 200 {
			t.Errorf("another address: %d", st)
		}
	})
}

func TestThrottleIPv6GroupsBySlash64(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := New(Options{Store: mustParse(t, fixture)})
		for i := range DefaultFreeFailures {
			r := basicFrom("x", "joshua", "x")
			r.RemoteAddr = "[2001:db8:1:2::" + strconv.Itoa(i+1) + "]:5000"
			do(a, r, "basic", nil)
		}
		r := basicFrom("x", "joshua", "pass1")
		r.RemoteAddr = "[2001:db8:1:2:ffff::1]:5000"
		if w, _, _ := do(a, r, "basic", nil); w.Code != 429 {
			t.Errorf("same /64: %d, want 429", w.Code)
		}
		r.RemoteAddr = "[2001:db8:1:3::1]:5000"
		if w, _, _ := do(a, r, "basic", nil); w.Code != 200 {
			t.Errorf("another /64: %d, want 200", w.Code)
		}
	})
}

func TestThrottleWindowForgets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := New(Options{Store: mustParse(t, fixture)})
		for range DefaultFreeFailures {
			attempt(a, "192.0.2.1", "joshua", "wrong")
		}
		time.Sleep(DefaultFailureWindow)
		for i := range DefaultFreeFailures {
			if st, _ := attempt(a, "192.0.2.1", "joshua", "wrong"); st != 401 {
				t.Fatalf("failure %d after a quiet window: %d, want 401 (free again)", i+1, st)
			}
		}
	})
}

func TestThrottleDelayIsCapped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := New(Options{Store: mustParse(t, fixture), Throttle: ThrottleOptions{MaxDelay: 10 * time.Second}})
		var last string
		for range 60 {
			st, ra := attempt(a, "192.0.2.1", "joshua", "wrong")
			if st == 429 {
				n, _ := strconv.Atoi(ra)
				if n > 10 {
					t.Fatalf("Retry-After %s exceeds MaxDelay", ra)
				}
				time.Sleep(time.Duration(n) * time.Second)
				last = ra
			}
		}
		if last != "10" {
			t.Errorf("the delay never reached the cap: last Retry-After %q", last)
		}
	})
}

func TestThrottleMemoryIsBounded(t *testing.T) {
	a := New(Options{Store: mustParse(t, fixture), Throttle: ThrottleOptions{Capacity: 3}})
	for i := range 10 {
		attempt(a, "192.0.2."+strconv.Itoa(i), "user"+strconv.Itoa(i), "x")
	}
	s := a.Stats()
	if s.TrackedUsers != 3 || s.TrackedClients != 3 || s.TrackedPairs != 3 || s.Evictions != 21 {
		t.Errorf("Stats = %+v, want 3 users, 3 clients, 3 pairs, 21 evictions", s)
	}
}

func TestFormLoginThrottled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := New(Options{Store: mustParse(t, fixture), Sessions: newFakeSessions()})
		for range DefaultFreeFailures {
			if _, st := a.FormLogin(httptest.NewRecorder(), loginRequest("joshua", "wrong")); st != 401 {
				t.Fatalf("status %d", st)
			}
		}
		w := httptest.NewRecorder()
		if _, st := a.FormLogin(w, loginRequest("joshua", "pass1")); st != 429 || w.Code != 429 || w.Header().Get("Retry-After") != "1" {
			t.Fatalf("FormLogin = %d, wrote %d Retry-After %q; want a written 429", st, w.Code, w.Header().Get("Retry-After"))
		}
		time.Sleep(time.Second)
		if user, st := a.FormLogin(httptest.NewRecorder(), loginRequest("joshua", "pass1")); st != 200 || user != "joshua" {
			t.Errorf("after the block: %q %d", user, st)
		}
	})
}
