package auth

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"testing/synctest"
	"time"
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
			step("wrong", 401, "") // free failures
		}
		step("wrong", 401, "") // the sixth: now blocked for 1 s
		step("pass1", 429, "1")
		step("wrong", 429, "1") // blocked attempts are not checked, not counted
		time.Sleep(time.Second)
		step("wrong", 401, "") // the seventh: 2 s
		step("pass1", 429, "2")
		time.Sleep(1500 * time.Millisecond)
		step("pass1", 429, "1") // 0.5 s left, rounded up
		time.Sleep(500 * time.Millisecond)
		step("pass1", 200, "") // recovered; the user's count is reset

		// The address still has its count: one more failure blocks it.
		step("wrong", 401, "")
		if st, _ := attempt(a, ip, "mary", "pass2"); st != 429 {
			t.Errorf("another user from the blocked address: %d, want 429", st)
		}
		// Another address is not blocked, and joshua's count was reset.
		if st, _ := attempt(a, "203.0.113.10", "joshua", "pass1"); st != 200 {
			t.Errorf("joshua from another address: %d, want 200", st)
		}
		s := a.Stats()
		if s.Failures != 8 || s.Throttled != 5 || s.Successes != 2 {
			t.Errorf("Stats = %+v", s)
		}
	})
}

func TestThrottleByAddressAcrossUsers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := New(Options{Store: mustParse(t, fixture)})
		for i := range DefaultFreeFailures + 1 {
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
		for i := range DefaultFreeFailures + 1 {
			r := basicFrom("x", "u"+strconv.Itoa(i), "x")
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
	if s.TrackedUsers != 3 || s.TrackedClients != 3 || s.Evictions != 14 {
		t.Errorf("Stats = %+v, want 3 users, 3 clients, 14 evictions", s)
	}
}

func TestFormLoginThrottled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := New(Options{Store: mustParse(t, fixture), Sessions: newFakeSessions()})
		for range DefaultFreeFailures + 1 {
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
