package faultkit

import (
	"bufio"
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// replayFiles holds the bad-input replay set, one case per file (see
// ParseReplay for the format).
//
//go:embed replay/*.txt
var replayFiles embed.FS

const (
	// ReplayTimeout bounds one replay case.
	ReplayTimeout = 5 * time.Second
	// maxReplayRequest caps a decoded replay request, after # repeat.
	maxReplayRequest = 1 << 20
)

// ReplayCase is one bad input of the replay set, its acceptable verdicts
// and, after a run, the verdict seen.
type ReplayCase struct {
	Name   string `json:"name"`
	Source string `json:"source"`
	Expect string `json:"expect"` // acceptable verdicts, "|"-separated
	Got    string `json:"got"`    // a status code (+close if closed after it), "close" or "timeout"
	OK     bool   `json:"ok"`
	req    []byte
}

// Request returns the case's request as sent, "{host}" not yet replaced.
func (c ReplayCase) Request() []byte { return c.req }

// LoadReplay parses every case of the built-in replay set (path
// traversal, framing, oversized and malformed requests; the files of
// faultkit/replay), sorted by file name.
func LoadReplay() ([]ReplayCase, error) {
	entries, err := fs.ReadDir(replayFiles, "replay")
	if err != nil {
		return nil, err
	}
	var cases []ReplayCase
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".txt") {
			continue
		}
		b, err := replayFiles.ReadFile("replay/" + e.Name())
		if err != nil {
			return nil, err
		}
		c, err := ParseReplay(string(b))
		if err != nil {
			return nil, fmt.Errorf("faultkit: replay %s: %w", e.Name(), err)
		}
		cases = append(cases, c)
	}
	return cases, nil
}

// ParseReplay parses one case: "# key: value" header lines (name, source,
// expect, repeat), a blank line, then the request with its line breaks
// dropped and the escapes \r \n \t \\ \xHH decoded. "# repeat: N TOKEN"
// replaces each "{repeat}" in the request with TOKEN repeated N times;
// "{host}" is replaced with the target's host:port when it is sent.
// expect lists the acceptable verdicts, "|"-separated: status codes,
// "close" and "not-5xx" (see Accepts).
func ParseReplay(text string) (ReplayCase, error) {
	var c ReplayCase
	head, body, ok := strings.Cut(text, "\n\n")
	if !ok {
		return c, errors.New("no blank line after the header")
	}
	repeat := ""
	for _, line := range strings.Split(head, "\n") {
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "#"), ":")
		if !strings.HasPrefix(line, "#") || !ok {
			return c, fmt.Errorf("header line %q is not \"# key: value\"", line)
		}
		v = strings.TrimSpace(v)
		switch strings.TrimSpace(k) {
		case "name":
			c.Name = v
		case "source":
			c.Source = v
		case "expect":
			c.Expect = v
		case "repeat":
			ns, tok, _ := strings.Cut(v, " ")
			n, err := strconv.Atoi(ns)
			if err != nil || n < 0 || n > maxReplayRequest || n*len(tok) > maxReplayRequest {
				return c, fmt.Errorf("bad repeat %q", v)
			}
			repeat = strings.Repeat(tok, n)
		}
	}
	if c.Name == "" || c.Expect == "" {
		return c, errors.New("need # name and # expect")
	}
	for _, v := range strings.Split(c.Expect, "|") {
		if _, err := strconv.Atoi(v); err != nil && v != "close" && v != "not-5xx" {
			return c, fmt.Errorf("bad expect verdict %q", v)
		}
	}
	body = strings.ReplaceAll(body, "\n", "")
	body = strings.ReplaceAll(body, "{repeat}", repeat)
	var out []byte
	for i := 0; i < len(body); i++ {
		if body[i] != '\\' || i+1 == len(body) {
			out = append(out, body[i])
			continue
		}
		i++
		switch body[i] {
		case 'r':
			out = append(out, '\r')
		case 'n':
			out = append(out, '\n')
		case 't':
			out = append(out, '\t')
		case '\\':
			out = append(out, '\\')
		case 'x':
			if i+2 >= len(body) {
				return c, errors.New(`truncated \x escape`)
			}
			b, err := strconv.ParseUint(body[i+1:i+3], 16, 8)
			if err != nil {
				return c, fmt.Errorf(`bad \x escape %q`, body[i-1:i+3])
			}
			out = append(out, byte(b))
			i += 2
		default:
			return c, fmt.Errorf(`unknown escape \%c`, body[i])
		}
	}
	if len(out) > maxReplayRequest {
		return c, fmt.Errorf("request of %d bytes exceeds %d", len(out), maxReplayRequest)
	}
	c.req = out
	return c, nil
}

