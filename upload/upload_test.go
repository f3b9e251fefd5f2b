package upload

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"go/build"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// outcome is what one Receive call returned.
type outcome struct {
	res *Result
	err error
}

// receiver starts a loopback server whose handler calls Receive, reports
// the outcome on the returned channel and answers Status(err).
func receiver(t *testing.T, opts Options) (*httptest.Server, <-chan outcome) {
	t.Helper()
	h := New(opts)
	ch := make(chan outcome, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, err := h.Receive(w, r)
		ch <- outcome{res, err}
		if code := Status(err); code != 0 {
			w.Header().Set("Connection", "close")
			w.WriteHeader(code)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, ch
}

// wait returns the handler's outcome or fails the test after 10 s.
func wait(t *testing.T, ch <-chan outcome) outcome {
	t.Helper()
	select {
	case o := <-ch:
		return o
	case <-time.After(10 * time.Second):
		t.Fatal("the handler did not return within 10 s")
		return outcome{}
	}
}

// post sends body; chunked hides its length so it goes chunked. It
// returns the status, or 0 if the server cut the connection first.
func post(t *testing.T, srv *httptest.Server, target, ctype string, body []byte, chunked bool) int {
	t.Helper()
	var rd io.Reader = bytes.NewReader(body)
	if chunked {
		rd = io.MultiReader(rd)
	}
	req, err := http.NewRequest(http.MethodPost, srv.URL+target, rd)
	if err != nil {
		t.Fatal(err)
	}
	if chunked {
		req.ContentLength = -1
	}
	req.Header.Set("Content-Type", ctype)
	resp, err := srv.Client().Do(req)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// dirEntries lists dir's names.
func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func assertEmpty(t *testing.T, dir string) {
	t.Helper()
	if names := dirEntries(t, dir); len(names) != 0 {
		t.Errorf("temp files left behind: %v", names)
	}
}

// quote escapes a Content-Disposition quoted-string as multipart.Writer does.
var quote = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

type part struct {
	field, filename, ctype string
	disp                   string // raw Content-Disposition, overriding field and filename
	data                   []byte
}

func multipartBody(t *testing.T, parts []part) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		var w io.Writer
		var err error
		if p.filename != "" || p.disp != "" {
			h := make(map[string][]string)
			h["Content-Disposition"] = []string{fmt.Sprintf(`form-data; name="%s"; filename="%s"`, quote.Replace(p.field), quote.Replace(p.filename))}
			if p.disp != "" {
				h["Content-Disposition"] = []string{p.disp}
			}
			if p.ctype != "" {
				h["Content-Type"] = []string{p.ctype}
			}
			w, err = mw.CreatePart(h)
		} else {
			w, err = mw.CreateFormField(p.field)
		}
		if err != nil {
			t.Fatal(err)
		}
		w.Write(p.data)
	}
	mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

func hash(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestReceiveMultipart(t *testing.T) {
	dir := t.TempDir()
	srv, ch := receiver(t, Options{Dir: dir})
	a := bytes.Repeat([]byte("a"), 100_000)
	b := []byte("\x00\x01binary\r\n--not a boundary")
	ctype, body := multipartBody(t, []part{
		{field: "title", data: []byte("hello")},
		{field: "one", filename: "a.txt", ctype: "text/plain", data: a},
		{field: "two", filename: "b.bin", data: b},
		{field: "title", data: []byte("again")},
	})
	if code := post(t, srv, "/", ctype, body, false); code != http.StatusOK {
		t.Fatalf("status %d, want 200", code)
	}
	o := wait(t, ch)
	if o.err != nil {
		t.Fatal(o.err)
	}
	defer func() {
		if err := o.res.Remove(); err != nil {
			t.Error(err)
		}
		assertEmpty(t, dir)
	}()
	if got := o.res.Values["title"]; len(got) != 2 || got[0] != "hello" || got[1] != "again" {
		t.Errorf("values %v", o.res.Values)
	}
	want := []struct {
		field, name, ctype string
		data               []byte
	}{{"one", "a.txt", "text/plain", a}, {"two", "b.bin", "", b}}
	if len(o.res.Files) != len(want) {
		t.Fatalf("%d files, want %d", len(o.res.Files), len(want))
	}
	for i, w := range want {
		f := o.res.Files[i]
		if f.Field != w.field || f.ClientName != w.name || f.ContentType != w.ctype || f.Size != int64(len(w.data)) || f.SHA256 != hash(w.data) {
			t.Errorf("file %d = %+v", i, f)
		}
		got, err := os.ReadFile(f.Path)
		if err != nil || !bytes.Equal(got, w.data) {
			t.Errorf("file %d content differs (%v)", i, err)
		}
		if fi, err := os.Stat(f.Path); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("file %d mode %v (%v), want 0600", i, fi.Mode(), err)
		}
	}
}

func TestReceiveLimits(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 300_000)
	tests := []struct {
		name    string
		opts    Options
		parts   []part
		raw     []byte // a raw body instead of parts
		chunked bool
	}{
		{name: "a file over MaxFileSize mid-stream is refused",
			opts:  Options{MaxFileSize: 100_000},
			parts: []part{{field: "ok", filename: "ok", data: []byte("small")}, {field: "f", filename: "big", data: big}}},
		{name: "a body over MaxRequestSize is refused",
			opts:  Options{MaxRequestSize: 200_000},
			parts: []part{{field: "a", filename: "a", data: big[:150_000]}, {field: "b", filename: "b", data: big[:150_000]}}},
		{name: "a chunked multipart body over MaxRequestSize is refused", chunked: true,
			opts:  Options{MaxRequestSize: 200_000},
			parts: []part{{field: "a", filename: "a", data: big[:150_000]}, {field: "b", filename: "b", data: big[:150_000]}}},
		{name: "a chunked raw body over MaxRequestSize is refused", chunked: true,
			opts: Options{MaxRequestSize: 200_000}, raw: big},
		{name: "a raw body over MaxFileSize is refused",
			opts: Options{MaxFileSize: 1000}, raw: big[:1001]},
		{name: "a field over MaxFieldSize is refused",
			opts:  Options{MaxFieldSize: 10},
			parts: []part{{field: "f", filename: "f", data: []byte("x")}, {field: "v", data: []byte("01234567890")}}},
		{name: "fields over 16 times MaxFieldSize in all are refused",
			opts: Options{MaxFieldSize: 10},
			parts: func() []part {
				var ps []part
				for i := range 17 {
					ps = append(ps, part{field: fmt.Sprint("v", i), data: []byte("0123456789")})
				}
				return append([]part{{field: "f", filename: "f", data: []byte("x")}}, ps...)
			}()},
		{name: "more than MaxFiles files are refused",
			opts:  Options{MaxFiles: 2},
			parts: []part{{field: "a", filename: "a"}, {field: "b", filename: "b"}, {field: "c", filename: "c"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.opts.Dir = dir
			srv, ch := receiver(t, tt.opts)
			ctype, body := "application/octet-stream", tt.raw
			if tt.parts != nil {
				ctype, body = multipartBody(t, tt.parts)
			}
			code := post(t, srv, "/", ctype, body, tt.chunked)
			o := wait(t, ch)
			if !errors.Is(o.err, ErrTooLarge) || Status(o.err) != http.StatusRequestEntityTooLarge {
				t.Errorf("err %v, want ErrTooLarge", o.err)
			}
			if code != http.StatusRequestEntityTooLarge && code != 0 {
				t.Errorf("status %d, want 413", code)
			}
			assertEmpty(t, dir)
		})
	}
}

func TestReceiveExactLimitsAreAccepted(t *testing.T) {
	dir := t.TempDir()
	srv, ch := receiver(t, Options{Dir: dir, MaxFileSize: 1000, MaxRequestSize: 1000})
	data := bytes.Repeat([]byte("y"), 1000)
	if code := post(t, srv, "/", "application/octet-stream", data, true); code != http.StatusOK {
		t.Errorf("status %d, want 200", code)
	}
	o := wait(t, ch)
	if o.err != nil || len(o.res.Files) != 1 || o.res.Files[0].Size != 1000 {
		t.Fatalf("outcome %+v, %v", o.res, o.err)
	}
	o.res.Remove()
	assertEmpty(t, dir)
}

func TestReceiveDeclaredLengthOverLimitIsRefusedBeforeReading(t *testing.T) {
	dir := t.TempDir()
	srv, ch := receiver(t, Options{Dir: dir, MaxRequestSize: 1000})
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 1001\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no response before the body was sent: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d, want 413", resp.StatusCode)
	}
	wait(t, ch)
	assertEmpty(t, dir)
}

func TestReceiveRawBody(t *testing.T) {
	tests := []struct {
		name, target, wantName string
	}{
		{"a body without a filename is called body", "/", "body"},
		{"a filename query parameter names the file", "/?filename=fw.img", "fw.img"},
		{"a filename with a path keeps its base name", "/?filename=..%2F..%2Fetc%2Fpasswd", "passwd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			srv, ch := receiver(t, Options{Dir: dir})
			data := bytes.Repeat([]byte("firmware"), 10_000)
			if code := post(t, srv, tt.target, "application/x-firmware", data, false); code != http.StatusOK {
				t.Errorf("status %d", code)
			}
			o := wait(t, ch)
			if o.err != nil {
				t.Fatal(o.err)
			}
			f := o.res.Files[0]
			if len(o.res.Files) != 1 || f.ClientName != tt.wantName || f.Size != int64(len(data)) || f.SHA256 != hash(data) || f.ContentType != "application/x-firmware" {
				t.Errorf("files %+v", o.res.Files)
			}
			o.res.Remove()
			assertEmpty(t, dir)
		})
	}
}

