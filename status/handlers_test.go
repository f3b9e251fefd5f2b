package status

import (
	"net/http"
	"testing"
	"time"
)

func TestHandlers(t *testing.T) {
	now := time.Now()
	inFlight := func() []Handler {
		return []Handler{
			{ConnID: 1, Request: "GET /fast", Route: "/fast", Start: now.Add(-time.Second)},
			{ConnID: 2, Request: "GET /slow", Route: "/slow", Start: now.Add(-10 * time.Second),
				Deadline: now.Add(-time.Second), Overdue: true},
			{ConnID: 3, Request: "POST /own", Route: "/own", Start: now.Add(-20 * time.Second), Stack: "own stack"},
		}
	}
	stack := func(id uint64) string { return "stack of conn " + itoa(id) }
	type row struct {
		ConnID         uint64 `json:"conn_id"`
		Request, Route string
		ElapsedSeconds float64 `json:"elapsed_seconds"`
		Deadline       *time.Time
		Overdue        bool
		Stack          *string
	}
	tests := []struct {
		name   string
		opts   Options
		query  string
		stacks map[uint64]string // conn id → stack; absent: no stack
		n      int
	}{
		{"stacks come only for handlers past the default 5s threshold", Options{Handlers: inFlight, Stack: stack}, "",
			map[uint64]string{2: "stack of conn 2", 3: "own stack"}, 3},
		{"a shorter threshold brings every stack", Options{Handlers: inFlight, Stack: stack}, "?threshold=500ms",
			map[uint64]string{1: "stack of conn 1", 2: "stack of conn 2", 3: "own stack"}, 3},
		{"a longer threshold brings none", Options{Handlers: inFlight, Stack: stack}, "?threshold=1m", nil, 3},
		{"without a Stack func only the handlers' own stacks show", Options{Handlers: inFlight}, "",
			map[uint64]string{3: "own stack"}, 3},
		{"without a Handlers func the list is empty", Options{}, "", nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var doc struct {
				Now      time.Time
				Handlers []row
			}
			decode(t, do(t, New(tc.opts), "GET", "/handlers"+tc.query), http.StatusOK, &doc)
			if doc.Handlers == nil || len(doc.Handlers) != tc.n {
				t.Fatalf("handlers %v, want %d", doc.Handlers, tc.n)
			}
			for i, h := range doc.Handlers {
				if i > 0 && h.ElapsedSeconds > doc.Handlers[i-1].ElapsedSeconds {
					t.Errorf("handlers not longest first: %v", doc.Handlers)
				}
				want, ok := tc.stacks[h.ConnID]
				switch {
				case ok && (h.Stack == nil || *h.Stack != want):
					t.Errorf("conn %d: stack %v, want %q", h.ConnID, h.Stack, want)
				case !ok && h.Stack != nil:
					t.Errorf("conn %d: stack %q, want none", h.ConnID, *h.Stack)
				}
				if (h.Deadline != nil) != (h.ConnID == 2) || h.Overdue != (h.ConnID == 2) {
					t.Errorf("conn %d: deadline %v overdue %v; only conn 2 has them", h.ConnID, h.Deadline, h.Overdue)
				}
			}
			if tc.n == 3 {
				if h := doc.Handlers[2]; h.ConnID != 1 || h.Request != "GET /fast" || h.Route != "/fast" ||
					h.ElapsedSeconds < 1 || h.ElapsedSeconds > 60 {
					t.Errorf("last handler %+v, want conn 1 GET /fast on /fast, about 1s", h)
				}
			}
		})
	}

	for _, q := range []string{"?threshold=soon", "?threshold=-1s", "?threshold=5"} {
		t.Run("a bad threshold "+q[len("?threshold="):]+" is 400", func(t *testing.T) {
			wantError(t, do(t, New(Options{Handlers: inFlight}), "GET", "/handlers"+q), http.StatusBadRequest, "bad threshold")
		})
	}
}
