package httpd

import (
	"bytes"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigilhttp/vigil/governor"
)

// Flight is a handler in flight, as Flights reports it.
type Flight struct {
	ConnID   uint64    // the governed connection's id; 0 if not governed
	Stream   uint64    // the HTTP/2 stream's number on its connection; 0 for HTTP/1
	Request  string    // method and path
	Route    string    // the matched route's prefix
	Start    time.Time // when the handler began (wall clock, for display)
	Deadline time.Time // the handler deadline; zero if none
	Overdue  bool      // it ran HandlerGrace past its deadline; its conn (or stream) was cut
	Stack    string    // its goroutine's stack, captured when it overstayed
}

// flight is the live record behind a Flight. Its times are on the
// governor's clock.
type flight struct {
	connID       uint64
	st           *governor.Stream // HTTP/2: the request's own stream; nil for HTTP/1
	x            *exchange
	method, path string
	route        string
	start        time.Time
	deadline     time.Time   // zero: none
	hijacked     atomic.Bool // the handler hijacked the connection: no longer judged

	overdue    bool    // guarded by flights.mu
	stack      string  // guarded by flights.mu
	prev, next *flight // in the flights list; guarded by flights.mu
}

// String describes the request, for the connection table.
func (f *flight) String() string { return describe(f.method, f.path) }

// Route is the matched route's prefix, for the connection table.
func (f *flight) Route() string { return f.route }

// flights is the handlers in flight: a doubly linked list through the
// flights themselves, so that adding and removing one, on every request,
// costs no hashing and no allocation.
type flights struct {
	mu   sync.Mutex // guards the list (root and the prev and next of its flights), n and the overdue fields of its flights
	root flight     // sentinel: root.next is the first flight added, root.prev the last
	n    int
}

func (f *flights) init() { f.root.prev, f.root.next = &f.root, &f.root }

func (f *flights) add(fl *flight) {
	f.mu.Lock()
	fl.prev, fl.next = f.root.prev, &f.root
	f.root.prev.next = fl
	f.root.prev = fl
	f.n++
	f.mu.Unlock()
}

func (f *flights) remove(fl *flight) {
	f.mu.Lock()
	fl.prev.next, fl.next.prev = fl.next, fl.prev
	fl.prev, fl.next = nil, nil
	f.n--
	f.mu.Unlock()
}

// Flights returns the handlers in flight, oldest first. Start and Deadline
// are wall-clock times, for display.
func (s *Server) Flights() []Flight {
	now, wall := s.gov.Now(), s.gov.Wall()
	s.flights.mu.Lock()
	out := make([]Flight, 0, s.flights.n)
	for fl := s.flights.root.next; fl != &s.flights.root; fl = fl.next {
		f := Flight{ConnID: fl.connID, Request: fl.String(), Route: fl.route,
			Start: wall.Add(fl.start.Sub(now)), Overdue: fl.overdue, Stack: fl.stack}
		if fl.st != nil {
			f.Stream = fl.st.ID()
		}
		if !fl.deadline.IsZero() {
			f.Deadline = wall.Add(fl.deadline.Sub(now))
		}
		out = append(out, f)
	}
	s.flights.mu.Unlock()
	slices.SortFunc(out, func(a, b Flight) int { return a.Start.Compare(b.Start) })
	return out
}

// watchInterval is how often the watchdog looks for overdue handlers.
const watchInterval = 250 * time.Millisecond

// watch runs until stop is closed, reporting every handler still running
// HandlerGrace after its deadline: its stack is logged and its connection
// (HTTP/1) or stream (HTTP/2) cut, so the peer is not left waiting and the
// stuck goroutine is on record. One goroutine for the whole server,
// instead of a timer per request.
func (s *Server) watch(stop <-chan struct{}) {
	t := time.NewTicker(watchInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			now := s.gov.Now()
			if late := s.overdue(now); len(late) > 0 {
				s.overstayed(late)
			}
			s.expireStreams(now)
		}
	}
}

