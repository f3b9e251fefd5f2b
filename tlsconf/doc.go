// Package tlsconf owns the TLS identity of a box with no public name: it
// loads a certificate and key from PEM files, or makes a self-signed pair on
// first start and reuses it after, and hands out a *tls.Config whose
// certificate can be swapped at run time (Reload, on SIGHUP).
//
// A self-signed certificate names everything a browser might be pointed at:
// the host name, "localhost", every interface address (loopback included)
// and any extra Options.Names. Its key is ECDSA P-256, its serial 128 random
// bits, its validity ten years starting one hour before Options.Now (so a
// clock a little behind still accepts it). It carries the Subject
// organisation SelfSignedOrg; that mark is how Load knows a certificate is
// its own, and it regenerates only its own certificates (when one lacks a
// configured Name, or has expired), never one an operator installed.
//
// Files are written atomically (temporary file, fsync, rename), the key with
// mode 0600. Load and Reload refuse a key file that the group or others may
// access, and say which file and which mode.
//
// Fingerprint gives the SHA-256 of the certificate as browsers show it
// (colon-separated upper-case hex), for the console banner and for
// `vigil cert`, so a person can compare it with the browser's warning page.
//
// Package tlsconf imports only the standard library, and no package of this
// module.
package tlsconf
