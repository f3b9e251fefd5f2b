package httpd

// TestCert gives the external tests (package httpd_test) the self-signed
// certificate the package's own tests use.
var TestCert = testCert
