package auth

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fixture is GoAhead's test/auth.txt (joshua/pass1, mary/pass2, …, realm
// example.com) plus a user in each other format. Every password below is
// pass1 unless noted; the GoAhead-made lines come from GoAhead 6.1.0 tools
// (see TestBF1MatchesGoAhead).
const fixture = `#
#   auth.txt - Authorization data
#

role name=person abilities=breathe
role name=user abilities=view,person
role name=administrator abilities=user,manage

user name=julie password=9d8873a123eb506e7f8e84d1f2a26916 roles=user
user name=joshua password=2fd6e47ff9bb70c0465fd2f5c8e5305e roles=administrator,purchase
user name=mary password=5b90553bea8ba3686f4239d62801f0f3 roles=user
user name=peter password=7cdba57892649fd95a540683fdf8fba6 roles=user

# vigil's formats and GoAhead's BF1
user name=brenda password=$2b$04$abcdefghijklmnopqrstuuYBrRGzh42Kt0RScCct/7ghURT3A8KrC roles=administrator
user name=bob password=BF1:00128:abssBp9Dyr1cV5q1:/tBYVxaBkXbPIZWxOyLtyJJ6JjUoyryA roles=user
user name=carl password=BF1:00128:QmZ0Tx2pLk7sWc4R:QNEubXKBVONJXpM3fIbDirHR5VacOBD3 roles=user
user name=sam password=sha256:d37bca3f10b2a10bdecf0b9165b87f01cb8d9408a604f9dda1f0e51da1da43b8 roles=user
route uri=/auth/basic/ auth=basic abilities=view
`

func mustParse(t testing.TB, text string) *Store {
	t.Helper()
	s, err := Parse("auth.txt", strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// clock is a settable clock for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeSessions is a Sessions keyed by a "sid" cookie.
type fakeSessions struct {
	mu     sync.Mutex
	users  map[string]string
	next   int
	err    error
	logins []string
}

func newFakeSessions() *fakeSessions { return &fakeSessions{users: map[string]string{}} }

func (f *fakeSessions) Login(w http.ResponseWriter, r *http.Request, user string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	if c, err := r.Cookie("sid"); err == nil {
		delete(f.users, c.Value) // renew: the old id dies
	}
	f.next++
	id := "s" + strings.Repeat("x", f.next)
	f.users[id] = user
	f.logins = append(f.logins, user)
	http.SetCookie(w, &http.Cookie{Name: "sid", Value: id})
	return nil
}

func (f *fakeSessions) Logout(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, err := r.Cookie("sid"); err == nil {
		delete(f.users, c.Value)
	}
}

func (f *fakeSessions) User(r *http.Request) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := r.Cookie("sid")
	if err != nil {
		return "", false
	}
	u, ok := f.users[c.Value]
	return u, ok
}

// logBuffer is a concurrency-safe log sink.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newLogger() (*slog.Logger, *logBuffer) {
	lb := &logBuffer{}
	return slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug})), lb
}
