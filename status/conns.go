package status

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/vigilhttp/vigil/governor"
)

// Report is the document of GET /conns and of each "conns" event of
// GET /status/events. Its JSON field names are a contract: the CLI ("vigil
// conns") and scripts read them.
type Report struct {
	Now   time.Time `json:"now"`   // when the table was read (RFC 3339, nanoseconds)
	Conns []Row     `json:"conns"` // open connections, longest without progress first
	Stats Counters  `json:"stats"`
}

// Row is one open connection of a Report.
type Row struct {
	ID                   uint64  `json:"id"`
	Remote               string  `json:"remote"`
	Local                string  `json:"local"`
	Phase                string  `json:"phase"`             // governor.Phase name
	Request              string  `json:"request,omitempty"` // e.g. "GET /big.bin"; omitted when none
	Route                string  `json:"route,omitempty"`   // the matched route's prefix; omitted when none
	Requests             int64   `json:"requests"`          // requests begun on the connection
	Streams              int64   `json:"streams,omitempty"` // HTTP/2 streams in flight
	BytesIn              int64   `json:"bytes_in"`
	BytesOut             int64   `json:"bytes_out"`
	AgeSeconds           float64 `json:"age_seconds"`
	SinceProgressSeconds float64 `json:"since_progress_seconds"` // since a byte last moved or was acknowledged
	// Deadline is when the governing rule armed last closes the connection,
	// DeadlineInSeconds how far that is from Now (negative: passed) and Rule
	// the cause it closes for; all three omitted when no rule was armed.
	Deadline          *time.Time `json:"deadline,omitempty"`
	DeadlineInSeconds *float64   `json:"deadline_in_seconds,omitempty"`
	Rule              string     `json:"rule,omitempty"`
	// Kernel is the kernel's view (Linux TCP); omitted elsewhere.
	Kernel *Kernel `json:"tcp_info,omitempty"`
	// Stuck and Explain are Stuck's and Explain's verdicts on the row: the
	// cause in words, so that every client shows the same diagnosis.
	Stuck   bool   `json:"stuck"`
	Explain string `json:"explain,omitempty"`
	// StreamRows are the open streams of a multiplexed (HTTP/2)
	// connection, each with its own phase, bytes and rule.
	StreamRows []StreamRow `json:"stream_rows,omitempty"`
	// HeldBytes is, for an alive peer with its window closed, what it may
	// hold unread (governor.ConnInfo.Held); omitted otherwise.
	HeldBytes int64 `json:"held_bytes,omitempty"`
	// Socket is the connection's WebSocket or event stream
	// (governor.ConnInfo.Socket); omitted when none.
	Socket *SocketRow `json:"socket,omitempty"`
}

// SocketRow is the WebSocket or event stream of a Row: its messages, the
// last pong's round trip and how long the peer has been silent.
type SocketRow struct {
	Kind              string  `json:"kind"` // "websocket" or "stream"
	MessagesIn        int64   `json:"messages_in"`
	MessagesOut       int64   `json:"messages_out"`
	PongRTTSeconds    float64 `json:"pong_rtt_seconds"`    // 0 before the first pong
	SincePongSeconds  float64 `json:"since_pong_seconds"`  // or since it opened
	SinceHeardSeconds float64 `json:"since_heard_seconds"` // since any frame from the peer
	PingWaitSeconds   float64 `json:"ping_wait_seconds"`   // the unanswered ping's wait; 0 none
}

// StreamRow is one HTTP/2 stream of a Row.
type StreamRow struct {
	ID                   uint64   `json:"id"` // the stream's number on its connection, from 1
	Request              string   `json:"request,omitempty"`
	Route                string   `json:"route,omitempty"`
	Phase                string   `json:"phase"`
	BytesIn              int64    `json:"bytes_in"`
	BytesOut             int64    `json:"bytes_out"`
	AgeSeconds           float64  `json:"age_seconds"`
	SinceProgressSeconds float64  `json:"since_progress_seconds"`
	DeadlineInSeconds    *float64 `json:"deadline_in_seconds,omitempty"`
	Rule                 string   `json:"rule,omitempty"`
	Stuck                bool     `json:"stuck"`
	Explain              string   `json:"explain,omitempty"`
}