// Accepts reports whether verdict got ("close", "timeout", a status code,
// or a status code then "+close" when the target closed the connection
// after answering) is one of the case's acceptable verdicts. "close"
// accepts any close; "not-5xx" accepts any status below 500 and a close.
func (c ReplayCase) Accepts(got string) bool {
	code, closed := strings.CutSuffix(got, "+close")
	for _, v := range strings.Split(c.Expect, "|") {
		switch {
		case v == got, v == code:
			return true
		case v == "close" && closed:
			return true
		case v == "not-5xx":
			n, err := strconv.Atoi(code)
			if got == "close" || err == nil && n < 500 {
				return true
			}
		}
	}
	return false
}

// Replay sends case c on a fresh connection to tg and returns the verdict:
// the status code, "close" if the target closed or reset before a status
// line, "timeout" if neither happened within ReplayTimeout, or "dial
// error".
func (tg Target) Replay(ctx context.Context, c ReplayCase) string {
	ctx, cancel := context.WithTimeout(ctx, ReplayTimeout)
	defer cancel()
	conn, err := tg.Dial(ctx, DialOptions{})
	if err != nil {
		return "dial error"
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	dl, _ := ctx.Deadline()
	conn.SetDeadline(dl)
	// Write and read at once: a server may answer and close before it has
	// read a long request.
	wg.Go(func() { conn.Write(bytes.ReplaceAll(c.req, []byte("{host}"), []byte(tg.Host))) })
	br := bufio.NewReaderSize(conn, 4096)
	code, err := readStatus(br)
	switch {
	case err == nil && !slices.Contains(strings.Split(c.Expect, "|"), "close"):
		return strconv.Itoa(code)
	case err == nil:
		// Did the target close after answering? Read on briefly.
		conn.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		if _, err := io.Copy(io.Discard, io.LimitReader(br, 1<<20)); err == nil {
			return strconv.Itoa(code) + "+close"
		}
		return strconv.Itoa(code)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "timeout"
	default:
		return "close"
	}
}

// replayAll runs every case of the replay set against tg, one after the
// other until ctx ends; Held is the slowest case, Ended open if one timed
// out.
func (tg Target) replayAll(ctx context.Context) (Outcome, error) {
	var out Outcome
	cases, err := LoadReplay()
	if err != nil {
		return out, err
	}
	failed := 0
	var slowest time.Duration
	out.Ended = EndedFIN
	for i := range cases {
		if ctx.Err() != nil {
			cases[i].Got = "not run (max-wait)"
			failed++
			continue
		}
		start := time.Now()
		cases[i].Got = tg.Replay(ctx, cases[i])
		slowest = max(slowest, time.Since(start))
		cases[i].OK = cases[i].Accepts(cases[i].Got)
		if !cases[i].OK {
			failed++
		}
		if cases[i].Got == "timeout" {
			out.Ended = EndedOpen
		}
	}
	out.Held = slowest
	out.Cases = cases
	out.Detail = fmt.Sprintf("%d of %d cases met their verdict", len(cases)-failed, len(cases))
	if failed > 0 {
		out.Problem = fmt.Sprintf("%d replay verdicts not met", failed)
	}
	return out, nil
}
