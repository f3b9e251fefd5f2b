package faultkit

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Bounds of the response reader.
const (
	maxHead        = 64 << 10 // bytes of one response head
	maxLine        = 4 << 10  // bytes of one chunk-size or trailer line
	maxHeaderLines = 256      // header or trailer lines
	maxInterim     = 8        // 1xx responses before the final one
	maxChunks      = 1 << 20  // chunks of one chunked body
)

// head is what readResponse needs from a response head.
type head struct {
	status  int
	length  int64 // Content-Length, or -1 when absent
	chunked bool
	close   bool // the server will close after this response
}

// readResponse reads one HTTP/1.x response from br, skipping interim (1xx)
// responses, and discards its body. It returns the final status code and
// whether the server will close the connection after it. A body delimited
// by the close itself is not read: readResponse returns closing true and
// the caller reads on to EOF. It knows no request methods: it assumes a
// response to GET or POST.
func readResponse(br *bufio.Reader) (status int, closing bool, err error) {
	for range maxInterim {
		h, err := readHead(br)
		if err != nil {
			return h.status, false, err
		}
		if h.status >= 100 && h.status < 200 && h.status != 101 {
			continue
		}
		switch {
		case h.status == 101:
			return h.status, true, nil
		case h.status == 204 || h.status == 304:
			return h.status, h.close, nil
		case h.chunked:
			return h.status, h.close, readChunked(br)
		case h.length >= 0:
			if _, err := io.CopyN(io.Discard, br, h.length); err != nil {
				return h.status, h.close, err
			}
			return h.status, h.close, nil
		default:
			return h.status, true, nil
		}
	}
	return 0, false, fmt.Errorf("more than %d interim responses", maxInterim)
}

// readHead reads a status line and header fields up to the empty line.
func readHead(br *bufio.Reader) (head, error) {
	h := head{length: -1}
	budget := maxHead
	line, err := readLine(br, &budget)
	if err != nil {
		return h, err
	}
	proto, rest, _ := strings.Cut(line, " ")
	code, _, _ := strings.Cut(rest, " ")
	if !strings.HasPrefix(proto, "HTTP/1.") || len(code) != 3 {
		return h, fmt.Errorf("malformed status line %q", truncate(line))
	}
	if h.status, err = strconv.Atoi(code); err != nil || h.status < 100 {
		return head{length: -1}, fmt.Errorf("malformed status code in %q", truncate(line))
	}
	var sawClose, sawKeepAlive bool
	for range maxHeaderLines {
		line, err := readLine(br, &budget)
		if err != nil {
			return h, err
		}
		if line == "" {
			h.close = sawClose || (proto == "HTTP/1.0" && !sawKeepAlive)
			return h, nil
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return h, fmt.Errorf("malformed header line %q", truncate(line))
		}
		value = strings.TrimSpace(value)
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "content-length":
			n, err := strconv.ParseInt(value, 10, 64)
			if err != nil || n < 0 || (h.length >= 0 && n != h.length) {
				return h, fmt.Errorf("malformed content-length %q", truncate(value))
			}
			h.length = n
		case "transfer-encoding":
			h.chunked = strings.EqualFold(lastToken(value), "chunked")
		case "connection":
			for _, t := range strings.Split(value, ",") {
				switch strings.ToLower(strings.TrimSpace(t)) {
				case "close":
					sawClose = true
				case "keep-alive":
					sawKeepAlive = true
				}
			}
		}
	}
	return h, fmt.Errorf("more than %d header lines", maxHeaderLines)
}

// readChunked discards a chunked body and its trailer.
func readChunked(br *bufio.Reader) error {
	for range maxChunks {
		budget := maxLine
		line, err := readLine(br, &budget)
		if err != nil {
			return err
		}
		hexSize, _, _ := strings.Cut(line, ";")
		size, err := strconv.ParseInt(strings.TrimSpace(hexSize), 16, 64)
		if err != nil || size < 0 {
			return fmt.Errorf("malformed chunk size %q", truncate(line))
		}
		if size == 0 {
			for range maxHeaderLines {
				budget := maxLine
				line, err := readLine(br, &budget)
				if err != nil {
					return err
				}
				if line == "" {
					return nil
				}
			}
			return fmt.Errorf("more than %d trailer lines", maxHeaderLines)
		}
		if _, err := io.CopyN(io.Discard, br, size); err != nil {
			return err
		}
		if line, err := readLine(br, &budget); err != nil {
			return err
		} else if line != "" {
			return fmt.Errorf("malformed chunk end %q", truncate(line))
		}
	}
	return fmt.Errorf("more than %d chunks", maxChunks)
}

// readLine reads one line ending in "\n" and returns it without "\r\n",
// charging its length to *budget; a line beyond the budget is an error.
func readLine(br *bufio.Reader, budget *int) (string, error) {
	var line []byte
	for range *budget + 1 {
		frag, err := br.ReadSlice('\n')
		*budget -= len(frag)
		if *budget < 0 {
			return "", fmt.Errorf("line too long")
		}
		line = append(line, frag...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			if err == io.EOF && len(line) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return "", err
		}
		return string(bytes.TrimRight(line, "\r\n")), nil
	}
	return "", fmt.Errorf("line exceeds its budget")
}

// lastToken returns the last comma-separated token of a header value.
func lastToken(v string) string {
	if i := strings.LastIndexByte(v, ','); i >= 0 {
		v = v[i+1:]
	}
	return strings.TrimSpace(v)
}

// statusOf returns the status code of the status line at the start of b, or
// 0 if b does not start with one.
func statusOf(b []byte) int {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	proto, rest, _ := bytes.Cut(line, []byte(" "))
	if !bytes.HasPrefix(proto, []byte("HTTP/")) || len(rest) < 3 {
		return 0
	}
	code, err := strconv.Atoi(string(rest[:3]))
	if err != nil || code < 100 || code > 999 {
		return 0
	}
	return code
}

// truncate shortens s for an error message.
func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