// Kernel is the kernel's view of a connection in a Row: governor.TCPInfo
// with durations in milliseconds.
type Kernel struct {
	State         string  `json:"state"`
	RTTMillis     float64 `json:"rtt_ms"`
	RTTVarMillis  float64 `json:"rttvar_ms"`
	Unacked       uint32  `json:"unacked"`       // segments sent and not acknowledged
	UnackedBytes  uint32  `json:"unacked_bytes"` // bytes sent and not acknowledged
	Retransmits   uint8   `json:"retransmits"`
	Probes        uint8   `json:"probes"`
	TotalRetrans  uint32  `json:"total_retrans"`
	Lost          uint32  `json:"lost"`
	NotSent       uint32  `json:"notsent_bytes"`
	SendWindow    uint32  `json:"send_window"`
	BytesAcked    uint64  `json:"bytes_acked"`
	BytesReceived uint64  `json:"bytes_received"`
	LastDataSent  int64   `json:"last_data_sent_ms"`
	LastDataRecv  int64   `json:"last_data_recv_ms"`
	LastAckRecv   int64   `json:"last_ack_recv_ms"`
}

// Counters are the Table's counters in a Report.
type Counters struct {
	Open     int               `json:"open"`
	Accepted uint64            `json:"accepted"`
	Refused  uint64            `json:"refused"` // refused at a connection cap
	Closed   map[string]uint64 `json:"closed"`  // closes by cause name; only non-zero causes
	// Resets counts HTTP/2 streams reset by a rule, by cause name; only
	// non-zero causes, omitted when none.
	Resets map[string]uint64 `json:"stream_resets,omitempty"`
}

// read reads the Table: its rows, stuck first, and its counters.
func (s *Server) read() ([]governor.ConnInfo, governor.Stats, time.Time) {
	var infos []governor.ConnInfo
	var st governor.Stats
	if s.opts.Table != nil {
		infos = s.opts.Table.Snapshot()
		st = s.opts.Table.Stats()
	}
	sortStuckFirst(infos)
	now := time.Now()
	if s.opts.Table != nil {
		now = s.opts.Table.Wall()
	}
	return infos, st, now
}

// newReport returns the Report of what read returned.
func newReport(infos []governor.ConnInfo, st governor.Stats, now time.Time) Report {
	rep := Report{
		Now:   now,
		Conns: make([]Row, len(infos)),
		Stats: Counters{Open: st.Open, Accepted: st.Accepted, Refused: st.Refused, Closed: map[string]uint64{}},
	}
	for i, c := range infos {
		rep.Conns[i] = NewRow(c, now)
	}
	for cause, n := range st.Closed {
		if n > 0 {
			rep.Stats.Closed[cause.String()] = n
		}
	}
	for cause, n := range st.Resets {
		if rep.Stats.Resets == nil {
			rep.Stats.Resets = map[string]uint64{}
		}
		rep.Stats.Resets[cause.String()] = n
	}
	return rep
}