func TestReceiveMalformed(t *testing.T) {
	const good = "--XB\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a\"\r\n\r\nhello\r\n"
	tests := []struct {
		name, ctype, body string
	}{
		{"a boundary with a forbidden character", `multipart/form-data; boundary="X@B"`, good + "--X@B--\r\n"},
		{"a boundary over 70 characters", "multipart/form-data; boundary=" + strings.Repeat("b", 71), "--" + strings.Repeat("b", 71) + "--\r\n"},
		{"a duplicate boundary parameter", "multipart/form-data; boundary=XB; boundary=YB", good + "--XB--\r\n"},
		{"a zero-length boundary", `multipart/form-data; boundary=""`, "--\r\n\r\n----\r\n"},
		{"no boundary parameter", "multipart/form-data", good + "--XB--\r\n"},
		{"a body that never uses the boundary", "multipart/form-data; boundary=OTHER", good + "--XB--\r\n"},
		{"a body without a terminator", "multipart/form-data; boundary=XB", good},
		{"a good file then a body without a terminator", "multipart/form-data; boundary=XB", good + good + "more data"},
		{"a part without a name", "multipart/form-data; boundary=XB", "--XB\r\nContent-Disposition: form-data; filename=\"a\"\r\n\r\nx\r\n--XB--\r\n"},
		{"a good file then a part without a name", "multipart/form-data; boundary=XB", good + "--XB\r\nContent-Disposition: form-data\r\n\r\nx\r\n--XB--\r\n"},
		{"a part without Content-Disposition", "multipart/form-data; boundary=XB", "--XB\r\n\r\nx\r\n--XB--\r\n"},
		{"a part truncated in its headers", "multipart/form-data; boundary=XB", good + "--XB\r\nContent-Dispo"},
		{"a part truncated in its body", "multipart/form-data; boundary=XB", good + "--XB\r\nContent-Disposition: form-data; name=\"g\"; filename=\"b\"\r\n\r\nhal"},
		{"a garbage line after a part", "multipart/form-data; boundary=XB", good + "--XB junk\r\n"},
		{"an empty multipart body", "multipart/form-data; boundary=XB", ""},
		{"a control byte in a part header", "multipart/form-data; boundary=XB", "--XB\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a\x01\"\r\n\r\nx\r\n--XB--\r\n"},
		{"an unparsable multipart content type", "multipart/form-data; boundary", good},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			srv, ch := receiver(t, Options{Dir: dir})
			code := post(t, srv, "/", tt.ctype, []byte(tt.body), false)
			o := wait(t, ch)
			if !errors.Is(o.err, ErrMalformed) {
				t.Errorf("err %v, want ErrMalformed", o.err)
			}
			if code != http.StatusBadRequest {
				t.Errorf("status %d, want 400", code)
			}
			assertEmpty(t, dir)
		})
	}
}

