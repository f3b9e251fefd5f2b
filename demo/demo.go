// Package demo is the demo device UI: the web pages of "vigil-demo", a
// fictional router, that vigil serves when it is given no content.
//
// It owns the pages (dashboard, status, network settings, logs), their
// style sheet, script and mock data, embedded in the binary with their
// precompressed .gz siblings, and logs/system.log: a LogSize log that is
// generated on the fly from the read offset, never stored, so the binary
// stays small and a large download can be tried on any device.
//
// Package demo imports only the standard library, nothing of ours. The pages
// use no external resources (no CDN, no web fonts) and no inline script.
//
// The .gz siblings are generated, not written by hand; after editing a page,
// run go generate (a test fails while they are out of date).
package demo

import (
	"embed"
	"errors"
	"io"
	"io/fs"
	"slices"
	"strings"
	"time"
)

//go:generate gzip -9 -n -k -f ui/index.html ui/style.css

//go:embed ui
var embedded embed.FS

// logDir is the directory of the generated log in the FS.
const logDir = "logs"

// FS returns the demo UI: the embedded pages at its root, and the directory
// logs holding system.log, a generated Log of LogSize bytes. The FS
// implements fs.ReadDirFS and fs.StatFS. Every file it opens is an
// io.ReadSeeker.
func FS() fs.FS { return newFS(LogSize) }

// Routes is the demo's route.txt: the firmware upgrade form posts to an
// upload route, the network form to the action Network (network.html) or
// to the legacy form of the same name (network.asp, a GoAhead 2.x page
// rendered by handler=jst with the values of Setting), everything else is
// files.
const Routes = `route uri=/action/upgrade methods=POST handler=upload limit-body=64MiB
route uri=/action/network methods=POST handler=action
route uri=/ws/live methods=GET handler=websocket
route uri=/events/live methods=GET handler=events
route uri=/goform/network methods=POST handler=action limit-body=64KiB
route uri=/ extensions=asp handler=jst escape=html
route uri=/
`

// settings are the demo device's configuration, as firmware keeps it in
// NVRAM: what network.asp shows.
var settings = map[string]string{
	"HostName":          "vigil-demo",
	"wanConnectionMode": "DHCP",
	"wan_ipaddr":        "",
	"wan_prefix":        "24",
	"wan_gateway":       "",
	"wan_primary_dns":   "192.0.2.53",
	"wan_secondary_dns": "198.51.100.53",
}

// sysinfo is what the demo device says about itself (ASUSWRT's sysinfo()).
var sysinfo = map[string]string{
	"model":    "Vigil Demo Router VR-1",
	"firmware": "1.4.2",
}

// Setting returns the demo device's setting name (as a firmware's
// nvram_get), and whether it has one.
func Setting(name string) (string, bool) {
	v, ok := settings[name]
	return v, ok
}

// SysInfo returns the demo device's fact name ("model", "firmware"), and
// whether it has one.
func SysInfo(name string) (string, bool) {
	v, ok := sysinfo[name]
	return v, ok
}

// newFS returns the demo UI with a generated log of logSize bytes.
func newFS(logSize int64) *overlay {
	ui, err := fs.Sub(embedded, "ui")
	if err != nil {
		panic("demo: embedded ui: " + err.Error()) // "ui" is a valid name: cannot happen
	}
	return &overlay{ui: ui, logSize: NewLog(logSize).Size()}
}

// overlay is the embedded UI with the virtual directory logDir on top.
type overlay struct {
	ui      fs.FS
	logSize int64
}

// Open opens the named file.
func (o *overlay) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	switch {
	case name == ".":
		entries, err := o.ReadDir(".")
		if err != nil {
			return nil, err
		}
		return &dir{info: rootInfo(), entries: entries}, nil
	case name == logDir:
		entries, _ := o.ReadDir(logDir)
		return &dir{info: logDirInfo(), entries: entries}, nil
	case name == logDir+"/"+logName:
		return NewLog(o.logSize), nil
	case strings.HasPrefix(name, logDir+"/"):
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return o.ui.Open(name)
}

// ReadDir reads the named directory and returns its entries sorted by name.
func (o *overlay) ReadDir(name string) ([]fs.DirEntry, error) {
	switch {
	case !fs.ValidPath(name):
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrInvalid}
	case name == ".":
		entries, err := fs.ReadDir(o.ui, ".")
		if err != nil {
			return nil, err
		}
		entries = append(entries, fs.FileInfoToDirEntry(logDirInfo()))
		slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
		return entries, nil
	case name == logDir:
		return []fs.DirEntry{fs.FileInfoToDirEntry(logInfo(o.logSize))}, nil
	case name == logDir+"/"+logName:
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.New("not a directory")}
	case strings.HasPrefix(name, logDir+"/"):
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
	}
	return fs.ReadDir(o.ui, name)
}

// Stat returns the FileInfo of the named file.
func (o *overlay) Stat(name string) (fs.FileInfo, error) {
	switch {
	case !fs.ValidPath(name):
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrInvalid}
	case name == ".":
		return rootInfo(), nil
	case name == logDir:
		return logDirInfo(), nil
	case name == logDir+"/"+logName:
		return logInfo(o.logSize), nil
	case strings.HasPrefix(name, logDir+"/"):
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
	}
	return fs.Stat(o.ui, name)
}

// rootInfo is the FileInfo of the root of the FS; like embed.FS, it has no
// modification time.
func rootInfo() fileInfo {
	return fileInfo{name: ".", mode: fs.ModeDir | 0o555}
}

// logDirInfo is the FileInfo of the directory logDir.
func logDirInfo() fileInfo {
	return fileInfo{name: logDir, mode: fs.ModeDir | 0o555, modTime: time.Unix(logStart, 0).UTC()}
}

// fileInfo is the fs.FileInfo of a virtual file or directory.
type fileInfo struct {
	name    string
	size    int64
	mode    fs.FileMode
	modTime time.Time
}

func (fi fileInfo) Name() string       { return fi.name }
func (fi fileInfo) Size() int64        { return fi.size }
func (fi fileInfo) Mode() fs.FileMode  { return fi.mode }
func (fi fileInfo) ModTime() time.Time { return fi.modTime }
func (fi fileInfo) IsDir() bool        { return fi.mode.IsDir() }
func (fi fileInfo) Sys() any           { return nil }

// dir is an open virtual directory. Like any directory handle it belongs to
// the goroutine that opened it.
type dir struct {
	info    fileInfo
	entries []fs.DirEntry
	off     int // entries already returned by ReadDir
}

func (d *dir) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *dir) Close() error               { return nil }

func (d *dir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.info.name, Err: errors.New("is a directory")}
}

// ReadDir returns the next n entries, or all remaining ones when n <= 0,
// with fs.ReadDirFile semantics.
func (d *dir) ReadDir(n int) ([]fs.DirEntry, error) {
	rest := d.entries[d.off:]
	if n <= 0 {
		d.off = len(d.entries)
		return slices.Clone(rest), nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	n = min(n, len(rest))
	d.off += n
	return slices.Clone(rest[:n]), nil
}