// sortStuckFirst orders rows by time without progress, longest first, then
// by id.
func sortStuckFirst(cs []governor.ConnInfo) {
	slices.SortStableFunc(cs, func(a, b governor.ConnInfo) int {
		if c := cmp.Compare(b.SinceProgress, a.SinceProgress); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
}

// NewRow returns c as a Report shows it; now is the wall-clock time of the
// report (the deadline's distance is the governor's, on its monotonic
// clock).
func NewRow(c governor.ConnInfo, now time.Time) Row {
	r := Row{
		ID:                   c.ID,
		Remote:               c.Remote,
		Local:                c.Local,
		Phase:                c.Phase.String(),
		Request:              c.Request,
		Route:                c.Route,
		Requests:             c.Requests,
		Streams:              c.Streams,
		BytesIn:              c.BytesIn,
		BytesOut:             c.BytesOut,
		AgeSeconds:           c.Age.Seconds(),
		SinceProgressSeconds: c.SinceProgress.Seconds(),
		HeldBytes:            c.Held,
		Socket:               socketRow(c.Socket),
	}
	if !c.Deadline.IsZero() {
		d := c.Deadline
		in := c.DeadlineIn.Seconds()
		if c.DeadlineIn == 0 {
			in = d.Sub(now).Seconds()
		}
		r.Deadline, r.DeadlineInSeconds, r.Rule = &d, &in, c.Rule.String()
	}
	for _, st := range c.StreamRows {
		sr := StreamRow{
			ID:                   st.ID,
			Request:              st.Request,
			Route:                st.Route,
			Phase:                st.Phase.String(),
			BytesIn:              st.BytesIn,
			BytesOut:             st.BytesOut,
			AgeSeconds:           st.Age.Seconds(),
			SinceProgressSeconds: st.SinceProgress.Seconds(),
			Stuck:                StreamStuck(st),
			Explain:              ExplainStream(st),
		}
		if st.Rule != governor.CauseNone {
			in := st.DeadlineIn.Seconds()
			sr.DeadlineInSeconds, sr.Rule = &in, st.Rule.String()
		}
		r.StreamRows = append(r.StreamRows, sr)
	}
	if k := c.Kernel; k != nil {
		r.Kernel = &Kernel{
			State:         k.State,
			RTTMillis:     millis(k.RTT),
			RTTVarMillis:  millis(k.RTTVar),
			Unacked:       k.Unacked,
			UnackedBytes:  k.UnackedBytes,
			Retransmits:   k.Retransmits,
			Probes:        k.Probes,
			TotalRetrans:  k.TotalRetrans,
			Lost:          k.Lost,
			NotSent:       k.NotSent,
			SendWindow:    k.SendWindow,
			BytesAcked:    k.BytesAcked,
			BytesReceived: k.BytesRecv,
			LastDataSent:  k.LastDataSent.Milliseconds(),
			LastDataRecv:  k.LastDataRecv.Milliseconds(),
			LastAckRecv:   k.LastAckRecv.Milliseconds(),
		}
	}
	r.Stuck, r.Explain = Stuck(c), Explain(c)
	return r
}

// ConnInfo returns the row as a governor.ConnInfo, as far as the row tells
// (times are rebuilt from now), so that a client of GET /conns can pass it
// to Explain and Stuck.
func (r Row) ConnInfo(now time.Time) governor.ConnInfo {
	age := seconds(r.AgeSeconds)
	since := seconds(r.SinceProgressSeconds)
	c := governor.ConnInfo{
		ID:            r.ID,
		Remote:        r.Remote,
		Local:         r.Local,
		Phase:         phaseNamed(r.Phase),
		Request:       r.Request,
		Route:         r.Route,
		Requests:      r.Requests,
		BytesIn:       r.BytesIn,
		BytesOut:      r.BytesOut,
		Start:         now.Add(-age),
		Age:           age,
		LastProgress:  now.Add(-since),
		SinceProgress: since,
		Rule:          causeNamed(r.Rule),
	}
	if r.Deadline != nil {
		c.Deadline = *r.Deadline
	}
	if r.DeadlineInSeconds != nil {
		c.DeadlineIn = seconds(*r.DeadlineInSeconds)
	}
	for _, sr := range r.StreamRows {
		si := governor.StreamInfo{ID: sr.ID, Request: sr.Request, Route: sr.Route, Phase: phaseNamed(sr.Phase),
			BytesIn: sr.BytesIn, BytesOut: sr.BytesOut, Age: seconds(sr.AgeSeconds),
			SinceProgress: seconds(sr.SinceProgressSeconds), Rule: causeNamed(sr.Rule)}
		if sr.DeadlineInSeconds != nil {
			si.DeadlineIn = seconds(*sr.DeadlineInSeconds)
		}
		c.StreamRows = append(c.StreamRows, si)
	}
	c.Streams = int64(len(r.StreamRows))
	c.Held = r.HeldBytes
	if so := r.Socket; so != nil {
		d := func(v float64) time.Duration { return time.Duration(v * float64(time.Second)) }
		c.Socket = &governor.SocketInfo{Kind: so.Kind, MessagesIn: so.MessagesIn, MessagesOut: so.MessagesOut,
			PongRTT: d(so.PongRTTSeconds), SincePong: d(so.SincePongSeconds), SinceHeard: d(so.SinceHeardSeconds),
			PingWait: d(so.PingWaitSeconds)}
	}
	if k := r.Kernel; k != nil {
		c.Kernel = &governor.TCPInfo{
			State:        k.State,
			RTT:          time.Duration(k.RTTMillis * float64(time.Millisecond)),
			RTTVar:       time.Duration(k.RTTVarMillis * float64(time.Millisecond)),
			Unacked:      k.Unacked,
			UnackedBytes: k.UnackedBytes,
			Retransmits:  k.Retransmits,
			Probes:       k.Probes,
			TotalRetrans: k.TotalRetrans,
			Lost:         k.Lost,
			NotSent:      k.NotSent,
			SendWindow:   k.SendWindow,
			BytesAcked:   k.BytesAcked,
			BytesRecv:    k.BytesReceived,
			LastDataSent: time.Duration(k.LastDataSent) * time.Millisecond,
			LastDataRecv: time.Duration(k.LastDataRecv) * time.Millisecond,
			LastAckRecv:  time.Duration(k.LastAckRecv) * time.Millisecond,
		}
	}
	return c
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// phases lists the phases an open connection can be in.
func phases() []governor.Phase {
	var ps []governor.Phase
	for p := governor.PhaseHandshake; p < governor.PhaseClosed; p++ {
		ps = append(ps, p)
	}
	return ps
}

func phaseNamed(name string) governor.Phase {
	for p := governor.PhaseHandshake; p <= governor.PhaseClosed; p++ {
		if p.String() == name {
			return p
		}
	}
	return governor.PhaseClosed + 1 // "unknown"
}

func causeNamed(name string) governor.Cause {
	for _, c := range governor.Causes() {
		if c.String() == name {
			return c
		}
	}
	return governor.CauseNone
}

func (s *Server) serveConns(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, newReport(s.read()))
}

// killReply is the body of a successful POST /conns/{id}/kill.
type killReply struct {
	Killed bool `json:"killed"`
}

func (s *Server) serveKill(w http.ResponseWriter, r *http.Request) {
	raw := r.PathValue("id")
	id, err := strconv.ParseUint(raw, 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("bad connection id %q", raw))
		return
	}
	var c *governor.Conn
	if s.opts.Table != nil {
		c = s.opts.Table.Conn(id)
	}
	if c == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no open connection %d", id))
		return
	}
	phase := c.Phase()
	if !s.opts.Table.Kill(id) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no open connection %d", id))
		return
	}
	s.log.Info("status: conn killed", "conn_id", id, "remote", c.RemoteAddr().String(),
		"phase", phase.String(), "by", r.RemoteAddr, "user_agent", r.UserAgent())
	writeJSON(w, http.StatusOK, killReply{Killed: true})
}

func socketRow(so *governor.SocketInfo) *SocketRow {
	if so == nil {
		return nil
	}
	return &SocketRow{Kind: so.Kind, MessagesIn: so.MessagesIn, MessagesOut: so.MessagesOut,
		PongRTTSeconds: so.PongRTT.Seconds(), SincePongSeconds: so.SincePong.Seconds(),
		SinceHeardSeconds: so.SinceHeard.Seconds(), PingWaitSeconds: so.PingWait.Seconds()}
}
