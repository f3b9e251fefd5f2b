package cgi

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// errHeaderTooLarge means the header block exceeded MaxHeaderBytes.
var errHeaderTooLarge = errors.New("cgi: header block too large")

// cgiHeader is the parsed header block of a CGI response (RFC 3875 §6.3).
type cgiHeader struct {
	status int
	header http.Header
}

// hopByHop lists header fields a CGI program may not set on our connection.
var hopByHop = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Transfer-Encoding": true,
	"Upgrade": true, "Trailer": true, "Te": true, "Proxy-Connection": true,
}

// readHeader reads the header block, at most max bytes including line ends.
// It accepts "\n" or "\r\n" line ends and needs the terminating empty line.
func readHeader(br *bufio.Reader, max int) (*cgiHeader, error) {
	h := &cgiHeader{header: http.Header{}}
	n := 0
	for {
		line, err := readLine(br, max-n)
		n += len(line)
		if err != nil {
			if err == io.EOF {
				return nil, fmt.Errorf("cgi: header: %w", io.ErrUnexpectedEOF)
			}
			return nil, err
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			break
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok || !isToken(k) {
			return nil, fmt.Errorf("cgi: header: malformed line %q", truncate(line))
		}
		v = strings.TrimSpace(v)
		if strings.ContainsFunc(v, func(c rune) bool { return c < ' ' && c != '\t' || c == 0x7f }) {
			return nil, fmt.Errorf("cgi: header: control character in %s", truncate(k))
		}
		ck := http.CanonicalHeaderKey(k)
		switch {
		case ck == "Status":
			code, err := strconv.Atoi(strings.SplitN(v, " ", 2)[0])
			if err != nil || code < 200 || code > 599 {
				return nil, fmt.Errorf("cgi: header: bad status %q", truncate(v))
			}
			h.status = code
		case hopByHop[ck]:
			// dropped: the connection is ours
		default:
			h.header.Add(ck, v)
		}
	}
	if h.status == 0 {
		h.status = http.StatusOK
		if h.header.Get("Location") != "" {
			h.status = http.StatusFound
		}
	}
	if h.header.Get("Content-Type") == "" && h.header.Get("Location") == "" {
		h.header.Set("Content-Type", "text/plain; charset=utf-8")
	}
	return h, nil
}

// readLine returns one line including its '\n', failing with
// errHeaderTooLarge once more than budget bytes would be needed.
func readLine(br *bufio.Reader, budget int) (string, error) {
	var sb strings.Builder
	for {
		frag, err := br.ReadSlice('\n')
		if sb.Len()+len(frag) > budget {
			return "", errHeaderTooLarge
		}
		sb.Write(frag)
		switch err {
		case nil:
			return sb.String(), nil
		case bufio.ErrBufferFull:
			continue
		default:
			return sb.String(), err
		}
	}
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return true
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