func TestReceiveClientResetMidUpload(t *testing.T) {
	for _, ctype := range []string{"application/octet-stream", "multipart/form-data; boundary=XB"} {
		t.Run("a reset during a "+strings.Fields(ctype)[0]+" body removes the temp file", func(t *testing.T) {
			dir := t.TempDir()
			srv, ch := receiver(t, Options{Dir: dir})
			conn, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: 10000000\r\n\r\n", ctype)
			fmt.Fprintf(conn, "--XB\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a\"\r\n\r\n")
			conn.Write(bytes.Repeat([]byte("z"), 100_000))
			deadline := time.Now().Add(10 * time.Second)
			for len(dirEntries(t, dir)) == 0 {
				if time.Now().After(deadline) {
					t.Fatal("no temp file appeared within 10 s")
				}
				time.Sleep(5 * time.Millisecond)
			}
			conn.(*net.TCPConn).SetLinger(0)
			conn.Close()
			o := wait(t, ch)
			if o.err == nil || Status(o.err) != 0 {
				t.Errorf("err %v (status %d), want a read error (status 0)", o.err, Status(o.err))
			}
			assertEmpty(t, dir)
		})
	}
}

func TestSanitize(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"a plain name is kept", "report.pdf", "report.pdf"},
		{"a relative path keeps its base name", "../../etc/passwd", "passwd"},
		{"a windows path keeps its base name", `C:\x\y.bin`, "y.bin"},
		{"control bytes are dropped", "a\x00b\r\nc\x7f.txt", "abc.txt"},
		{"dot-dot alone is empty", "..", ""},
		{"a trailing separator is empty", "dir/", ""},
		{"invalid utf-8 is dropped", "a\xffb", "ab"},
		{"unicode is kept", "résumé.txt", "résumé.txt"},
		{"a long name is cut to 255 bytes on a rune boundary", strings.Repeat("é", 200), strings.Repeat("é", 127)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sanitize(tt.in); got != tt.want {
				t.Errorf("sanitize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestReceiveSanitizesClientNames(t *testing.T) {
	dir := t.TempDir()
	srv, ch := receiver(t, Options{Dir: dir})
	ctype, body := multipartBody(t, []part{
		{field: "a", filename: "../../etc/passwd", data: []byte("1")},
		{field: "b", filename: `C:\x\y.bin`, data: []byte("2")},
		{disp: `form-data; name="c"; filename*=UTF-8''evil%01%1b%5b31m%7f.txt`, data: []byte("3")},
		{field: "d", filename: "..", data: []byte("4")},
	})
	if code := post(t, srv, "/", ctype, body, false); code != http.StatusOK {
		t.Errorf("status %d", code)
	}
	o := wait(t, ch)
	if o.err != nil {
		t.Fatal(o.err)
	}
	defer o.res.Remove()
	want := []string{"passwd", "y.bin", "evil[31m.txt", "file"}
	for i, f := range o.res.Files {
		if f.ClientName != want[i] {
			t.Errorf("file %d name %q, want %q", i, f.ClientName, want[i])
		}
	}
}

func TestStatus(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"nil is 200", nil, 200},
		{"too large is 413", fmt.Errorf("x: %w", ErrTooLarge), 413},
		{"MaxBytesError is 413", &http.MaxBytesError{Limit: 1}, 413},
		{"malformed is 400", fmt.Errorf("x: %w", ErrMalformed), 400},
		{"storage is 500", fmt.Errorf("x: %w", ErrStorage), 500},
		{"a read error is 0", io.ErrUnexpectedEOF, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Status(tt.err); got != tt.want {
				t.Errorf("Status(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}

func TestMoveTo(t *testing.T) {
	dir := t.TempDir()
	src := dir + "/src"
	os.WriteFile(src, []byte("data"), 0o600)
	dst := dir + "/dst"
	os.WriteFile(dst, []byte("old"), 0o600)
	if err := MoveTo(File{Path: src}, dst); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(dst); string(got) != "data" {
		t.Errorf("dst holds %q", got)
	}
	if _, err := os.Stat(src); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("src still exists: %v", err)
	}
}

func FuzzMultipart(f *testing.F) {
	f.Add([]byte("--FB\r\nContent-Disposition: form-data; name=\"a\"; filename=\"x\"\r\n\r\nhello\r\n--FB--\r\n"))
	f.Add([]byte("--FB\r\nContent-Disposition: form-data; name=\"v\"\r\n\r\nvalue\r\n--FB\r\nContent-Disposition: form-data; name=\"b\"; filename=\"../y\"\r\nContent-Type: text/plain\r\n\r\nxx\r\n--FB--\r\n"))
	f.Add([]byte("--FB\r\nContent-Disposition: form-data; filename=\"x\"\r\n\r\nhello\r\n--FB"))
	f.Add([]byte("preamble\r\n--FB\r\n\r\n\r\n--FB--"))
	f.Fuzz(func(t *testing.T, body []byte) {
		dir := t.TempDir()
		h := New(Options{Dir: dir, MaxFileSize: 64, MaxFiles: 2, MaxFieldSize: 32, MaxRequestSize: 4096})
		r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		r.Header.Set("Content-Type", "multipart/form-data; boundary=FB")
		res, err := h.Receive(nil, r)
		if err != nil {
			if code := Status(err); code != 400 && code != 413 {
				t.Errorf("err %v maps to %d", err, code)
			}
			assertEmpty(t, dir)
			return
		}
		if n := len(dirEntries(t, dir)); n != len(res.Files) {
			t.Errorf("%d files in dir, %d in result", n, len(res.Files))
		}
		for _, f := range res.Files {
			if f.Field == "" || strings.ContainsAny(f.ClientName, "/\\\x00") || len(f.ClientName) > 255 || f.Size > 64 {
				t.Errorf("bad file %+v", f)
			}
		}
		if err := res.Remove(); err != nil {
			t.Error(err)
		}
		assertEmpty(t, dir)
	})
}

func TestMoveToAcrossFilesystems(t *testing.T) {
	shm, err := os.MkdirTemp("/dev/shm", "upload-test-")
	if err != nil {
		t.Skip("no /dev/shm:", err)
	}
	defer os.RemoveAll(shm)
	src := shm + "/src"
	must(t, os.WriteFile(src, []byte("data"), 0o600))
	dst := t.TempDir() + "/dst"
	if err := MoveTo(File{Path: src}, dst); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(dst); string(got) != "data" {
		t.Errorf("dst holds %q", got)
	}
	if names := dirEntries(t, shm); len(names) != 0 {
		t.Errorf("left in the source directory: %v", names)
	}
	if names := dirEntries(t, filepath.Dir(dst)); len(names) != 1 {
		t.Errorf("destination directory holds %v", names)
	}
}

func TestImportsOnlyTheStandardLibrary(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		if first, _, _ := strings.Cut(imp, "/"); strings.Contains(first, ".") {
			t.Errorf("package upload imports %s", imp)
		}
	}
}

// countingReader counts the bytes read from r.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	c.n += int64(k)
	return k, err
}

// multipartOf returns a multipart body of n parts made by part(i) (the
// header lines of each, without the boundary) with empty content.
func multipartOf(n int, part func(i int) string) (io.Reader, string) {
	const b = "XyZzYbOuNdArY"
	readers := make([]io.Reader, 0, 2*n+1)
	for i := range n {
		readers = append(readers, strings.NewReader("--"+b+"\r\n"+part(i)+"\r\n\r\n"), strings.NewReader("\r\n"))
	}
	readers = append(readers, strings.NewReader("--"+b+"--\r\n"))
	return io.MultiReader(readers...), "multipart/form-data; boundary=" + b
}

func TestMultipartMemoryIsBounded(t *testing.T) {
	tests := []struct {
		name     string
		opts     Options
		parts    int
		part     func(i int) string
		want     int   // status
		maxRead  int64 // bytes of the body read before the refusal, at most
		maxParts int   // WithMaxParts, 0 for none
	}{
		{"many empty fields stop at the part cap", Options{}, 50_000,
			func(i int) string { return `Content-Disposition: form-data; name="f` + strconv.Itoa(i) + `"` }, 413, 200 << 10, 0},
		{"a route's limit-parts lowers the cap", Options{}, 12,
			func(i int) string { return `Content-Disposition: form-data; name="x"` }, 413, 4 << 10, 10},
		{"the cap counts files too", Options{MaxParts: 3}, 4,
			func(i int) string {
				return `Content-Disposition: form-data; name="f"; filename="a` + strconv.Itoa(i) + `"`
			}, 413, 4 << 10, 0},
		{"a 9 MiB field name is refused as it arrives", Options{}, 1,
			func(int) string { return `Content-Disposition: form-data; name="` + strings.Repeat("n", 9<<20) + `"` }, 413, 1<<20 + 64<<10, 0},
		{"many mid-size headers add up to the memory budget", Options{MaxMemory: 64 << 10}, 200,
			func(i int) string {
				return "X-Pad: " + strings.Repeat("p", 1000) + "\r\nContent-Disposition: form-data; name=\"a\""
			}, 413, 72 << 10, 0},
		{"under every bound the fields arrive", Options{}, 900,
			func(i int) string { return `Content-Disposition: form-data; name="k` + strconv.Itoa(i) + `"` }, 200, 1 << 30, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Dir = t.TempDir()
			h := New(tt.opts).WithMaxParts(tt.maxParts)
			body, ctype := multipartOf(tt.parts, tt.part)
			cr := &countingReader{r: body}
			r := httptest.NewRequest("POST", "/up", cr)
			r.ContentLength = -1
			r.Header.Set("Content-Type", ctype)
			res, err := h.Receive(httptest.NewRecorder(), r)
			if got := Status(err); got != tt.want {
				t.Fatalf("status %d (%v), want %d", got, err, tt.want)
			}
			if cr.n > tt.maxRead {
				t.Errorf("read %d bytes of the body before answering, want at most %d", cr.n, tt.maxRead)
			}
			if err == nil {
				if len(res.Values) != tt.parts {
					t.Errorf("%d fields, want %d", len(res.Values), tt.parts)
				}
				res.Remove()
			}
			if left, _ := os.ReadDir(tt.opts.Dir); len(left) != 0 {
				t.Errorf("%d temp files left", len(left))
			}
		})
	}
}