// overdue marks and returns the flights not yet reported that are past
// deadline and grace and still working without moving data of their own.
// A handler blocked on its peer, or whose request moved a byte within
// HandlerGrace, is transferring, not stuck: the governor's stall, rate and
// cap rules bound that, so a slow download is not cut by the handler
// timeout (a total deadline). On HTTP/2 each request is judged by its own
// stream: another stream's bytes on the same connection prove nothing. A
// hijacked connection is its handler's, bounded by the stall rule on
// writes and by the deadlines the handler sets on reads: never judged here.
func (s *Server) overdue(now time.Time) []*flight {
	var out []*flight
	s.flights.mu.Lock()
	defer s.flights.mu.Unlock()
	for fl := s.flights.root.next; fl != &s.flights.root; fl = fl.next {
		if fl.overdue || fl.deadline.IsZero() || now.Sub(fl.deadline) < HandlerGrace || fl.hijacked.Load() {
			continue
		}
		if st := fl.st; st != nil {
			if st.Busy() || now.Sub(st.LastProgress()) < HandlerGrace {
				continue
			}
		} else if c := s.gov.Conn(fl.connID); c != nil {
			switch c.Phase() {
			case governor.PhaseBody, governor.PhaseWrite:
				continue
			}
			if now.Sub(c.LastProgress()) < HandlerGrace {
				continue
			}
		}
		fl.overdue = true
		out = append(out, fl)
	}
	return out
}

// overstayed reports the flights overdue found: their stacks, from one
// goroutine profile for all of them, are logged and kept, and their
// connections (or streams) cut.
func (s *Server) overstayed(late []*flight) {
	ids := make([]uint64, len(late))
	for i, fl := range late {
		ids[i] = fl.connID
	}
	stacks := goroutineStacks(ids)
	now := s.gov.Now()
	for i, fl := range late {
		s.flights.mu.Lock()
		fl.stack = stacks[i]
		s.flights.mu.Unlock()
		s.log.Warn("httpd: handler overstayed its deadline; connection cut",
			"conn_id", fl.connID, "request", fl.String(), "elapsed", now.Sub(fl.start).Round(time.Millisecond),
			"stack", stacks[i])
		if fl.st != nil {
			fl.x.abortStream()
			continue
		}
		if fl.connID != 0 {
			if c := s.gov.Conn(fl.connID); c != nil {
				c.CloseFor(governor.CauseHandlerTimeout)
			}
		}
	}
}

// abortStream resets the HTTP/2 stream of a handler that overstayed,
// unless the handler has returned meanwhile (its writer is then gone).
func (x *exchange) abortStream() {
	x.reset(governor.CauseHandlerTimeout, governor.PhaseHandler)
}

// expireStreams resets every HTTP/2 stream whose read or write under way
// has overrun its rule (stall, minimum rate, transfer cap): the peer gets
// RST_STREAM and the handler's read or write fails, while the
// connection's other streams go on. The watchdog's tick (watchInterval)
// is the precision; a stream is never given a deadline of its own, which
// HTTP/2 would enforce between reads and writes too.
func (s *Server) expireStreams(now time.Time) {
	type expiry struct {
		x     *exchange
		cause governor.Cause
		phase governor.Phase
	}
	var due []expiry
	s.flights.mu.Lock()
	for fl := s.flights.root.next; fl != &s.flights.root; fl = fl.next {
		if fl.st == nil {
			continue
		}
		if cause, phase, ok := fl.st.Expired(now); ok {
			due = append(due, expiry{fl.x, cause, phase})
		}
	}
	s.flights.mu.Unlock()
	for _, e := range due {
		e.x.reset(e.cause, e.phase)
	}
}

// Stack returns the goroutine stacks of the handlers running on connection
// connID (and of goroutines they started), for diagnosis.
func Stack(connID uint64) string { return goroutineStacks([]uint64{connID})[0] }

// goroutineStacks returns, for each connection id, the stacks of the
// goroutines labelled with it (its handlers', and any they started), from
// one read of the runtime's goroutine profile.
func goroutineStacks(connIDs []uint64) []string {
	var buf bytes.Buffer
	pprof.Lookup("goroutine").WriteTo(&buf, 1)
	recs := strings.Split(buf.String(), "\n\n")
	out := make([]string, len(connIDs))
	for i, id := range connIDs {
		want := `"` + labelKey + `":"` + strconv.FormatUint(id, 10) + `"`
		var got []string
		for _, rec := range recs {
			if strings.Contains(rec, want) {
				got = append(got, strings.TrimSpace(rec))
			}
		}
		out[i] = strings.Join(got, "\n\n")
	}
	return out
}
