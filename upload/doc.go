// Package upload receives request bodies into temporary files and serves
// PUT/DELETE of files under a directory.
//
// [Handler.Receive] streams a multipart/form-data body (with
// mime/multipart.Reader, never ParseMultipartForm) or any other raw body to
// temp files, enforcing per-file, per-request, per-field and file-count
// limits as bytes arrive, so chunked bodies are bounded exactly like
// Content-Length ones (GoAhead F5) and a legitimate upload is never refused
// by an up-front Content-Length guess below the real limit (GoAhead F8). On
// any failure every temp file it created is removed before it returns, and
// it never writes a response: the caller maps the error with [Status].
//
// [PutDelete] is the GoAhead PUT/DELETE file handler done with os.Root, so
// neither "..", backslashes, NUL nor a symlink can reach outside Root, and
// a PUT that does not complete leaves the old file and no temp file.
//
// Package upload imports only the standard library; the governor bounds
// every read by progress, so this package only has to stream and stop at
// the first error.
package upload
