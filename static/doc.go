// Package static serves the files of an fs.FS over HTTP with net/http
// semantics, hardened for device web UIs.
//
// It owns:
//
//   - request path checking: only GET and HEAD; a path must start with "/";
//     NUL, backslash and control bytes are refused with 400, a ".." segment is
//     refused with 400 (so nothing outside the root is ever served), and any
//     segment starting with "." (/.git/config, /.htpasswd, /.well-known/…) is
//     404. Error bodies are short constant strings that never echo the
//     request;
//   - directories: "/dir" redirects (301, relative Location "dir/", query
//     kept) to "/dir/", which serves the directory's index file; there are
//     no directory listings;
//   - files through http.ServeContent: Last-Modified, a strong ETag (from size
//     and modification time, or from a cached content hash for files without
//     one such as embed.FS files), conditional requests, Range and HEAD;
//   - Content-Type from the extension: a small built-in table for the
//     extensions a bare device may lack (consulted first, so a response does
//     not depend on the host's mime database), then mime.TypeByExtension,
//     then sniffing; X-Content-Type-Options: nosniff on every response;
//   - precompressed siblings: "name.gz" is served instead of "name", with
//     Content-Encoding: gzip and its own ETag, when the client accepts gzip;
//     Vary: Accept-Encoding is set on both variants;
//   - small files in memory (Options.CacheFileSize, 32 KiB by default, up to
//     Options.CacheSize in all): content, ETag and every header of a full
//     response made once, a plain GET answered with one write and no open;
//     each use re-stats the file and its sibling and drops the entry when
//     size, modification time or mode changed. Larger files are opened per
//     request and go out with sendfile;
//   - Dir, an fs.FS over a directory of the operating system that refuses to
//     follow symbolic links out of it. Its files reach net/http as *os.File,
//     so responses go out with sendfile.
//
// Package static imports only the standard library, nothing of ours.
package static
