package tlsconf

import (
	"crypto/rand"
	"encoding/pem"
)

type randReader struct{}

func (randReader) Read(p []byte) (int, error) { return rand.Read(p) }

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
