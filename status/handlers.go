package status

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// Handler is an in-flight HTTP handler as the HTTP layer reports it.
type Handler struct {
	ConnID   uint64    // the governed connection it serves
	Request  string    // method and path, e.g. "GET /big.bin"; never secrets
	Route    string    // the route pattern that matched
	Start    time.Time // when the handler started
	Deadline time.Time // the handler's deadline; zero if none
	Overdue  bool      // it runs past its deadline
	Stack    string    // its goroutine stack, if the HTTP layer has it already; else Options.Stack is asked
}

// DefaultStackThreshold is the default ?threshold= of GET /handlers: the
// stacks of handlers running longer are included.
const DefaultStackThreshold = 5 * time.Second

// handlerList is the document of GET /handlers.
type handlerList struct {
	Now      time.Time    `json:"now"`
	Handlers []handlerRow `json:"handlers"`
}

type handlerRow struct {
	ConnID         uint64     `json:"conn_id"`
	Request        string     `json:"request"`
	Route          string     `json:"route"`
	ElapsedSeconds float64    `json:"elapsed_seconds"`
	Deadline       *time.Time `json:"deadline,omitempty"`
	Overdue        bool       `json:"overdue"`
	Stack          string     `json:"stack,omitempty"`
}

func (s *Server) serveHandlers(w http.ResponseWriter, r *http.Request) {
	threshold := DefaultStackThreshold
	if q := r.URL.Query().Get("threshold"); q != "" {
		d, err := time.ParseDuration(q)
		if err != nil || d < 0 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("bad threshold %q: want a duration such as 5s", q))
			return
		}
		threshold = d
	}
	var hs []Handler
	if s.opts.Handlers != nil {
		hs = s.opts.Handlers()
	}
	now := time.Now()
	list := handlerList{Now: now, Handlers: make([]handlerRow, 0, len(hs))}
	for _, h := range hs {
		row := handlerRow{
			ConnID:         h.ConnID,
			Request:        h.Request,
			Route:          h.Route,
			ElapsedSeconds: now.Sub(h.Start).Seconds(),
			Overdue:        h.Overdue,
		}
		if !h.Deadline.IsZero() {
			d := h.Deadline
			row.Deadline = &d
		}
		if now.Sub(h.Start) > threshold {
			row.Stack = h.Stack
			if row.Stack == "" && s.opts.Stack != nil {
				row.Stack = s.opts.Stack(h.ConnID)
			}
		}
		list.Handlers = append(list.Handlers, row)
	}
	slices.SortStableFunc(list.Handlers, func(a, b handlerRow) int {
		return cmp.Compare(b.ElapsedSeconds, a.ElapsedSeconds)
	})
	writeJSON(w, http.StatusOK, list)
}
